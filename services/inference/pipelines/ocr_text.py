"""OCR + keywords and patterns: read the text in an image, then match a curated list."""

import re
from dataclasses import dataclass

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.primitives import TextSegment, read_text


@dataclass
class Line:
    segments: list[TextSegment]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        boxes = [s.bounds for s in self.segments]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))

    @property
    def text(self) -> str:
        return " ".join(s.text for s in sorted(self.segments, key=lambda s: s.bounds[0]))


def merge_lines(segments: list[TextSegment]) -> list[Line]:
    """Join OCR segments into reading lines: vertical overlap over half a line height, and no wider a
    gap sideways than a few line heights (the engine splits lines at wide spaces)."""
    lines: list[Line] = []
    for seg in sorted(segments, key=lambda s: (s.bounds[1], s.bounds[0])):
        x1, y1, x2, y2 = seg.bounds
        height = max(1.0, y2 - y1)
        for line in lines:
            lx1, ly1, lx2, ly2 = line.bounds
            overlap = min(y2, ly2) - max(y1, ly1)
            gap = max(lx1 - x2, x1 - lx2, 0.0)
            if overlap > 0.5 * min(height, ly2 - ly1) and gap < 4 * height:
                line.segments.append(seg)
                break
        else:
            lines.append(Line([seg]))
    return sorted(lines, key=lambda line: (line.bounds[1], line.bounds[0]))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check(params: dict) -> None:
    for pattern in params.get("patterns", []):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None


@register("ocr_keywords", check_params=_check)
def ocr_keywords(ctx: Context, item: Item) -> Outcome:
    params = item.params
    segments = [s for s in read_text(ctx, item.content) if s.score >= params["min_score"]]
    lines = merge_lines(segments)
    squashed_lines = [_squash(line.text) for line in lines]
    full = "\n".join(squashed_lines)
    keywords = [kw for kw in params["keywords"] if _squash(kw) and _squash(kw) in full]
    fields: dict[str, list[str]] = {}
    for pattern in params["patterns"]:
        found = re.findall(pattern, full)
        if found:
            fields[pattern] = sorted({f if isinstance(f, str) else "".join(f) for f in found})
    alert = len(keywords) >= params["min_matches"]

    image = drawing.decode(item.content)
    hits = []
    for line, squashed in zip(lines, squashed_lines, strict=True):
        hit = any(_squash(kw) in squashed for kw in keywords)
        hits.append(hit)
        drawing.draw_box(image, line.bounds, "", drawing.RED if hit else drawing.GREEN)
    return Outcome(
        alert=alert,
        summary=f"{len(keywords)} keyword(s) matched: {', '.join(keywords)}" if keywords else "no keyword matched",
        summary_zh=f"命中 {len(keywords)} 个关键词：{'、'.join(keywords)}" if keywords else "未命中关键词",
        data={
            "text": "\n".join(line.text for line in lines),
            "lines": [
                {"text": line.text, "box": [round(v, 1) for v in line.bounds], "matched": hit}
                for line, hit in zip(lines, hits, strict=True)
            ],
            "matched_keywords": keywords,
            "fields": fields,
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
