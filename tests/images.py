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


# --- plates, faces and poses (vision scenarios) ---------------------------------------------------

DATA = Path(__file__).resolve().parent / "data"
PLATE_COLOURS = {  # background, characters (RGB), as on Chinese plates
    "blue": ((20, 70, 190), (255, 255, 255)),
    "yellow": ((230, 180, 20), (20, 20, 20)),
    "green": ((120, 200, 120), (10, 10, 10)),
}
# The plate of the car in car_rear.jpg, as a slightly skewed quadrilateral (TL, TR, BR, BL).
CAR_PLATE_QUAD = ((232, 228), (356, 232), (354, 294), (230, 290))


def plate(text: str, colour: str = "blue", size=(440, 140)) -> np.ndarray:
    """A Chinese plate (440 x 140 mm proportions) with the real CJK font, as an RGB array."""
    background, ink = PLATE_COLOURS[colour]
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([5, 5, size[0] - 6, size[1] - 6], radius=10, outline=ink, width=4)
    font = ImageFont.truetype(str(CJK_FONT), 100)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    glyphs = Image.new("RGB", (right - left + 8, bottom - top + 8), background)
    ImageDraw.Draw(glyphs).text((4 - left, 4 - top), text, font=font, fill=ink)
    # Plate characters are tall and narrow: squeeze the line into the plate.
    image.paste(glyphs.resize((size[0] - 40, size[1] - 36), Image.BICUBIC), (20, 18))
    return np.asarray(image)


def car_with_plate(text: str, colour: str = "blue", *, quad=CAR_PLATE_QUAD, blur: float = 1.0,
                   base: str = "car_rear.jpg") -> bytes:
    """A real photo of a car's rear with a rendered plate warped onto its plate, softened like the
    photo around it, as JPEG."""
    import cv2

    photo = cv2.imread(str(DATA / base))
    rendered = plate(text, colour)[:, :, ::-1]
    h, w = rendered.shape[:2]
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), np.float32(quad))
    size = (photo.shape[1], photo.shape[0])
    warped = cv2.warpPerspective(rendered, matrix, size, flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, size) > 0
    photo[mask] = warped[mask]
    if blur:
        photo = cv2.GaussianBlur(photo, (0, 0), blur)
    return cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def standing_man() -> np.ndarray:
    """The man standing on the left of the basketball.jpg example (a real photo), cropped, as BGR."""
    import cv2

    return cv2.imdecode(np.frombuffer(example("basketball.jpg"), np.uint8), cv2.IMREAD_COLOR)[60:480, 0:230]


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    import cv2

    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def person_lying_in_square(length: int = 240, at=(100, 400)) -> bytes:
    """The crowd.jpg CCTV frame (people standing in a square) with the standing man of
    basketball.jpg turned 90 degrees to lie on the ground, ``length`` pixels long."""
    import cv2

    frame = cv2.imdecode(np.frombuffer(example("crowd.jpg"), np.uint8), cv2.IMREAD_COLOR)
    lying = cv2.rotate(standing_man(), cv2.ROTATE_90_CLOCKWISE)
    lying = cv2.resize(lying, (length, round(length * lying.shape[0] / lying.shape[1])), interpolation=cv2.INTER_AREA)
    x, y = at
    frame[y:y + lying.shape[0], x:x + lying.shape[1]] = lying
    return jpeg(frame)
