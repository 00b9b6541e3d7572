"""Render the image evaluation sets under evaluation/sets/ (fixed seeds: the same files every run).

    .venv/bin/python tools/make_evaluation_sets.py            # every rendered set
    .venv/bin/python tools/make_evaluation_sets.py plates     # one of: plates, negatives, licences, ...

Why rendered and why here: no licensed photo sets of Chinese plates, licences or everyday street
scenes can be downloaded here. The renderers below are written for evaluation only: they share no
code, layout, font choice or seed with the test helpers (tests/images.py) or the catalog examples
(tools/make_*_examples.py), which the rules were developed on, so the sets do not mirror any
tuning data. Each set's set.yaml is written with its labels; the images beside it.
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "evaluation" / "sets"
CJK = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
LATIN_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf",
    CJK,
]
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates use no I or O
DIGITS = "0123456789"


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _write_set(name: str, manifest: dict, files: dict[str, bytes]) -> None:
    folder = SETS / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.jpg"):
        if old.name not in files:
            old.unlink()
    for file, content in files.items():
        (folder / file).write_bytes(content)
    header = f"# Written by tools/make_evaluation_sets.py {name} (fixed seed); do not edit by hand.\n"
    (folder / "set.yaml").write_text(header + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False,
                                                             width=120), encoding="utf-8")
    print(f"{name}: {len(manifest['samples'])} samples in {folder.relative_to(ROOT)}")


# --- plates ---------------------------------------------------------------------------------------

PLATE_STYLES = {
    # background (top, bottom: green new-energy plates fade from white to green), ink, frame
    "blue": ((16, 66, 178), (22, 78, 196), (245, 245, 245)),
    "yellow": ((236, 186, 28), (226, 174, 20), (18, 18, 18)),
    "green": ((238, 246, 240), (88, 190, 112), (16, 16, 16)),
}


def plate_number(rng: np.random.Generator, province: str, colour: str) -> str:
    city = rng.choice(list(LETTERS))
    if colour == "green":  # new energy: D/F then five, or five digits then D/F
        digits = "".join(rng.choice(list(DIGITS + "ABCDEFGHJKLMNPQRSTUVWXYZ"[:0] or DIGITS), 4))
        if rng.random() < 0.5:
            return province + city + rng.choice(["D", "F"]) + rng.choice(list(LETTERS + DIGITS)) + digits
        return province + city + "".join(rng.choice(list(DIGITS), 5)) + rng.choice(["D", "F"])
    tail = [rng.choice(list(DIGITS)) for _ in range(5)]
    for pos in rng.choice(5, size=int(rng.integers(0, 3)), replace=False):
        tail[pos] = rng.choice(list(LETTERS))
    if rng.random() < 0.25:  # Q is often misread as 0: put it in on purpose
        tail[int(rng.integers(0, 5))] = "Q"
    return province + city + "".join(tail)


def render_plate(text: str, colour: str, rng: np.random.Generator) -> Image.Image:
    """A plate drawn to the GA 36 proportions (440 x 140 mm, 8-char green plates 480 x 140), at
    1 px per mm, with the characters laid out one per cell and a dot after the second."""
    top, bottom, ink = PLATE_STYLES[colour]
    width = 480 if len(text) == 8 else 440
    grad = np.linspace(0, 1, 140)[:, None, None]
    pixels = (np.array(top)[None, None] * (1 - grad) + np.array(bottom)[None, None] * grad)
    pixels = np.repeat(pixels, width, axis=1).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    frame = ink if colour != "blue" else (235, 235, 235)
    draw.rounded_rectangle([4, 4, width - 5, 135], radius=12, outline=frame, width=3)
    latin = LATIN_FONTS[int(rng.integers(0, len(LATIN_FONTS)))]
    cell_w = 43 if len(text) == 8 else 45
    gap = 9 if len(text) == 8 else 12
    x = 15.5 if len(text) == 7 else 13.0
    for i, ch in enumerate(text):
        font = _font(CJK if i == 0 else latin, 110)
        glyph = Image.new("L", (170, 170), 0)
        gdraw = ImageDraw.Draw(glyph)
        gdraw.text((12, 12), ch, font=font, fill=255, stroke_width=3 if i == 0 else 0, stroke_fill=255)
        box = glyph.getbbox() or (0, 0, 1, 1)
        glyph = glyph.crop(box)
        target_w = cell_w if ch not in "1" else max(10, int(cell_w * 0.3))
        glyph = glyph.resize((target_w, 90), Image.LANCZOS)
        gx = int(x + (cell_w - target_w) / 2)
        image.paste(Image.new("RGB", glyph.size, ink), (gx, 25), glyph)
        x += cell_w + gap
        if i == 1:
            draw.ellipse([x - 5, 66, x + 5, 76], fill=ink)
            x += 10 + (0 if len(text) == 8 else 2)
    return image


def car_scene(rng: np.random.Generator, size=(640, 480)) -> tuple[Image.Image, tuple[int, int, int]]:
    """A car front or rear filling most of the frame: body colour, grille or boot, lights, road,
    background wall or trees; returns the image and the plate's centre and width."""
    w, h = size
    sky = np.array([rng.integers(90, 200)] * 3) + rng.integers(-20, 20, 3)
    base = np.linspace(0, 1, h)[:, None, None]
    ground = np.array([70, 70, 72]) + rng.integers(-15, 15, 3)
    img = (sky[None, None] * (1 - base) + ground[None, None] * base)
    img = np.repeat(img, w, axis=1) + rng.normal(0, 3, (h, w, 3))
    image = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    body = tuple(int(v) for v in rng.choice(
        [[230, 230, 228], [30, 30, 34], [150, 152, 158], [160, 20, 24], [20, 40, 110], [200, 190, 170]]))
    cx = int(w / 2 + rng.integers(-100, 100))
    car_w = int(rng.integers(400, 560))
    top_y = int(rng.integers(40, 110))
    bottom_y = int(h - rng.integers(30, 80))
    draw.rounded_rectangle([cx - car_w // 2, top_y, cx + car_w // 2, bottom_y], radius=50, fill=body)
    glass = (40, 50, 60)
    draw.polygon([(cx - car_w * 0.38, top_y + 20), (cx + car_w * 0.38, top_y + 20),
                  (cx + car_w * 0.44, top_y + 120), (cx - car_w * 0.44, top_y + 120)], fill=glass)
    light_y = top_y + 135
    for side in (-1, 1):
        lx = cx + side * car_w * 0.36
        draw.ellipse([lx - 50, light_y - 18, lx + 50, light_y + 18],
                     fill=(250, 240, 200) if rng.random() < 0.5 else (200, 30, 30))
    if rng.random() < 0.6:  # grille
        gy = light_y + 10
        draw.rectangle([cx - car_w * 0.25, gy - 30, cx + car_w * 0.25, gy + 35], fill=(25, 25, 28))
        for k in range(6):
            yy = gy - 25 + 10 * k
            draw.line([cx - car_w * 0.24, yy, cx + car_w * 0.24, yy], fill=(70, 70, 75), width=2)
    plate_w = int(rng.integers(130, 220))
    plate_y = int(light_y + rng.integers(70, 100))
    return image, (cx, plate_y, plate_w)


def place_plate(scene: Image.Image, plate: Image.Image, centre_x: int, centre_y: int, width: int,
                rng: np.random.Generator, *, tilt: bool) -> Image.Image:
    """Warp the plate into the scene, slightly rotated and, for 'tilt', seen from the side."""
    import cv2

    src_w, src_h = plate.size
    height = width * src_h / src_w
    angle = math.radians(rng.uniform(-10, 10) if tilt else rng.uniform(-2.5, 2.5))
    yaw = rng.uniform(0.10, 0.25) * rng.choice([-1, 1]) if tilt else rng.uniform(-0.04, 0.04)
    corners = np.array([[-width / 2, -height / 2], [width / 2, -height / 2],
                        [width / 2, height / 2], [-width / 2, height / 2]])
    corners[:, 1] *= np.where(corners[:, 0] * yaw > 0, 1 - abs(yaw), 1.0)  # far side is shorter
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = corners @ rot.T + [centre_x, centre_y]
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [src_w, 0], [src_w, src_h], [0, src_h]]),
                                         np.float32(dst))
    frame = np.asarray(scene).copy()
    size = (frame.shape[1], frame.shape[0])
    warped = cv2.warpPerspective(np.asarray(plate), matrix, size, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((src_h, src_w), 255, np.uint8), matrix, size, flags=cv2.INTER_AREA)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    frame = (warped * alpha + frame * (1 - alpha)).astype(np.uint8)
    return Image.fromarray(frame)


def night(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Dark frame, sensor noise, the plate lit by the car's own plate lamp (it stays readable)."""
    arr = np.asarray(image).astype(np.float32) / 255.0
    arr = np.power(arr, rng.uniform(1.6, 2.2)) * rng.uniform(0.45, 0.65)
    arr += rng.normal(0, 0.025, arr.shape)
    return Image.fromarray((arr.clip(0, 1) * 255).astype(np.uint8))


def make_plates(per_province: int = 4, seed: int = 20260105) -> None:
    rng = np.random.default_rng(seed)
    samples, files = [], {}
    colours = ["blue", "green", "yellow", "blue"]
    cases = [[], ["tilt"], ["blur"], ["night"], ["tilt", "blur"], []]
    n = 0
    for p_index, province in enumerate(PROVINCES):
        for k in range(per_province):
            colour = colours[(p_index + k) % len(colours)]
            tags = cases[(p_index * per_province + k) % len(cases)]
            text = plate_number(rng, province, colour)
            scene, (cx, cy, pw) = car_scene(rng)
            image = place_plate(scene, render_plate(text, colour, rng), cx, cy, pw, rng, tilt="tilt" in tags)
            # Blur in proportion to the plate: soft, but every character stays legible to a person
            # at 100 % zoom (a label nobody can check is not a label).
            image = image.filter(ImageFilter.GaussianBlur(pw / 150 * (rng.uniform(0.9, 1.3) if "blur" in tags
                                                                      else rng.uniform(0.3, 0.6))))
            if "night" in tags:
                image = night(image, rng)
            n += 1
            name = f"{n:03d}.jpg"
            files[name] = _jpeg(image, int(rng.integers(65, 90)))
            samples.append({"file": name, "plate": text, "colour": colour, "tags": list(tags)})
    _write_set("plates", {
        "kind": "plates",
        "scenarios": ["site-vehicle-entry-log"],
        "shared_with": ["wanted-vehicle-watchlist", "muck-truck-unregistered", "illegal-parking-by-plate"],
        "floors": {"exact": 0.97},
        "description": "Rendered car fronts/rears: every one of the 31 provincial abbreviations, blue, "
                       "green new-energy (8 characters) and yellow plates, tilted, blurred and night frames.",
        "generated_by": "tools/make_evaluation_sets.py plates",
        "samples": samples,
    }, files)


MAKERS = {"plates": make_plates}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(MAKERS)
    for name in wanted:
        MAKERS[name]()
