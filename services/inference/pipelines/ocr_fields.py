"""OCR + fields: read a document photo (a business licence) into named fields and check the unified
social credit code against its GB 32100-2015 check character.

Fields are found on the page's layout, not on merged text lines: a licence has two columns, and
long values (经营范围, 住所, 营业期限) wrap under their first line. A label's value starts in the
segment to its right on the same row (or in the label's own segment, when the engine read them as
one) and continues on the rows below that start where the value started, until a gap or another
label. Merging segments into lines first fused the two columns and lost every wrapped line.
"""

import re

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.ocr_text import merge_lines
from services.inference.pipelines.primitives import TextSegment, read_text

DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")

# GB 32100-2015: 18 characters from this 31-character alphabet (no I, O, S, V, Z); the last is a
# check character computed from the first 17 with these weights, modulo 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_PATTERN = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
# Characters OCR engines confuse with ones the alphabet excludes.
_OCR_FIXES = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5", "V": "U"})


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    return bool(USCC_PATTERN.fullmatch(code)) and uscc_check_character(code[:17]) == code[17]


def find_uscc(text: str) -> str | None:
    """The first 18-character run that looks like a credit code, after fixing OCR look-alikes."""
    for raw in re.findall(r"[0-9A-Za-z]{18}", text.replace(" ", "")):
        candidate = raw.upper().translate(_OCR_FIXES)
        if USCC_PATTERN.fullmatch(candidate):
            return candidate
    return None


def parse_fields(lines: list[str], labels: dict[str, list[str]]) -> dict[str, str]:
    """Value of each field: the text after its label on the same line (separators dropped)."""
    fields: dict[str, str] = {}
    for name, aliases in labels.items():
        for line in lines:
            squashed = re.sub(r"\s+", "", line)
            for alias in aliases:
                if squashed.startswith(alias):
                    value = squashed[len(alias):].lstrip(":：")
                    if value:
                        fields.setdefault(name, value)
    return fields


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _label_of(text: str, labels: dict[str, list[str]]) -> tuple[str, str] | None:
    """(field, the rest of the text after the label) when a segment starts with a label."""
    squashed = _squashed(text)
    best = None
    for name, aliases in labels.items():
        for alias in aliases:
            if squashed.startswith(alias) and (best is None or len(alias) > best[2]):
                best = (name, squashed[len(alias):].lstrip(":："), len(alias))
    return (best[0], best[1]) if best else None


def parse_layout(segments: list[TextSegment], labels: dict[str, list[str]]) -> dict[str, str]:
    """Value of each labelled field from the segments' positions (see the module docstring)."""

    def centre_y(seg: TextSegment) -> float:
        return (seg.bounds[1] + seg.bounds[3]) / 2

    found = [(seg, _label_of(seg.text, labels)) for seg in segments]
    is_label = {id(seg) for seg, hit in found if hit}
    values = [seg for seg in segments if id(seg) not in is_label]
    fields: dict[str, str] = {}
    for seg, hit in found:
        if not hit or hit[0] in fields:
            continue
        name, rest = hit
        x1, y1, x2, y2 = seg.bounds
        height = max(1.0, y2 - y1)
        parts = [rest] if rest else []
        start_x, row_y = (x1, centre_y(seg)) if rest else (None, centre_y(seg))
        if not rest:  # the value is the nearest segment to the right on the same row
            right = [v for v in values if v.bounds[0] >= x2 - 0.5 * height and v.bounds[0] - x2 < 8 * height
                     and abs(centre_y(v) - row_y) < 0.8 * height]
            if not right:
                continue
            first = min(right, key=lambda v: (abs(centre_y(v) - row_y) + 0.1 * (v.bounds[0] - x2)))
            parts.append(_squashed(first.text))
            start_x, row_y = first.bounds[0], centre_y(first)
        while True:  # wrapped lines start under the value's first character
            below = [v for v in values if abs(v.bounds[0] - start_x) < 1.2 * height
                     and 0.5 * height < centre_y(v) - row_y < 2.2 * height]
            if not below:
                break
            nxt = min(below, key=lambda v: centre_y(v))
            # A row that has a label of this column is the next field, not a wrapped line.
            if any(abs(centre_y(other) - centre_y(nxt)) < 0.6 * height and x1 - 2 * height <= other.bounds[0] < start_x
                   for other, h in found if h):
                break
            parts.append(_squashed(nxt.text))
            row_y = centre_y(nxt)
        value = "".join(parts).lstrip(":：")
        if value:
            fields[name] = value
    return fields


@register("ocr_fields")
def ocr_fields(ctx: Context, item: Item) -> Outcome:
    params = item.params
    segments = [s for s in read_text(ctx, item.content) if s.score >= params["min_score"]]
    lines = merge_lines(segments)
    texts = [line.text for line in lines]
    fields = parse_layout(segments, params["labels"])
    for name, value in parse_fields(texts, params["labels"]).items():  # a label and value in one line
        fields.setdefault(name, value)
    code = find_uscc("\n".join(texts))
    code_valid = code is not None and uscc_is_valid(code)
    if code is not None:
        fields["credit_code"] = code  # the code as checked, with OCR look-alikes fixed
    if "registration_date" in params["labels"] and "registration_date" not in fields:
        # Licences before 2019 print the date under 登记机关 without a label: the last date on the page.
        dates = [d for seg in sorted(segments, key=lambda g: g.bounds[1]) for d in DATE.findall(_squashed(seg.text))]
        if dates:
            fields["registration_date"] = dates[-1]
    missing = [name for name in params["required"] if name not in fields]
    problems, problems_zh = [], []
    if code is None:
        problems.append("no unified social credit code found")
        problems_zh.append("未识别到统一社会信用代码")
    elif not code_valid:
        problems.append(f"credit code {code} fails the GB 32100 check character")
        problems_zh.append(f"信用代码 {code} 未通过 GB 32100 校验")
    if missing:
        problems.append(f"missing fields: {', '.join(missing)}")
        problems_zh.append(f"缺少字段：{'、'.join(missing)}")

    image = drawing.decode(item.content)
    for line in lines:
        drawing.draw_box(image, line.bounds, "", drawing.GREEN)
    return Outcome(
        alert=bool(problems),
        summary="; ".join(problems) if problems else f"licence of {fields.get('name', '?')} checks out",
        summary_zh="；".join(problems_zh) if problems_zh else f"{fields.get('name', '?')} 的执照核验通过",
        data={
            "credit_code": code,
            "credit_code_valid": code_valid,
            "fields": fields,
            "problems": problems,
            "text": "\n".join(texts),
        },
        annotated_jpeg=drawing.encode_jpeg(image),
    )
