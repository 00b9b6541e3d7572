"""Classical image indices, each an implementation of a named published method (no learned weights).

Kept free of Triton so that the model (`model.py`, numpy < 2, opencv 4.11) and the project's tests
(numpy 2, opencv 4.14) import the same code; only APIs present in both are used.

Indices, in the fixed order of ``INDEX_NAMES`` (also ``labels.txt`` beside ``config.pbtxt``):

- ``ringelmann_grade`` / ``smoke_blackness`` / ``plume_fraction``: Ringelmann smoke chart as used by
  China's HJ/T 398-2007 (Ringelmann blackness of smoke from stationary sources). Chart card N covers
  20·N % of white paper with black, so its luminous reflectance is (1 − 0.2·N) of the paper's;
  the plume's blackness is 1 − L_plume / L_sky in linear light and the grade is the nearest card.
- ``haze_density`` / ``dark_channel_mean`` / ``atmospheric_light``: dark channel prior, He, Sun and
  Tang, "Single image haze removal using dark channel prior", CVPR 2009.
- ``fire_fraction``: flame pixel rules of Çelik and Demirel, "Fire detection in video sequences
  using a generic color model", Fire Safety Journal 44 (2009) 147-158 (rules (1)-(4) in YCbCr),
  with the red-component floor and R ≥ G > B ordering of Chen, Wu and Chiou, "An early
  fire-detection method based on image processing", ICIP 2004, and the HSI saturation floor of
  Horng, Peng and Chen, "A new image-based real-time flame detection method using color
  analysis", IEEE ICNSC 2005 (bright scenes: S ≥ 40 %).
- ``water_fu`` / ``water_hue_angle``: Forel-Ule colour index from the hue angle of CIE 1931
  chromaticity, class limits of Novoa, Wernand and van der Woerd, "The Forel-Ule scale revisited
  spectrally", J. Eur. Opt. Soc. Rapid Publ. 8, 13057 (2013); the camera route (sRGB → XYZ → hue
  angle → FU) follows Novoa et al., "WACODI", Limnol. Oceanogr. Methods 13 (2015) 697-711, without
  its sky-reflection correction. ``lab_l`` / ``lab_a`` / ``lab_b``: mean CIE 1976 L*a*b* (D65).
- ``change_fraction`` / ``ssim_mean`` / ``shift_px``: change against a reference frame after
  grey-world normalisation (Buchsbaum, J. Franklin Inst. 310 (1980) 1-26), translation alignment by
  phase correlation (Kuglin and Hines 1975) and the SSIM map of Wang, Bovik, Sheikh and Simoncelli,
  IEEE TIP 13(4) 2004, combined with an absolute-difference floor.
- ``mean_brightness``: mean ITU-R BT.601 luma (0..255) for illumination checks.

An index that cannot be computed (no reference given, no water pixels) is NaN.
"""

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

INDEX_NAMES = (
    "ringelmann_grade",
    "smoke_blackness",
    "plume_fraction",
    "haze_density",
    "dark_channel_mean",
    "atmospheric_light",
    "fire_fraction",
    "water_fu",
    "water_hue_angle",
    "lab_l",
    "lab_a",
    "lab_b",
    "change_fraction",
    "ssim_mean",
    "shift_px",
    "mean_brightness",
)
INDEX = {name: i for i, name in enumerate(INDEX_NAMES)}

# Larger frames are analysed at this long side: the indices are area fractions and means, which do
# not need more pixels, and it bounds the cost of a 4K frame. Boxes are returned in original pixels.
WORK_MAX_SIDE = 1024
MAX_BOXES_PER_KIND = 20

# Ringelmann: a "plume" pixel is at least one chart card darker than the sky and nearly neutral in
# colour (black smoke is grey; brick, foliage and roofs are not).
PLUME_MIN_BLACKNESS = 0.2
PLUME_MAX_CHROMA = 20.0  # CIE a*b* chroma
PLUME_MIN_FRACTION = 0.01  # of the ROI; below this there is no measurable plume (grade 0)
PLUME_DENSEST_PERCENTILE = 90  # HJ/T 398 grades the densest part of the plume

# Dark channel prior (He et al. 2009): omega keeps a little haze for distant objects; 0.1 % of the
# brightest dark-channel pixels locate the atmospheric light.
DCP_OMEGA = 0.95
DCP_TOP_FRACTION = 0.001

# Çelik & Demirel 2009: tau = 40 was their best operating point on the ROC curve.
FIRE_TAU = 40.0
FIRE_MIN_RED = 135.0  # Chen et al. 2004 R_T (they suggest 115..135)
FIRE_MIN_SATURATION = 0.4  # Horng et al. 2005, HSI saturation and intensity of flames in a bright scene
FIRE_MIN_INTENSITY = 127.0
FIRE_MIN_AREA = 0.0003  # of the frame, for an evidence box

# Change detection thresholds on the normalised grey frames (mean 128, standard deviation 48).
CHANGE_MAX_SSIM = 0.5
CHANGE_MIN_DIFF = 28.0
CHANGE_MIN_AREA = 0.0005  # of the ROI, for a changed region to count
MAX_SHIFT_FRACTION = 0.08  # larger camera movements are not aligned (the whole frame reads as changed)

# Forel-Ule class lower limits of the hue angle in degrees, FU 1..21 (Novoa et al. 2013, Table 2).
FU_LOWER_LIMITS = (
    227.168, 220.977, 209.994, 190.779, 163.084, 132.999, 109.054, 94.037, 83.346, 74.572,
    67.957, 62.186, 56.435, 50.665, 45.129, 39.769, 34.906, 30.439, 26.337, 22.741, 19.0,
)

# IEC 61966-2-1 sRGB (D65) linear RGB -> CIE XYZ.
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
D65_WHITE = (0.95047, 1.0, 1.08883)


@dataclass
class Evidence:
    """Regions behind an index, in working-image pixels: (x1, y1, x2, y2, strength)."""

    kind: str
    boxes: list[tuple[float, float, float, float, float]] = field(default_factory=list)


@dataclass
class Analysis:
    values: dict[str, float]
    evidence: list[Evidence]
    scale: float  # working pixels per original pixel

    def vector(self) -> np.ndarray:
        return np.array([self.values.get(name, math.nan) for name in INDEX_NAMES], dtype=np.float32)

    def boxes(self) -> np.ndarray:
        """[N, 6]: x1, y1, x2, y2 in original pixels, kind (position in INDEX_NAMES), strength."""
        rows = [
            [x1 / self.scale, y1 / self.scale, x2 / self.scale, y2 / self.scale, INDEX[ev.kind], strength]
            for ev in self.evidence
            for x1, y1, x2, y2, strength in ev.boxes
        ]
        return np.array(rows, dtype=np.float32).reshape(-1, 6)


# --- common helpers ----------------------------------------------------------------------------


def to_working_size(image: np.ndarray, max_side: int = WORK_MAX_SIDE) -> tuple[np.ndarray, float]:
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def roi_mask(shape: tuple[int, ...], polygon: np.ndarray | None) -> np.ndarray:
    """Boolean mask of a polygon given in 0..1 image coordinates ([x, y] rows); None = whole frame."""
    height, width = shape[:2]
    if polygon is None or len(polygon) == 0:
        return np.ones((height, width), dtype=bool)
    polygon = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(polygon) < 3 or not np.all(np.isfinite(polygon)):
        raise ValueError("ROI needs at least 3 finite [x, y] points")
    points = np.round(polygon.clip(0.0, 1.0) * [width, height]).astype(np.int32)
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(mask, [points], 1)
    if not mask.any():
        raise ValueError("ROI covers no pixels")
    return mask.astype(bool)


def _srgb_table() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


SRGB_TO_LINEAR = _srgb_table()


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 transfer function of 8-bit values; output 0..1 float32."""
    values = np.asarray(values)
    if values.dtype != np.uint8:
        raise TypeError("srgb_to_linear wants 8-bit values")
    return SRGB_TO_LINEAR[values]


def relative_luminance(bgr: np.ndarray) -> np.ndarray:
    """CIE Y (0..1) of sRGB pixels."""
    lin = cv2.LUT(bgr, SRGB_TO_LINEAR)
    weights = np.array([[SRGB_TO_XYZ[1, 2], SRGB_TO_XYZ[1, 1], SRGB_TO_XYZ[1, 0]]], dtype=np.float32)
    luminance = cv2.transform(lin, weights)
    return luminance.reshape(bgr.shape[:2])


def xyz_to_lab(xyz: np.ndarray) -> np.ndarray:
    """CIE 1976 L*a*b* (D65 white) of XYZ (Y = 1 for white); works on [..., 3]."""
    ratio = np.asarray(xyz, dtype=np.float64) / np.array(D65_WHITE)
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(ratio > eps, np.cbrt(ratio), (kappa * ratio + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def neutral_pixels(bgr: np.ndarray, max_chroma: float) -> np.ndarray:
    """Pixels whose CIE a*b* chroma is at most ``max_chroma`` (OpenCV's 8-bit Lab: sRGB, D65, a* and
    b* offset by 128), compared in squares on integers."""
    _, a, b = cv2.split(cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab))
    da = a.astype(np.int32) - 128
    db = b.astype(np.int32) - 128
    return da * da + db * db <= max_chroma * max_chroma


def channel_min(image: np.ndarray) -> np.ndarray:
    b, g, r = cv2.split(image)
    return cv2.min(cv2.min(b, g), r)


def masked_mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of a single-channel array over a boolean mask (cv2.mean: no copy of the masked pixels)."""
    return float(cv2.mean(values, mask=mask.view(np.uint8))[0])


def region_boxes(mask: np.ndarray, min_area: int, strength: np.ndarray | None = None) -> list[tuple]:
    """Bounding boxes of connected regions of at least ``min_area`` pixels, largest first."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    found = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < max(1, min_area):
            continue
        score = float(strength[labels == label].mean()) if strength is not None else area / mask.size
        found.append((area, (float(x), float(y), float(x + w), float(y + h), score)))
    found.sort(key=lambda item: -item[0])
    return [box for _, box in found[:MAX_BOXES_PER_KIND]]


def _clean(mask: np.ndarray, size: int = 3) -> np.ndarray:
    """Morphological opening then closing: drops isolated pixels, fills pinholes."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    out = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(out, cv2.MORPH_CLOSE, kernel).astype(bool)


# --- Ringelmann blackness --------------------------------------------------------------------------


def sky_surface(lum: np.ndarray, area: np.ndarray, iterations: int = 4) -> np.ndarray | None:
    """Sky luminance behind a plume: a quadratic surface in x, y fitted to the area's pixels, each
    round keeping only pixels within half a chart card of it (no smoke, roofs, steam or glare), so
    it follows the smooth shading of an overcast or clear sky but not the plume in front of it."""
    height, width = lum.shape
    stride = max(1, round(math.sqrt(area.sum() / 4000)))  # a few thousand samples pin down six coefficients
    ys, xs = np.nonzero(area[::stride, ::stride])
    ys, xs = ys * stride, xs * stride
    values = lum[ys, xs].astype(np.float64)
    u, v = xs / width - 0.5, ys / height - 0.5
    design = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=1)
    low, high = np.percentile(values, [50, 90])
    keep = (values >= low) & (values <= high)  # start without the darkest (smoke) and brightest (steam, glare)
    coef = None
    for _ in range(iterations):
        if keep.sum() < 12:
            break
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        fit = design @ coef
        keep = np.abs(values / np.maximum(fit, 1e-6) - 1.0) <= 0.5 * PLUME_MIN_BLACKNESS
    if coef is None:
        return None
    c = coef.astype(np.float32)
    gu = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :]
    gv = (np.arange(height, dtype=np.float32) / height - 0.5)[:, None]
    surface = (c[0] + c[2] * gv + c[5] * gv * gv) + (c[1] + c[4] * gv) * gu + c[3] * gu * gu
    if float(surface[area].max()) <= 1e-4:
        return None
    return np.maximum(surface, np.float32(1e-4))


def ringelmann(bgr: np.ndarray, mask: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Ringelmann grade of the plume inside the ROI against the sky behind it.

    The sky's luminance behind each pixel comes from a robust smooth fit (``sky_surface``), so the
    shading of an overcast sky is not taken for smoke. The ROI is widened by a margin first, so a
    ROI drawn tightly around a plume still sees sky. Plume pixels are near-neutral and at least one
    chart card darker than that sky; the densest part of the plume (90th percentile of blackness) is
    graded, as an observer would. Only the widened ROI's bounding box is analysed.
    """
    height, width = mask.shape
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    margin = max(5, round(0.25 * max(w, h)))
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
    crop, inside = bgr[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    context = cv2.dilate(inside.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (2 * margin + 1,) * 2))
    lum = relative_luminance(crop)
    plume = np.zeros_like(mask)
    sky = sky_surface(lum, context.astype(bool))
    if sky is None:  # a black frame has no sky to compare with
        return {"ringelmann_grade": 0.0, "smoke_blackness": 0.0, "plume_fraction": 0.0}, plume
    blackness = np.clip(1.0 - lum / sky, 0.0, 1.0)
    neutral = neutral_pixels(crop, PLUME_MAX_CHROMA)
    found = _clean(inside & (blackness >= PLUME_MIN_BLACKNESS) & neutral) & inside
    plume[y0:y1, x0:x1] = found
    fraction = float(found.sum()) / float(mask.sum())
    if fraction < PLUME_MIN_FRACTION:
        return {"ringelmann_grade": 0.0, "smoke_blackness": 0.0, "plume_fraction": fraction}, plume
    dense = float(np.percentile(blackness[found], PLUME_DENSEST_PERCENTILE))
    grade = float(min(5, max(0, math.floor(dense * 5 + 0.5))))
    return {"ringelmann_grade": grade, "smoke_blackness": dense, "plume_fraction": fraction}, plume


# --- dark channel prior haze ---------------------------------------------------------------------


def dcp_patch(shape: tuple[int, ...]) -> int:
    """He et al. used 15×15 patches on images of about 600×400; scale with the short side."""
    return max(3, (min(shape[:2]) // 32) | 1)


def dark_channel(channels: tuple[np.ndarray, ...], patch: int) -> np.ndarray:
    """Minimum over the colour channels, then over a patch×patch neighbourhood (an erosion)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    low = channels[0]
    for channel in channels[1:]:
        low = cv2.min(low, channel)
    return cv2.erode(low, kernel)


def atmospheric_light(bgr: np.ndarray, dark: np.ndarray) -> np.ndarray:
    """Among the 0.1 % brightest dark-channel pixels, the colour (0..1) of the brightest input pixel."""
    flat_dark = dark.reshape(-1)
    count = max(1, int(flat_dark.size * DCP_TOP_FRACTION))
    candidates = np.argpartition(-flat_dark.astype(np.int16), count - 1)[:count]
    pixels = bgr.reshape(-1, 3)[candidates].astype(np.float32)
    return pixels[int(np.argmax(pixels.sum(axis=1)))] / 255.0


def haze(bgr: np.ndarray, mask: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Mean haze opacity 1 − t over the ROI, with t = 1 − ω · dark(I / A) (He et al. 2009, eq. 12)."""
    patch = dcp_patch(bgr.shape)
    channels = cv2.split(bgr)
    dark = dark_channel(channels, patch)
    light = np.maximum(atmospheric_light(bgr, dark), 1e-3)
    normalised = tuple(c.astype(np.float32) * np.float32(1 / (255 * a)) for c, a in zip(channels, light, strict=True))
    transmission = 1.0 - DCP_OMEGA * dark_channel(normalised, patch)
    opacity = np.clip(1.0 - transmission, 0.0, 1.0)
    return {
        "haze_density": masked_mean(opacity, mask),
        "dark_channel_mean": masked_mean(dark, mask) / 255.0,
        "atmospheric_light": float(light.mean()),
    }, transmission


# --- flame colour --------------------------------------------------------------------------------


def fire_pixels(bgr: np.ndarray) -> np.ndarray:
    """Flame-coloured pixels: Çelik & Demirel 2009 rules (1)-(4), Chen et al. 2004's red rule and
    Horng et al. 2005's saturation and intensity floors. Colour alone also accepts oranges and
    red-orange paint; the pipeline's flicker test across frames is what tells a flame from a static
    object. Integer arithmetic throughout (the rules are exact comparisons on 8-bit values)."""
    y, cr, cb = (c.astype(np.int16) for c in cv2.split(cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)))
    b, g, r = (c.astype(np.int16) for c in cv2.split(bgr))
    rule1 = y > cb
    rule2 = cr > cb
    rule3 = (y > y.mean()) & (cb < cb.mean()) & (cr > cr.mean())
    rule4 = np.abs(cb - cr) >= FIRE_TAU
    chen = (r > FIRE_MIN_RED) & (r >= g) & (g > b)
    # HSI: wood, brick and cardboard are orange but dull (saturation 1 - 3·min/(R+G+B) >= 0.4, i.e.
    # 3·min <= 0.6·sum); paint is saturated but, unlike a flame, not bright ((R+G+B)/3 >= 127).
    total = r + g + b
    lowest = cv2.min(cv2.min(b, g), r)
    horng = (3 * lowest <= (1 - FIRE_MIN_SATURATION) * total) & (total >= 3 * FIRE_MIN_INTENSITY)
    return rule1 & rule2 & rule3 & rule4 & chen & horng


def drop_small_regions(mask: np.ndarray, min_area: int) -> np.ndarray:
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= max(1, min_area)
    keep[0] = False
    return keep[labels]


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Regions with their enclosed holes filled: a flat new object (a sheet, a painted patch) often
    changes only along its outline at SSIM's scale, yet all of it is new."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros(mask.shape, dtype=np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def fire(bgr: np.ndarray, mask: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Share of the ROI covered by flame-coloured regions of a visible size (specks of glossy paint
    or a lit indicator lamp do not count)."""
    min_area = round(FIRE_MIN_AREA * bgr.shape[0] * bgr.shape[1])
    flame = drop_small_regions(_clean(fire_pixels(bgr)) & mask, min_area)
    return {"fire_fraction": float(flame.sum()) / float(mask.sum())}, flame


# --- water colour --------------------------------------------------------------------------------


def forel_ule(hue_angle: float) -> float:
    """FU class 1 (blue) .. 21 (brown) of a hue angle; angles outside the natural-water range clamp."""
    if not math.isfinite(hue_angle):
        return math.nan
    for fu, lower in enumerate(FU_LOWER_LIMITS, start=1):
        if hue_angle >= lower:
            return float(fu)
    return 21.0


def hue_angle(xyz: np.ndarray) -> float:
    """Angle (degrees, 0..360) of the chromaticity (x − 1/3, y − 1/3), counter-clockwise from +x."""
    total = float(np.sum(xyz))
    if total <= 1e-9:
        return math.nan
    x, y = xyz[0] / total, xyz[1] / total
    return math.degrees(math.atan2(y - 1 / 3, x - 1 / 3)) % 360.0


def colour(bgr: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Mean colour of the ROI in linear light (what a radiometer integrates), as Lab and FU.

    Specular glints (near-white: every channel ≥ 240) are left out: they show the sky, not the water.
    """
    usable = mask & (channel_min(bgr) < 240)
    if not usable.any():
        return {"water_fu": math.nan, "water_hue_angle": math.nan, "lab_l": math.nan, "lab_a": math.nan,
                "lab_b": math.nan}
    linear = cv2.LUT(bgr, SRGB_TO_LINEAR)
    rgb = np.array(cv2.mean(linear, mask=usable.view(np.uint8))[:3][::-1], dtype=np.float64)
    xyz = SRGB_TO_XYZ @ rgb
    lab = xyz_to_lab(xyz)
    angle = hue_angle(xyz)
    return {"water_fu": forel_ule(angle), "water_hue_angle": angle, "lab_l": float(lab[0]),
            "lab_a": float(lab[1]), "lab_b": float(lab[2])}


# --- change against a reference ------------------------------------------------------------------


def _normalised_grey(bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Grey-world white balance, then luminance standardised over the ROI (mean 128, sd 48), so a
    change of illumination or exposure between the two frames does not read as change."""
    means = np.array(cv2.mean(bgr, mask=mask.view(np.uint8))[:3], dtype=np.float64)
    gains = means.mean() / np.maximum(means, 1.0)
    weights = np.array([[0.114 * gains[0], 0.587 * gains[1], 0.299 * gains[2]]], dtype=np.float32)
    grey = cv2.transform(bgr.astype(np.float32), weights).reshape(bgr.shape[:2])
    mean, std = (float(v[0][0]) for v in cv2.meanStdDev(grey, mask=mask.view(np.uint8)))
    return (128.0 + 48.0 * (grey - mean) / max(std, 1.0)).astype(np.float32)


def ssim_map(a: np.ndarray, b: np.ndarray, sigma: float = 1.5, dynamic_range: float = 255.0) -> np.ndarray:
    """Wang et al. 2004 SSIM with an 11×11 Gaussian window (σ = 1.5), per pixel."""
    c1, c2 = (0.01 * dynamic_range) ** 2, (0.03 * dynamic_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), sigma)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def align_shift(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Translation (dx, dy) that moves the reference onto the current frame (phase correlation).

    Estimated at half resolution (sub-pixel peak, so about a quarter-pixel error at full size):
    camera jitter is a few pixels and the FFTs cost a quarter as much."""
    factor = 2 if min(current.shape[:2]) >= 240 else 1
    if factor > 1:
        size = (current.shape[1] // factor, current.shape[0] // factor)
        reference = cv2.resize(reference, size, interpolation=cv2.INTER_AREA)
        current = cv2.resize(current, size, interpolation=cv2.INTER_AREA)
    window = cv2.createHanningWindow(current.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(reference.astype(np.float32), current.astype(np.float32), window)
    return float(dx) * factor, float(dy) * factor


def change(
    bgr: np.ndarray, reference_bgr: np.ndarray, mask: np.ndarray
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Fraction of the ROI that changed against the reference, after normalisation and alignment.

    A pixel changed when its neighbourhood lost structure (SSIM below 0.5) and its normalised grey
    level moved by more than 28 (of 255): SSIM alone flags noise in flat sky, a difference alone
    flags edges left by a sub-pixel misalignment.
    """
    height, width = bgr.shape[:2]
    if reference_bgr.shape[:2] != (height, width):
        reference_bgr = cv2.resize(reference_bgr, (width, height), interpolation=cv2.INTER_AREA)
    current = _normalised_grey(bgr, mask)
    reference = _normalised_grey(reference_bgr, mask)
    dx, dy = align_shift(reference, current)
    valid = np.ones((height, width), dtype=bool)
    if max(abs(dx), abs(dy)) <= MAX_SHIFT_FRACTION * min(height, width) and (abs(dx) >= 0.5 or abs(dy) >= 0.5):
        matrix = np.float32([[1, 0, dx], [0, 1, dy]])
        reference = cv2.warpAffine(reference, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        # Pixels shifted in from outside the reference frame cannot be compared.
        pad_x, pad_y = math.ceil(abs(dx)) + 1, math.ceil(abs(dy)) + 1
        valid[:, :pad_x] = dx <= 0
        valid[:, width - pad_x :] &= dx >= 0
        valid[:pad_y, :] &= dy <= 0
        valid[height - pad_y :, :] &= dy >= 0
    current = cv2.GaussianBlur(current, (5, 5), 1.0)
    reference = cv2.GaussianBlur(reference, (5, 5), 1.0)
    ssim = ssim_map(current, reference)
    diff = cv2.GaussianBlur(np.abs(current - reference), (5, 5), 1.0)
    area = mask & valid
    changed = _clean((ssim < CHANGE_MAX_SSIM) & (diff > CHANGE_MIN_DIFF), size=3) & area
    min_area = max(4, round(CHANGE_MIN_AREA * area.sum()))
    changed = fill_holes(drop_small_regions(changed, min_area)) & area
    return {
        "change_fraction": float(changed.sum()) / float(max(1, area.sum())),
        "ssim_mean": masked_mean(ssim, area) if area.any() else math.nan,
        "shift_px": math.hypot(dx, dy),
    }, changed, diff


# --- everything ----------------------------------------------------------------------------------


def brightness(bgr: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    luma = cv2.transform(bgr.astype(np.float32), np.array([[0.114, 0.587, 0.299]], dtype=np.float32))
    return {"mean_brightness": masked_mean(luma.reshape(bgr.shape[:2]), mask)}


# Which method yields which indices: a caller asks for indices by name and pays only for their methods.
METHODS = {
    "ringelmann": ("ringelmann_grade", "smoke_blackness", "plume_fraction"),
    "haze": ("haze_density", "dark_channel_mean", "atmospheric_light"),
    "fire": ("fire_fraction",),
    "colour": ("water_fu", "water_hue_angle", "lab_l", "lab_a", "lab_b"),
    "change": ("change_fraction", "ssim_mean", "shift_px"),
    "brightness": ("mean_brightness",),
}
if sorted(n for names in METHODS.values() for n in names) != sorted(INDEX_NAMES):
    raise RuntimeError("METHODS must name every index of INDEX_NAMES exactly once")


def methods_for(wanted: list[str] | None) -> set[str]:
    """The methods that compute the wanted indices (all of them for None or an empty list)."""
    if not wanted:
        return set(METHODS)
    unknown = sorted(set(wanted) - set(INDEX_NAMES))
    if unknown:
        raise ValueError(f"unknown indices {unknown}; known: {list(INDEX_NAMES)}")
    return {method for method, names in METHODS.items() if set(names) & set(wanted)}


def analyse(image_bgr: np.ndarray, polygon: np.ndarray | None = None, reference_bgr: np.ndarray | None = None,
            wanted: list[str] | None = None) -> Analysis:
    """The wanted indices (default all) of one frame inside the ROI; the change indices need a
    reference frame. Indices not computed are NaN."""
    methods = methods_for(wanted)
    bgr, scale = to_working_size(image_bgr)
    mask = roi_mask(bgr.shape, polygon)
    values: dict[str, float] = dict.fromkeys(INDEX_NAMES, math.nan)
    evidence: list[Evidence] = []

    if "ringelmann" in methods:
        smoke, plume = ringelmann(bgr, mask)
        values.update(smoke)
        if smoke["ringelmann_grade"] > 0:
            min_area = round(PLUME_MIN_FRACTION * mask.sum())
            evidence.append(Evidence("ringelmann_grade", region_boxes(plume, min_area)))
    if "haze" in methods:
        values.update(haze(bgr, mask)[0])
    if "fire" in methods:
        flame_values, flame = fire(bgr, mask)
        values.update(flame_values)
        evidence.append(Evidence("fire_fraction", region_boxes(flame, 1)))
    if "colour" in methods:
        values.update(colour(bgr, mask))
    if "change" in methods and reference_bgr is not None:
        change_values, changed, diff = change(bgr, reference_bgr, mask)
        values.update(change_values)
        evidence.append(Evidence("change_fraction", region_boxes(changed, 1, strength=diff)))
    if "brightness" in methods:
        values.update(brightness(bgr, mask))
    return Analysis(values, [ev for ev in evidence if ev.boxes], scale)
