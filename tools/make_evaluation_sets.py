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


# --- ordinary scenes (negatives for the alert scenarios) -------------------------------------------

SHOP_WORDS = ["便利店", "五金建材", "手机维修", "兰州拉面", "药房", "美发沙龙", "水果超市", "快递驿站", "烟酒茶行",
              "汽车美容", "文具图书", "平价眼镜", "家常菜馆", "母婴用品", "打印复印"]
NOTICE_LINES = ["停水通知", "因管网维修，本小区", "明日8:00至18:00停水", "请提前做好储水准备", "物业服务中心",
                "文明养犬公约", "垃圾分类 从我做起", "消防通道 禁止停车", "社区疫苗接种安排", "电梯维保公告"]
PALETTE_SIGNS = [(200, 30, 30), (230, 120, 20), (240, 200, 30), (20, 90, 170), (30, 130, 60), (250, 250, 250),
                 (180, 20, 60)]


def _sky(draw: ImageDraw.ImageDraw, w: int, h: int, rng: np.random.Generator) -> None:
    top = np.array(rng.choice([[120, 170, 225], [200, 205, 210], [160, 180, 200], [235, 238, 240]]))
    for y in range(h):
        c = (top * (1 - 0.3 * y / max(1, h)) + 60 * y / max(1, h)).clip(0, 255).astype(int)
        draw.line([0, y, w, y], fill=tuple(int(v) for v in c))


def _text(draw, xy, text, size, fill, rng):
    draw.text(xy, text, font=_font(CJK, size), fill=fill)


def scene_shop(rng, size):
    w, h = size
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(150, 220, 3)))
    draw = ImageDraw.Draw(image)
    _sky(draw, w, int(h * rng.uniform(0.0, 0.2)), rng)
    x = 0
    while x < w:
        sw = int(rng.integers(180, 300))
        colour = PALETTE_SIGNS[int(rng.integers(0, len(PALETTE_SIGNS)))]
        top = int(h * rng.uniform(0.15, 0.3))
        draw.rectangle([x + 4, top, x + sw - 4, top + int(h * 0.16)], fill=colour)
        ink = (255, 255, 255) if sum(colour) < 500 else (180, 20, 20)
        _text(draw, (x + 16, top + 10), str(rng.choice(SHOP_WORDS)), int(h * 0.09), ink, rng)
        body = tuple(int(v) for v in rng.integers(60, 200, 3))
        draw.rectangle([x + 4, top + int(h * 0.16), x + sw - 4, int(h * 0.8)], fill=body)
        if rng.random() < 0.5:  # roller shutter
            for yy in range(top + int(h * 0.18), int(h * 0.8), 6):
                draw.line([x + 10, yy, x + sw - 10, yy], fill=(150, 150, 155), width=2)
        else:  # glass door with goods
            draw.rectangle([x + 30, top + int(h * 0.22), x + sw - 30, int(h * 0.8)], fill=(70, 90, 100))
            for _ in range(8):
                gx, gy = int(rng.integers(x + 35, x + sw - 45)), int(rng.integers(top + int(h * .25), int(h * .75)))
                draw.rectangle([gx, gy, gx + 12, gy + 20], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        x += sw
    draw.rectangle([0, int(h * 0.8), w, h], fill=(110, 110, 112))
    return image


def scene_notice(rng, size):
    w, h = size
    wall = rng.normal(rng.uniform(120, 200), 10, (h, w, 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(wall).filter(ImageFilter.GaussianBlur(1))
    paper_w, paper_h = int(w * rng.uniform(0.45, 0.7)), int(h * rng.uniform(0.5, 0.8))
    paper = Image.new("RGB", (paper_w, paper_h), (248, 246, 238))
    d = ImageDraw.Draw(paper)
    lines = list(rng.choice(NOTICE_LINES, size=int(rng.integers(3, 6)), replace=False))
    for i, line in enumerate(lines):
        _text(d, (20, 20 + i * paper_h // 6), line, paper_h // 10, (200, 20, 20) if i == 0 else (20, 20, 20), rng)
    if rng.random() < 0.5:  # red seal
        cx, cy, r = paper_w - 70, paper_h - 70, 45
        d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(210, 30, 30), width=5)
    paper = paper.rotate(rng.uniform(-4, 4), expand=True, fillcolor=tuple(int(v) for v in wall[0, 0]))
    left = int((w - paper.width) * rng.uniform(0.2, 0.8))
    image.paste(paper, (left, int((h - paper.height) * rng.uniform(0.2, 0.8))))
    return image


def scene_licence(rng, size):
    w, h = size
    desk = tuple(int(v) for v in rng.choice([[120, 85, 50], [200, 200, 195], [60, 60, 65], [170, 140, 100]]))
    image = Image.new("RGB", size, desk)
    doc = Image.new("RGB", (int(w * 0.75), int(h * 0.85)), (250, 248, 240))
    d = ImageDraw.Draw(doc)
    dw, dh = doc.size
    d.rectangle([8, 8, dw - 9, dh - 9], outline=(200, 150, 60), width=6)
    _text(d, (dw // 2 - 90, 20), "营业执照", 44, (200, 30, 30), rng)
    for i, label in enumerate(["名称", "类型", "法定代表人", "注册资本", "成立日期", "住所"]):
        _text(d, (30, 90 + i * 38), f"{label}  某某{rng.choice(SHOP_WORDS)}有限公司", 22, (30, 30, 30), rng)
    d.ellipse([dw - 150, dh - 150, dw - 40, dh - 40], outline=(220, 40, 40), width=5)
    doc = doc.rotate(rng.uniform(-6, 6), expand=True, fillcolor=desk)
    image.paste(doc, ((w - doc.width) // 2, (h - doc.height) // 2))
    return image


def scene_street(rng, size):
    w, h = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    horizon = int(h * rng.uniform(0.3, 0.5))
    _sky(draw, w, horizon, rng)
    x = 0
    while x < w:
        bw, bh = int(rng.integers(60, 160)), int(rng.integers(80, horizon + 40))
        colour = tuple(int(v) for v in rng.integers(90, 230, 3))
        draw.rectangle([x, horizon - bh + 40, x + bw, horizon + 40], fill=colour)
        for wy in range(horizon - bh + 50, horizon + 30, 18):
            for wx in range(x + 6, x + bw - 10, 16):
                draw.rectangle([wx, wy, wx + 8, wy + 10], fill=(60, 70, 80) if rng.random() < .7 else (230, 220, 180))
        x += bw + int(rng.integers(0, 20))
    draw.rectangle([0, horizon + 40, w, h], fill=(95, 95, 98))
    for lane in range(0, w, 80):
        draw.rectangle([lane, int(h * 0.8), lane + 40, int(h * 0.8) + 6], fill=(235, 235, 235))
    for _ in range(int(rng.integers(1, 4))):  # cars, often white or dark
        cx, cy = int(rng.integers(40, w - 120)), int(rng.integers(horizon + 60, h - 60))
        body = tuple(int(v) for v in rng.choice([[240, 240, 240], [25, 25, 28], [150, 150, 155], [170, 25, 25]]))
        draw.rounded_rectangle([cx, cy, cx + 130, cy + 50], radius=12, fill=body)
        draw.rectangle([cx + 20, cy - 22, cx + 105, cy + 4], fill=(50, 60, 70))
        draw.ellipse([cx + 14, cy + 38, cx + 40, cy + 62], fill=(15, 15, 15))
        draw.ellipse([cx + 92, cy + 38, cx + 118, cy + 62], fill=(15, 15, 15))
    return image


def scene_office(rng, size):
    w, h = size
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(200, 240, 3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, int(h * 0.7), w, h], fill=tuple(int(v) for v in rng.integers(100, 170, 3)))
    for _ in range(int(rng.integers(2, 4))):
        x = int(rng.integers(0, w - 160))
        draw.rectangle([x, int(h * 0.45), x + 160, int(h * 0.5)], fill=(140, 100, 60))
        draw.rectangle([x + 30, int(h * 0.25), x + 130, int(h * 0.43)], fill=(20, 20, 25))
        chair = tuple(int(v) for v in rng.choice([[230, 110, 30], [40, 40, 45], [30, 90, 160]]))
        draw.rectangle([x + 50, int(h * 0.55), x + 110, int(h * 0.7)], fill=chair)
    if rng.random() < 0.5:
        draw.rectangle([int(w * 0.7), int(h * 0.1), int(w * 0.95), int(h * 0.35)], fill=(245, 245, 250),
                       outline=(80, 80, 80), width=3)
        _text(draw, (int(w * 0.72), int(h * 0.15)), "安全生产", 26, (200, 20, 20), rng)
    return image


def scene_car(rng, size):
    scene, (cx, cy, pw) = car_scene(rng, size)
    province = PROVINCES[int(rng.integers(0, len(PROVINCES)))]
    colour = str(rng.choice(["blue", "green", "yellow"]))
    return place_plate(scene, render_plate(plate_number(rng, province, colour), colour, rng), cx, cy, pw, rng,
                       tilt=False)


SCENES = {"car": scene_car, "shop": scene_shop, "notice": scene_notice, "licence": scene_licence,
          "street": scene_street, "office": scene_office}


def relight(image: Image.Image, rng: np.random.Generator, gain: float, gamma: float) -> Image.Image:
    arr = np.asarray(image).astype(np.float32) / 255.0
    arr = np.power(arr, gamma) * gain + rng.normal(0, 0.012, arr.shape)
    return Image.fromarray((arr.clip(0, 1) * 255).astype(np.uint8))


def make_negatives(count: int = 54, seed: int = 20260106) -> None:
    """Everyday scenes without smoke, dust or fire, each with a 'clear-day baseline' frame of the same
    view (other light, sensor noise), as a camera would give when it is calibrated."""
    rng = np.random.default_rng(seed)
    kinds = list(SCENES)
    samples, files = [], {}
    size = (480, 360)
    for n in range(count):
        kind = kinds[n % len(kinds)]
        state = rng.integers(0, 2**31)
        scene = SCENES[kind](np.random.default_rng(state), size).filter(ImageFilter.GaussianBlur(0.6))
        frame = relight(scene, rng, rng.uniform(0.85, 1.1), rng.uniform(0.9, 1.1))
        baseline = relight(scene, rng, rng.uniform(0.85, 1.1), rng.uniform(0.9, 1.1))
        name = f"{n + 1:03d}-{kind}.jpg"
        files[name] = _jpeg(frame, 75)
        files[name.replace(".jpg", "-baseline.jpg")] = _jpeg(baseline, 75)
        samples.append({"file": name, "baseline": name.replace(".jpg", "-baseline.jpg"), "scene": kind})
    for photo in ("astronaut.jpg", "car_rear.jpg"):  # real photos from tests/data (licences beside them)
        samples.append({"file": f"../../../tests/data/{photo}", "scene": "photo"})
    _write_set("negatives", {
        "kind": "alerts",
        "scenarios": ["chimney-black-smoke", "construction-site-dust", "workplace-fire", "open-burning",
                      "river-water-colour-anomaly", "streetlight-failure", "crowd-gathering",
                      "worker-fallen-on-site"],
        "ceilings": {"false_alarm_rate": 0.02},
        # How a camera on each of these scenes would be calibrated: the stack marked mid-frame with
        # the ROI above it; the dust baseline from the same view on another (clear) day.
        "scenario_params": {"chimney-black-smoke": {"stack": [0.5, 0.55],
                                                    "roi": [[0.3, 0.0], [0.7, 0.0], [0.7, 0.5], [0.3, 0.5]]}},
        "description": "Ordinary scenes without smoke, dust, fire, discoloured water or small ads: car "
                       "fronts, shop fronts, notices, licences on a desk, streets, offices, two real photos. "
                       "Every sample is a negative for every listed scenario.",
        "generated_by": "tools/make_evaluation_sets.py negatives",
        "samples": samples,
    }, files)


# --- business licences ----------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
COMPANY_HEADS = ["深圳市龙岗区", "广州市天河区", "杭州市西湖区", "成都市武侯区", "南京市鼓楼区", "武汉市洪山区"]
COMPANY_CORES = ["鹏城科技", "恒信贸易", "宏达建材", "绿源环保", "智联信息", "顺丰餐饮", "华润物业", "新锐文化"]
COMPANY_TAILS = ["有限公司", "有限责任公司", "股份有限公司"]
TYPES = ["有限责任公司（自然人独资）", "有限责任公司（自然人投资或控股）", "股份有限公司（非上市）", "个人独资企业"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗"
GIVEN = ["伟", "芳", "建国", "秀英", "志强", "丽娟", "海涛", "晓明", "文静", "国华"]
CAPITAL = ["壹佰万元整", "伍拾万元整", "叁佰万元整", "壹仟万元整", "贰佰伍拾万元整"]
STREETS = ["布吉街道", "坂田街道", "横岗街道", "龙城街道", "平湖街道"]
SCOPE_ITEMS = ["计算机软硬件的技术开发与销售", "电子产品的研发", "国内贸易", "货物及技术进出口", "建筑材料的销售",
               "物业管理", "餐饮服务", "会议及展览服务", "广告设计与制作", "环保设备的安装与维修", "信息技术咨询服务",
               "日用百货的销售", "企业管理咨询"]


def uscc(rng: np.random.Generator) -> str:
    first = "91" + "".join(rng.choice(list("0123456789"), 6)) + "".join(rng.choice(list(USCC_ALPHABET), 9))
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first, USCC_WEIGHTS, strict=True))
    return first + USCC_ALPHABET[(31 - total % 31) % 31]


def _date(rng, year_from=2005, year_to=2024) -> str:
    return f"{int(rng.integers(year_from, year_to))}年{int(rng.integers(1, 13)):02d}月{int(rng.integers(1, 29)):02d}日"


def _wrap(text: str, width: int) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)]


def licence_fields(rng) -> dict[str, str]:
    founded = _date(rng)
    scope = "；".join(rng.choice(SCOPE_ITEMS, size=int(rng.integers(3, 7)), replace=False)) + "。"
    return {
        "credit_code": uscc(rng),
        "name": str(rng.choice(COMPANY_HEADS)) + str(rng.choice(COMPANY_CORES)) + str(rng.choice(COMPANY_TAILS)),
        "type": str(rng.choice(TYPES)),
        "legal_representative": str(rng.choice(list(SURNAMES))) + str(rng.choice(GIVEN)),
        "registered_capital": "人民币" + str(rng.choice(CAPITAL)),
        "established": founded,
        "business_term": founded + "至" + ("长期" if rng.random() < 0.5 else _date(rng, 2030, 2060)),
        "address": "深圳市龙岗区" + str(rng.choice(STREETS)) + f"{rng.choice(['吉华路', '环城路', '龙翔大道'])}"
                   f"{int(rng.integers(1, 999))}号{rng.choice(['华美大厦', '天安数码城', '星河广场'])}"
                   f"{int(rng.integers(1, 30))}楼{int(rng.integers(1, 20)):02d}室",
        "business_scope": scope,
        "registration_date": _date(rng, 2024, 2026),
    }


LICENCE_LABELS = [("credit_code", "统一社会信用代码"), ("name", "名称"), ("type", "类型"),
                  ("legal_representative", "法定代表人"), ("business_scope", "经营范围"),
                  ("registered_capital", "注册资本"), ("established", "成立日期"), ("business_term", "营业期限"),
                  ("address", "住所")]


def render_licence(fields: dict[str, str], rng) -> Image.Image:
    """A licence in the 2019 layout: code on top, two columns of labelled fields (long values wrap
    under their first line), the registration date at the bottom right."""
    w, h = 1400, 1000
    paper = Image.new("RGB", (w, h), (250, 247, 236))
    d = ImageDraw.Draw(paper)
    d.rectangle([14, 14, w - 15, h - 15], outline=(190, 140, 60), width=10)
    d.text((w // 2 - 150, 40), "营业执照", font=_font(CJK, 72), fill=(190, 30, 30))
    size = 28
    font = _font(CJK, size)
    d.text((70, 150), f"统一社会信用代码  {fields['credit_code']}", font=font, fill=(20, 20, 20))
    columns = [(70, ["name", "type", "legal_representative", "business_scope"]),
               (800, ["registered_capital", "established", "business_term", "address"])]
    labels = dict(LICENCE_LABELS)
    for x, names in columns:
        y = 250
        for name in names:
            label = labels[name]
            d.text((x, y), f"{label}", font=font, fill=(20, 20, 20))
            vx = x + 170
            width_chars = 16 if x < 700 else 15
            for line in _wrap(fields[name], width_chars):
                d.text((vx, y), line, font=font, fill=(20, 20, 20))
                y += int(size * 1.6)
            y += int(size * 0.9)
    d.text((w - 470, h - 190), "登记机关", font=font, fill=(20, 20, 20))
    cx, cy = w - 330, h - 190
    d.ellipse([cx - 80, cy - 80, cx + 80, cy + 80], outline=(220, 40, 40), width=6)
    d.text((w - 470, h - 110), f"登记日期  {fields['registration_date']}", font=font, fill=(20, 20, 20))
    return paper


def make_licences(count: int = 12, seed: int = 20260107) -> None:
    rng = np.random.default_rng(seed)
    samples, files = [], {}
    for n in range(count):
        fields = licence_fields(rng)
        paper = render_licence(fields, rng)
        angle = rng.uniform(-2.5, 2.5)
        desk = tuple(int(v) for v in rng.integers(60, 160, 3))
        photo = paper.rotate(angle, expand=True, fillcolor=desk, resample=Image.BICUBIC)
        canvas = Image.new("RGB", (photo.width + 80, photo.height + 60), desk)
        canvas.paste(photo, (40, 30))
        canvas = relight(canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8))), rng,
                         rng.uniform(0.85, 1.05), rng.uniform(0.9, 1.1))
        name = f"{n + 1:02d}.jpg"
        files[name] = _jpeg(canvas.resize((canvas.width * 3 // 4, canvas.height * 3 // 4), Image.LANCZOS), 82)
        samples.append({"file": name, "fields": fields})
    _write_set("licences", {
        "kind": "licences",
        "scenarios": ["business-licence-check"],
        "floors": {"field_accuracy_min": 0.95, "code_valid": 1.0},
        "description": "Photographed business licences (2019 layout, two columns) with all ten fields; "
                       "经营范围 and 住所 wrap over several lines; slight rotation, blur and uneven light.",
        "generated_by": "tools/make_evaluation_sets.py licences",
        "samples": samples,
    }, files)


# --- alert positives (with hard negatives) ---------------------------------------------------------


def _to_linear(arr):
    return np.where(arr <= 0.04045, arr / 12.92, ((arr + 0.055) / 1.055) ** 2.4)


def _to_srgb(arr):
    return np.where(arr <= 0.0031308, arr * 12.92, 1.055 * np.power(np.clip(arr, 0, 1), 1 / 2.4) - 0.055)


def stack_scene(rng, size):
    """Sky over a factory roof line with one stack; returns the image and the outlet (x, y) in pixels."""
    w, h = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    _sky(draw, w, h, rng)
    roof = int(h * rng.uniform(0.6, 0.75))
    for x in range(0, w, int(rng.integers(90, 140))):
        top_y = roof + int(rng.integers(-30, 20))
        draw.rectangle([x, top_y, x + 150, h], fill=tuple(int(v) for v in rng.integers(90, 170, 3)))
    sx = int(w * rng.uniform(0.35, 0.65))
    top = int(h * rng.uniform(0.3, 0.45))
    sw = int(rng.integers(16, 28))
    draw.rectangle([sx - sw // 2, top, sx + sw // 2, roof + 10], fill=tuple(int(v) for v in rng.integers(120, 180, 3)))
    for band in range(top + 8, top + 40, 14):
        draw.rectangle([sx - sw // 2, band, sx + sw // 2, band + 5], fill=(180, 40, 40))
    return image, (sx, top)


def add_plume(image: Image.Image, outlet, rng, blackness: float, white: bool = False) -> Image.Image:
    """A plume drifting up and sideways from the outlet; its densest part has the given blackness
    (1 − L/L_sky in linear light); white=True makes steam instead (brighter than the sky)."""
    w, h = image.size
    density = np.zeros((h, w), np.float32)
    x, y = outlet
    drift = rng.uniform(1.2, 3.0) * rng.choice([-1, 1])
    for k in range(40):
        r = 6 + k * 1.2
        cx, cy = x + drift * k * 2.2, y - k * 5.5
        yy, xx = np.ogrid[:h, :w]
        density = np.maximum(density, np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) * (1 - k / 60))
    arr = _to_linear(np.asarray(image).astype(np.float32) / 255.0)
    if white:
        arr = arr + (0.95 - arr) * (density[..., None] * 0.8)
    else:
        arr = arr * (1 - blackness * density[..., None])
    return Image.fromarray((_to_srgb(arr).clip(0, 1) * 255).astype(np.uint8))


def make_chimney(seed: int = 20260108) -> None:
    rng = np.random.default_rng(seed)
    samples, files = [], {}
    size = (480, 360)
    cases = [("smoke", 0.75), ("smoke", 0.6), ("smoke", 0.9), ("smoke", 0.5), ("smoke", 0.8), ("smoke", 0.65),
             ("steam", 0.0), ("clear", 0.0), ("steam", 0.0), ("clear", 0.0)]
    for n, (case, blackness) in enumerate(cases):
        scene, (sx, sy) = stack_scene(rng, size)
        baseline = relight(scene, rng, rng.uniform(0.9, 1.05), 1.0)
        frame = scene if case == "clear" else add_plume(scene, (sx, sy), rng, blackness, white=case == "steam")
        frame = relight(frame, rng, rng.uniform(0.9, 1.05), 1.0)
        name = f"{n + 1:02d}-{case}.jpg"
        files[name], files[name.replace(".jpg", "-baseline.jpg")] = _jpeg(frame, 82), _jpeg(baseline, 82)
        w, h = size
        roi = [[round(max(0, sx / w - 0.3), 3), 0.0], [round(min(1, sx / w + 0.3), 3), 0.0],
               [round(min(1, sx / w + 0.3), 3), round(sy / h, 3)], [round(max(0, sx / w - 0.3), 3), round(sy / h, 3)]]
        samples.append({"file": name, "baseline": name.replace(".jpg", "-baseline.jpg"), "alert": case == "smoke",
                        "ordinary": False, "case": case,
                        "params": {"stack": [round(sx / w, 3), round(sy / h, 3)], "roi": roi}})
    _write_set("chimney", {
        "kind": "alerts", "scenarios": ["chimney-black-smoke"], "floors": {"precision": 0.9, "recall": 0.8},
        "description": "A stack against the sky with dark plumes (Ringelmann 2-4), white steam and no plume; "
                       "each with a clear-day baseline frame of the same view.",
        "generated_by": "tools/make_evaluation_sets.py chimney", "samples": samples}, files)


def add_dust(image: Image.Image, rng, transmission: float) -> Image.Image:
    """Koschmieder's haze model I = J·t + A·(1 − t), with a dust-coloured airlight A."""
    arr = np.asarray(image).astype(np.float32) / 255.0
    airlight = np.array([0.86, 0.82, 0.74]) * rng.uniform(0.9, 1.0)
    t = transmission * (1 + rng.normal(0, 0.03, arr.shape[:2]))[..., None]
    return Image.fromarray(((arr * t + airlight * (1 - t)).clip(0, 1) * 255).astype(np.uint8))


def site_scene(rng, size):
    w, h = size
    image = scene_street(rng, size)
    draw = ImageDraw.Draw(image)
    for _ in range(3):  # soil heaps and a site fence
        x = int(rng.integers(0, w - 140))
        soil = tuple(int(v) for v in rng.integers(100, 150, 3))
        draw.pieslice([x, int(h * 0.55), x + 160, int(h * 0.95)], 180, 360, fill=soil)
    draw.rectangle([0, int(h * 0.5), w, int(h * 0.55)], fill=(30, 110, 200))
    return image


def make_dust(seed: int = 20260109) -> None:
    rng = np.random.default_rng(seed)
    samples, files = [], {}
    size = (480, 360)
    for n in range(10):
        dusty = n < 6
        scene = site_scene(rng, size)
        baseline = relight(scene, rng, rng.uniform(0.9, 1.05), 1.0)
        frame = add_dust(scene, rng, rng.uniform(0.45, 0.65)) if dusty else scene
        frame = relight(frame, rng, rng.uniform(0.9, 1.05), rng.uniform(0.95, 1.05))
        name = f"{n + 1:02d}-{'dust' if dusty else 'clear'}.jpg"
        files[name], files[name.replace(".jpg", "-baseline.jpg")] = _jpeg(frame, 82), _jpeg(baseline, 82)
        samples.append({"file": name, "baseline": name.replace(".jpg", "-baseline.jpg"), "alert": dusty,
                        "ordinary": False})
    _write_set("dust", {
        "kind": "alerts", "scenarios": ["construction-site-dust"], "floors": {"precision": 0.9, "recall": 0.8},
        "description": "Construction sites veiled by dust (transmission 0.45-0.65) and clear, each with a "
                       "clear-day baseline frame of the same view.",
        "generated_by": "tools/make_evaluation_sets.py dust", "samples": samples}, files)


def add_flames(image: Image.Image, rng, base, scale: float) -> Image.Image:
    """Flame tongues (yellow core, orange rim) rising from a base line; shape changes per call."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    x0, y0 = base
    for _ in range(int(rng.integers(5, 9))):
        x = x0 + rng.normal(0, 25 * scale)
        height = rng.uniform(40, 110) * scale
        width = rng.uniform(14, 30) * scale
        pts = [(x - width, y0), (x + rng.normal(0, 8), y0 - height), (x + width, y0)]
        draw.polygon(pts, fill=(255, int(rng.integers(90, 140)), 20))
        inner = [(x - width / 2, y0), (x + rng.normal(0, 4), y0 - height * 0.6), (x + width / 2, y0)]
        draw.polygon(inner, fill=(255, int(rng.integers(200, 240)), 90))
    return out.filter(ImageFilter.GaussianBlur(1.2))


def make_fire(seed: int = 20260110) -> None:
    rng = np.random.default_rng(seed)
    samples, files = [], {}
    size = (480, 360)
    makers = [("office", scene_office), ("street", scene_street), ("shop", scene_shop)]
    for n in range(9):
        kind, maker = makers[n % 3]
        scene = maker(rng, size)
        burning = n < 6
        frames = []
        base = (int(rng.integers(120, 360)), int(rng.integers(220, 320)))
        for k in range(5):
            frame = add_flames(scene, rng, base, rng.uniform(0.8, 1.3)) if burning else scene
            frame = relight(frame, rng, 1.0, 1.0)
            fname = f"{n + 1:02d}-{'fire' if burning else 'still'}-{k + 1}.jpg"
            files[fname] = _jpeg(frame, 80)
            frames.append(fname)
        samples.append({"file": frames[0], "frames": frames, "alert": burning, "ordinary": False, "scene": kind})
    _write_set("fire", {
        "kind": "alerts", "scenarios": ["workplace-fire", "open-burning"], "floors": {"precision": 0.9, "recall": 0.8},
        "description": "Five-frame streams of flames (changing shape) in offices, streets and shop fronts, and "
                       "of the same scenes without flames (orange chairs and signs included).",
        "generated_by": "tools/make_evaluation_sets.py fire", "samples": samples}, files)


# --- text lines (OCR) ------------------------------------------------------------------------------

AD_LINES = ["专业疏通下水道", "高价回收旧家电", "办证刻章 电话13812345678", "小额贷款 当天放款", "开锁换锁 24小时服务",
            "家政保洁 月嫂育儿", "房屋出租 拎包入住", "招聘普工 包吃包住", "空调维修加氟", "搬家拉货 价格实惠",
            "本店转让 有意者详谈", "承接防水补漏工程"]


def make_ocr(count: int = 6, seed: int = 20260111) -> None:
    """Small ads and notices stuck on walls and poles: the text lines are the labels."""
    rng = np.random.default_rng(seed)
    samples, files = [], {}
    for n in range(count):
        w, h = 640, 480
        wall = rng.normal(rng.uniform(110, 190), 12, (h, w, 3)).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(wall).filter(ImageFilter.GaussianBlur(1))
        lines = [str(t) for t in rng.choice(AD_LINES + NOTICE_LINES, size=3, replace=False)]
        size = int(rng.integers(26, 36))
        font = _font(CJK, size)
        paper_w = max(int(font.getlength(t)) for t in lines) + 40
        paper = Image.new("RGB", (paper_w, int(size * 1.7) * len(lines) + 30),
                          tuple(int(v) for v in rng.choice([[250, 250, 245], [255, 240, 120], [250, 200, 200]])))
        d = ImageDraw.Draw(paper)
        for i, t in enumerate(lines):
            d.text((20, 15 + i * int(size * 1.7)), t, font=font, fill=(20, 20, 20) if i else (190, 20, 20))
        paper = paper.rotate(rng.uniform(-3, 3), expand=True, fillcolor=tuple(int(v) for v in wall[0, 0]),
                             resample=Image.BICUBIC)
        left = int((w - paper.width) * rng.uniform(0.1, 0.9))
        image.paste(paper, (left, int((h - paper.height) * rng.uniform(0.1, 0.9))))
        image = relight(image, rng, rng.uniform(0.85, 1.05), 1.0)
        name = f"{n + 1:02d}.jpg"
        files[name] = _jpeg(image, 80)
        samples.append({"file": name, "lines": lines})
    _write_set("ocr", {
        "kind": "ocr", "scenarios": ["illegal-advertising"],
        "floors": {"line_accuracy": 0.9}, "ceilings": {"cer": 0.05},
        "description": "Small ads and notices on walls (three lines each, slightly rotated, uneven light).",
        "generated_by": "tools/make_evaluation_sets.py ocr", "samples": samples}, files)


MAKERS = {"plates": make_plates, "negatives": make_negatives, "licences": make_licences, "chimney": make_chimney,
          "dust": make_dust, "fire": make_fire, "ocr": make_ocr}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(MAKERS)
    for name in wanted:
        MAKERS[name]()
