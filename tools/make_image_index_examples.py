"""Make the example inputs of the image-index scenarios from real photos, and the scene edits the
tests reuse (a dark plume, dust by the atmospheric scattering model, flames, a tinted pond, a new
shed, a road collapse, a failed street lamp, a foreign object on a power line, a PCB defect).

The photos come from OpenCV's sample data (Debian package ``opencv-doc``: aero1.jpg, leuvenA.jpg,
home.jpg, board.jpg, building.jpg) and the catalog's own crowd.jpg; examples/NOTICE.md says which
file came from what. The scene edits are plain numpy/OpenCV so that tests can apply them to
the committed bases without the original photos.

Run: .venv/bin/python tools/make_image_index_examples.py --source DIR
"""

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "services" / "catalog" / "data" / "examples"
OPENCV_DATA = "ocvdoc/usr/share/doc/opencv-doc/examples/data"
SIZE = (640, 480)
JPEG_QUALITY = 80


# --- helpers -------------------------------------------------------------------------------------


def fractal_noise(shape: tuple[int, int], seed: int, octaves: int = 4, base: int = 4) -> np.ndarray:
    """Smooth value noise in 0..1 (sum of upsampled random grids), for natural-looking edges."""
    rng = np.random.default_rng(seed)
    height, width = shape
    total = np.zeros(shape, dtype=np.float32)
    weight = 0.0
    for octave in range(octaves):
        cells = base * 2**octave
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
        total += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) / 2**octave
        weight += 1 / 2**octave
    total /= weight
    return np.clip((total - total.min()) / max(1e-6, total.max() - total.min()), 0, 1)


def blend(image: np.ndarray, colour: np.ndarray | tuple, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite a colour (or an image) over ``image``; alpha is HxW in 0..1."""
    base = image.astype(np.float32)
    over = np.broadcast_to(np.asarray(colour, dtype=np.float32), base.shape)
    a = alpha.astype(np.float32)[..., None]
    return np.clip(base * (1 - a) + over * a, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def decode(content: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)


def recapture(image: np.ndarray, *, gain: float = 1.12, cast=(0.97, 1.0, 1.05), shift=(2, 1),
              noise: float = 3.0, seed: int = 0) -> np.ndarray:
    """The same view taken again: other exposure and white balance, a small camera jitter, sensor
    noise. What a change detector must NOT report."""
    height, width = image.shape[:2]
    matrix = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    moved = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    out = moved.astype(np.float32) * gain * np.array(cast, dtype=np.float32)
    out += np.random.default_rng(seed).normal(0, noise, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


# --- smoke, haze ---------------------------------------------------------------------------------


def plume_alpha(shape: tuple[int, int], outlet: tuple[float, float], *, seed: int, length: float = 260,
                drift: float = 0.9, opacity: float = 0.92) -> np.ndarray:
    """Opacity of a smoke plume leaving a stack at ``outlet`` and bending downwind (to the right):
    overlapping Gaussian puffs that widen and thin out, broken up by fractal noise."""
    height, width = shape
    alpha = np.zeros(shape, dtype=np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    x0, y0 = outlet
    steps = 80
    rng = np.random.default_rng(seed)
    for i in range(steps):
        s = i / (steps - 1)
        cx = x0 + drift * length * s**1.3 + rng.normal(0, 4 * s)
        cy = y0 - length * 0.55 * (1 - (1 - s) ** 2) + rng.normal(0, 4 * s)
        radius = 6 + 40 * s
        density = opacity * (1 - 0.6 * s)
        puff = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2))
        alpha = np.maximum(alpha, density * puff)
    texture = 0.55 + 0.45 * fractal_noise(shape, seed, octaves=5, base=6)
    return np.clip(alpha * texture * 1.35, 0, opacity)


def add_plume(image: np.ndarray, outlet: tuple[float, float], *, colour=(38, 36, 34), seed: int = 1,
              opacity: float = 0.92) -> np.ndarray:
    return blend(image, colour, plume_alpha(image.shape[:2], outlet, seed=seed, opacity=opacity))


def add_haze(image: np.ndarray, transmission: np.ndarray | float, light=(175, 195, 212)) -> np.ndarray:
    """Koschmieder's atmospheric scattering model I = J·t + A·(1 − t) (as in He et al. 2009)."""
    t = np.broadcast_to(np.asarray(transmission, dtype=np.float32), image.shape[:2])[..., None]
    out = image.astype(np.float32) * t + np.asarray(light, dtype=np.float32) * (1 - t)
    return np.clip(out, 0, 255).astype(np.uint8)


def dust_transmission(shape: tuple[int, int], centre: tuple[float, float], radius: float, *,
                      densest: float = 0.2, seed: int = 3) -> np.ndarray:
    """A dust cloud over a site: transmission falls to ``densest`` at its core, ragged by noise."""
    height, width = shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cloud = np.exp(-((xx - centre[0]) ** 2 + ((yy - centre[1]) * 1.4) ** 2) / (2 * radius**2))
    cloud *= 0.6 + 0.4 * fractal_noise(shape, seed)
    return 1 - (1 - densest) * np.clip(cloud * 1.2, 0, 1)


# --- fire ----------------------------------------------------------------------------------------


FLAME_PALETTE = np.array(  # intensity 0..1 -> BGR, from ember red to a white-yellow core
    [[0, 0, 60], [0, 30, 200], [10, 110, 250], [40, 190, 255], [150, 240, 255], [225, 252, 255]], dtype=np.float32
)


def flame_layer(shape: tuple[int, int], base: tuple[float, float], *, width: float, height: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Colour and opacity of a fire: a few flame tongues rising from ``base`` (their bottom centre),
    each a teardrop bent by turbulence. A different seed is the same fire a moment later."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    turbulence = (fractal_noise(shape, seed + 100, octaves=4, base=8) - 0.5) * width * 0.9
    intensity = np.zeros(shape, dtype=np.float32)
    for _ in range(8):
        cx = base[0] + rng.uniform(-0.4, 0.4) * width
        tongue_h = height * rng.uniform(0.35, 1.0)
        tongue_w = width * rng.uniform(0.15, 0.4)
        v = (base[1] - yy) / tongue_h  # 0 at the base, 1 at the tip
        half = tongue_w * np.clip(1 - v, 0, 1) ** 0.7 * np.clip(v * 4 + 0.3, 0, 1)
        dx = np.abs(xx + turbulence * np.clip(v, 0, 1) - cx)
        inside = np.clip(1 - dx / np.maximum(half, 1e-3), 0, 1) * (v >= 0) * (v <= 1)
        intensity = np.maximum(intensity, inside ** 0.8 * np.clip(1.15 - v, 0, 1))
    intensity = cv2.GaussianBlur(intensity, (0, 0), 1.5)
    levels = intensity * (len(FLAME_PALETTE) - 1)
    low = np.clip(np.floor(levels).astype(int), 0, len(FLAME_PALETTE) - 2)
    frac = (levels - low)[..., None]
    colour = FLAME_PALETTE[low] * (1 - frac) + FLAME_PALETTE[low + 1] * frac
    alpha = np.clip(intensity * 2.2, 0, 1)
    return colour, alpha


def add_fire(image: np.ndarray, base: tuple[float, float], *, width: float = 130, height: float = 170,
             seed: int = 5, smoke: bool = True) -> np.ndarray:
    out = image
    if smoke:
        outlet = (base[0], base[1] - height * 0.8)
        alpha = plume_alpha(image.shape[:2], outlet, seed=seed + 7, length=height * 1.6, drift=0.3, opacity=0.55)
        out = blend(out, (70, 72, 75), alpha)
    colour, alpha = flame_layer(image.shape[:2], base, width=width, height=height, seed=seed)
    glow = cv2.GaussianBlur(alpha, (0, 0), width * 0.5) * 0.35  # firelight on the surroundings
    out = blend(out, (60, 150, 255), glow)
    return blend(out, colour, alpha)


def add_burning_pile(image: np.ndarray, centre: tuple[float, float], *, seed: int = 11) -> np.ndarray:
    """Open burning of refuse or straw on the ground: a dark heap with flames and smoke."""
    rng = np.random.default_rng(seed)
    heap = np.zeros(image.shape[:2], dtype=np.float32)
    cx, cy = centre
    cv2.ellipse(heap, (round(cx), round(cy)), (60, 18), 0, 0, 360, 1.0, -1)
    heap = cv2.GaussianBlur(heap, (0, 0), 3) * (0.7 + 0.3 * fractal_noise(heap.shape, seed))
    debris = np.clip(rng.normal(0, 1, image.shape), -1, 1) * 12
    out = blend(image, np.clip(np.array([40, 55, 70], np.float32) + debris, 0, 255), heap)
    return add_fire(out, (cx, cy - 4), width=150, height=150, seed=seed)


# --- water ---------------------------------------------------------------------------------------


def tint_water(image: np.ndarray, polygon: list[tuple[float, float]], colour=(40, 60, 150), *,
               strength: float = 0.75, seed: int = 21) -> np.ndarray:
    """A discharge plume colouring the water inside ``polygon`` (pixel coordinates): only pixels close
    to the water's own colour are tinted, spreading from the polygon's first vertex (the outfall)."""
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.array(polygon, dtype=np.int32)], 1)
    inside = image[mask.astype(bool)].astype(np.float32)
    water_colour = np.median(inside, axis=0)
    distance = np.linalg.norm(image.astype(np.float32) - water_colour, axis=2)
    water = (mask > 0) & (distance < 45)
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    ox, oy = polygon[0]
    reach = max(math.dist(polygon[0], p) for p in polygon)
    spread = np.clip(1.2 - np.hypot(xx - ox, yy - oy) / reach, 0, 1)
    alpha = strength * water * spread * (0.6 + 0.4 * fractal_noise(image.shape[:2], seed))
    alpha = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), 1.2)
    # Keep the water's texture: tint by multiplying luminance into the dye colour.
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None] / 128.0
    dyed = np.clip(np.asarray(colour, dtype=np.float32) * grey, 0, 255)
    return blend(image, dyed, alpha)


# --- structures, defects -------------------------------------------------------------------------


def add_shed(image: np.ndarray, corner: tuple[int, int], size=(60, 36), colour=(190, 120, 45)) -> np.ndarray:
    """A blue corrugated steel-roof shed seen from above (the typical unpermitted structure)."""
    out = image.copy()
    x, y = corner
    w, h = size
    cv2.rectangle(out, (x + 4, y + 4), (x + w + 4, y + h + 4), (45, 55, 50), -1)  # shadow
    roof = np.zeros((h, w, 3), dtype=np.float32) + np.array(colour, dtype=np.float32)
    ribs = (np.sin(np.arange(w) * 2 * math.pi / 5) * 18).astype(np.float32)
    roof += ribs[None, :, None]
    roof[: h // 2] *= 1.08  # two roof planes catch the light differently
    out[y : y + h, x : x + w] = np.clip(roof, 0, 255).astype(np.uint8)
    cv2.line(out, (x, y + h // 2), (x + w, y + h // 2), (230, 200, 150), 1)
    return out


def add_collapse(image: np.ndarray, centre: tuple[int, int], axes=(70, 26), *, seed: int = 31) -> np.ndarray:
    """A road surface collapse: a dark irregular hole with a lit far rim and broken paving around."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    hole = np.zeros((h, w), dtype=np.float32)
    points = []
    for k in range(24):
        angle = 2 * math.pi * k / 24
        r = rng.uniform(0.75, 1.15)
        points.append((centre[0] + axes[0] * r * math.cos(angle), centre[1] + axes[1] * r * math.sin(angle)))
    cv2.fillPoly(hole, [np.array(points, dtype=np.int32)], 1.0)
    depth = cv2.GaussianBlur(hole, (0, 0), 6) * hole
    out = blend(image, (18, 20, 24), np.clip(depth * 1.6, 0, 0.95))
    rim = cv2.dilate(hole, np.ones((7, 7), np.uint8)) - hole
    yy = np.mgrid[0:h, 0:w][0]
    far_rim = rim * (yy < centre[1])
    out = blend(out, (150, 160, 170), far_rim * 0.6)
    cracks = np.zeros((h, w), dtype=np.uint8)
    for _ in range(7):
        angle = rng.uniform(0, 2 * math.pi)
        start = (round(centre[0] + axes[0] * math.cos(angle)), round(centre[1] + axes[1] * math.sin(angle)))
        end = (round(start[0] + 45 * math.cos(angle)), round(start[1] + 18 * math.sin(angle)))
        cv2.line(cracks, start, end, 1, 2)
    return blend(out, (25, 25, 28), cracks.astype(np.float32) * 0.8)


def night(image: np.ndarray) -> np.ndarray:
    """The scene at night without street lighting: exposure down in linear light, bluish cast."""
    linear = (image.astype(np.float32) / 255) ** 2.2
    linear *= np.array([0.05, 0.045, 0.035], dtype=np.float32)
    return np.clip((linear ** (1 / 2.2)) * 255, 0, 255).astype(np.uint8)


def lamp_light(image_night: np.ndarray, lamp: tuple[float, float], *, reach: float = 170) -> np.ndarray:
    """A working street lamp: a bright head and a warm pool of light on the wall and paving."""
    h, w = image_night.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.hypot(xx - lamp[0], (yy - lamp[1]) * 0.8)
    below = np.clip((yy - lamp[1] + 40) / 80, 0, 1)
    falloff = np.clip(1 - dist / reach, 0, 1) ** 2 * (0.35 + 0.65 * below)
    linear = (image_night.astype(np.float32) / 255) ** 2.2
    linear += falloff[..., None] * np.array([0.05, 0.22, 0.40], dtype=np.float32) * 0.9
    head = np.exp(-(dist**2) / (2 * 6.0**2))
    linear += head[..., None] * np.array([0.8, 0.95, 1.0], dtype=np.float32)
    return np.clip((np.clip(linear, 0, 1) ** (1 / 2.2)) * 255, 0, 255).astype(np.uint8)


CONDUCTORS = ((34, 40), (62, 44), (90, 48))  # (height at the towers, sag at mid-span) in pixels


def line_y(x: float, image_width: int, top: float, sag: float) -> float:
    """A conductor hanging between towers at both image edges: a catenary, lowest at mid-span."""
    u = (x - image_width / 2) / (image_width / 2)
    return top + sag * (math.cosh(1.2) - math.cosh(1.2 * u)) / (math.cosh(1.2) - 1)


def power_lines(image: np.ndarray) -> np.ndarray:
    """Three sagging conductors across the sky, drawn anti-aliased."""
    out = image.copy()
    width = out.shape[1]
    for top, sag in CONDUCTORS:
        points = [(x, line_y(x, width, top, sag)) for x in np.linspace(-10, width + 10, 120)]
        cv2.polylines(out, [np.array(points).round().astype(np.int32)], False, (45, 42, 40), 2, cv2.LINE_AA)
    return out


def add_bag_on_line(image: np.ndarray, x: float, *, seed: int = 41) -> np.ndarray:
    """A torn plastic sheet hanging from the middle conductor: a pale irregular shape with folds."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    y = line_y(x, image.shape[1], *CONDUCTORS[1])
    points = [(x - 12, y), (x + 14, y)]
    for k in range(9):
        t = k / 8
        points.append((x + 16 - 34 * t + rng.uniform(-4, 4), y + 22 + 16 * math.sin(math.pi * t) + rng.uniform(-3, 5)))
    shape = np.zeros(out.shape[:2], dtype=np.float32)
    cv2.fillPoly(shape, [np.array(points, dtype=np.int32)], 1.0)
    folds = 0.85 + 0.15 * fractal_noise(out.shape[:2], seed, octaves=3, base=16)
    sheet = np.stack([folds * 225, folds * 222, folds * 214], axis=-1)
    out = blend(out, sheet, cv2.GaussianBlur(shape, (3, 3), 0.8) * 0.95)
    cv2.line(out, (round(x - 16), round(y - 1)), (round(x + 18), round(y + 1)), (60, 58, 55), 2, cv2.LINE_AA)
    return out


def pcb_defect(image: np.ndarray, component: tuple[int, int, int, int], scratch: tuple[tuple, tuple]) -> np.ndarray:
    """A missing component (its footprint inpainted with the board around it) and a bright scratch."""
    x, y, w, h = component
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    mask[y : y + h, x : x + w] = 255
    out = cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA)
    cv2.line(out, scratch[0], scratch[1], (200, 215, 210), 2, cv2.LINE_AA)
    return out


# --- the example files ---------------------------------------------------------------------------

# Places in the 640×480 bases (pixels), shared by the catalog's example params and the tests.
LEUVEN_CHIMNEY = (338, 150)  # top of the chimney on the timber-framed house
LEUVEN_LAMP = (137, 212)
LEUVEN_ROAD_HOLE = (300, 440)
AERIAL_SITE = (540, 430)  # earthworks, bottom right
AERIAL_POND = [(300, 448), (250, 428), (180, 425), (160, 450), (175, 478), (300, 478)]  # outfall first
AERIAL_SHED = (175, 340)
WORKPLACE_FIRE = (250, 432)
LAWN_PILE = (160, 430)
BAG_X = 330
PCB_COMPONENT = (124, 138, 50, 50)
PCB_SCRATCH = ((360, 300), (470, 262))


def bases(source: Path) -> dict[str, np.ndarray]:
    data = source / OPENCV_DATA

    def fit(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        target = SIZE[0] / SIZE[1]
        if w / h > target:  # crop the sides to 4:3
            cut = round((w - h * target) / 2)
            image = image[:, cut : w - cut]
        return cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)

    return {
        "leuven": fit(cv2.imread(str(data / "leuvenA.jpg"))),
        "aerial": fit(cv2.imread(str(data / "aero1.jpg"))),
        "sky": cv2.imread(str(data / "home.jpg")),  # 512×384 kept
        "pcb": fit(cv2.imread(str(data / "board.jpg"))),
        "workplace": fit(cv2.imread(str(data / "building.jpg"))),
    }


def build(source: Path) -> dict[str, np.ndarray]:
    """Every example file of the image-index scenarios, by name."""
    b = bases(source)
    leuven, aerial = b["leuven"], b["aerial"]
    lines = power_lines(b["sky"])
    night_street = night(leuven)
    return {
        "leuven-street.jpg": leuven,
        "chimney-black-smoke.jpg": add_plume(leuven, LEUVEN_CHIMNEY),
        "road-collapse.jpg": add_collapse(recapture(leuven, gain=0.95, shift=(1, 0), seed=3), LEUVEN_ROAD_HOLE),
        "streetlight-dark.jpg": night_street,
        "aerial-town.jpg": aerial,
        "construction-dust.jpg": add_haze(aerial, dust_transmission(aerial.shape[:2], AERIAL_SITE, 110, densest=0.1)),
        "pond-discharge.jpg": tint_water(aerial, AERIAL_POND),
        "illegal-structure.jpg": add_shed(recapture(aerial, gain=1.05, shift=(1, 1), seed=4), AERIAL_SHED),
        "workplace.jpg": b["workplace"],
        "workplace-fire.jpg": add_fire(b["workplace"], WORKPLACE_FIRE),
        "power-line-reference.jpg": lines,
        "power-line-foreign-object.jpg": add_bag_on_line(recapture(lines, gain=1.06, seed=5), BAG_X),
        "pcb-golden.jpg": b["pcb"],
        "pcb-defect.jpg": pcb_defect(recapture(b["pcb"], gain=1.04, shift=(1, 0), seed=6), PCB_COMPONENT,
                                     PCB_SCRATCH),
    }


def lawn_burning(crowd_jpg: np.ndarray) -> np.ndarray:
    lawn = cv2.resize(crowd_jpg, SIZE, interpolation=cv2.INTER_AREA)
    return add_burning_pile(lawn, LAWN_PILE)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="folder with the Debian opencv-doc package unpacked under ocvdoc/")
    parser.add_argument("--out", type=Path, default=EXAMPLES)
    args = parser.parse_args()
    files = build(args.source)
    files["lawn-open-burning.jpg"] = lawn_burning(cv2.imread(str(EXAMPLES / "crowd.jpg")))
    for name, image in files.items():
        data = jpeg(image)
        (args.out / name).write_bytes(data)
        print(f"{name}: {len(data) // 1024} KB")
