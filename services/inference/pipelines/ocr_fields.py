"""OCR + fields: read a document photo (a business licence) into named fields and check the unified
social credit code against its GB 32100-2015 check character."""

import re

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.ocr_text import merge_lines
from services.inference.pipelines.primitives import read_text

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


@register("ocr_fields")
def ocr_fields(ctx: Context, item: Item) -> Outcome:
    params = item.params
    segments = [s for s in read_text(ctx, item.content) if s.score >= params["min_score"]]
    lines = merge_lines(segments)
    texts = [line.text for line in lines]
    fields = parse_fields(texts, params["labels"])
    code = find_uscc("\n".join(texts))
    code_valid = code is not None and uscc_is_valid(code)
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
