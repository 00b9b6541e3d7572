"""Realistic test inputs made on the fly: Chinese text rendered with a real CJK font on a textured
wall, slightly rotated like a photo taken by a patrol phone."""

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
EXAMPLES = Path(__file__).resolve().parent.parent / "services" / "catalog" / "data" / "examples"


def poster(lines: list[str], *, size=(960, 720), seed: int = 7, angle: float = 2.5, fmt: str = "PNG") -> bytes:
    """A paper poster with the given lines pasted on a grey wall, photographed slightly askew."""
    rng = np.random.default_rng(seed)
    wall = rng.normal(150, 18, (size[1], size[0], 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(wall).filter(ImageFilter.GaussianBlur(1.2))
    font = ImageFont.truetype(str(CJK_FONT), 54)
    width = max(int(font.getlength(line)) for line in lines) + 80
    height = 80 * len(lines) + 60
    paper = Image.new("RGB", (width, height), (246, 244, 236))
    draw = ImageDraw.Draw(paper)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 80 * i), line, font=font, fill=(200, 20, 20) if i == 0 else (25, 25, 25))
    paper = paper.rotate(angle, expand=True, fillcolor=(150, 150, 150), resample=Image.BICUBIC)
    image.paste(paper, ((size[0] - paper.width) // 2, (size[1] - paper.height) // 2))
    buf = io.BytesIO()
    image.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()
