"""Frame sequences of one fixed camera, made from the project's real example photos (licences in
services/catalog/data/examples/NOTICE.md; the car is tests/data/car_rear.jpg), for multi-frame rules
and for the frame servers of the source tests.

Every generator is deterministic (seeded) and returns a :class:`FrameSequence`: JPEG frames of one
size, the normalised zone polygon that contains the action, and which frames show the subject.
Between frames the camera adds what a real one does: sensor noise, a small exposure and white
balance drift and a pixel of shake, so no two frames are byte-identical.

- :func:`parked_car_frames`: a car (plate 粤B12345, readable) parked on a cobbled street, then gone.
- :func:`passing_traffic_frames`: the negative: cars with other plates, each seen once, empty road between.
- :func:`lingering_people_frames`: four people (cut from crowd.jpg) standing on the lawn, drifting slowly.
- :func:`passers_by_frames`: the negative: one person at a time crosses the lawn, never in two frames.
- :func:`growing_dump_frames`: a heap of dumped material growing on a field of aerial-town.jpg.
- :func:`left_object_frames`: a car left in the street, first with two people beside it, then alone.
- :func:`quiet_site_frames`: the negative: the same field, only light and noise change.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

import cv2
import numpy as np

from tests.images import EXAMPLES, car_with_plate


@dataclass(frozen=True)
class FrameSequence:
    """``frames[i]`` is JPEG bytes; ``present[i]`` says whether the subject is in frame ``i``;
    ``zone`` is the normalised polygon ([x, y] in 0..1) that contains the subject."""

    frames: list[bytes]
    zone: list[list[float]]
    present: list[bool]
    size: tuple[int, int]  # width, height
    plate: str = ""  # the parked car's plate, normalised as the plate reader's results are
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def times(self, start: datetime, step_s: float) -> list[datetime]:
        """Capture times for the frames, ``step_s`` apart from ``start``."""
        return [start + timedelta(seconds=step_s * i) for i in range(len(self.frames))]


def _bgr(name: str) -> np.ndarray:
    return cv2.imread(str(EXAMPLES / name), cv2.IMREAD_COLOR)


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def camera(frame: np.ndarray, seed: int) -> bytes:
    """What the camera hands over for this scene: exposure and white-balance drift, a pixel of
    shake, sensor noise, JPEG quality 88."""
    rng = np.random.default_rng(seed)
    gain = rng.uniform(0.95, 1.05) * rng.uniform(0.98, 1.02, size=3)  # exposure x per-channel balance
    shaken = np.roll(frame, shift=(int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), axis=(0, 1))
    out = shaken.astype(np.float32) * gain + rng.normal(0, 3.0, frame.shape)
    return cv2.imencode(".jpg", out.clip(0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes()


def _blend(frame: np.ndarray, patch: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Paste ``patch`` with its alpha (0..1, H x W) at (x, y), in place; clipped to the frame."""
    h, w = patch.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    p = patch[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (p * a + region * (1 - a)).clip(0, 255).astype(np.uint8)


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


# --- a parked car -------------------------------------------------------------------------------

STREET_SIZE = (800, 600)
CAR_SCALE = 0.55
# The car's ground point lands near (0.5, 0.95); this no-parking zone covers the middle of the street.
STREET_ZONE = [[0.3, 0.72], [0.7, 0.72], [0.7, 1.0], [0.3, 1.0]]
PARKED_PLATE = "粤B12345"
PASSING_PLATES = ["京A88C17", "苏E3M520", "浙A6K271", "沪C55T09", "鲁B2H468", "川A7Q113"]


@cache
def _street() -> np.ndarray:
    return cv2.resize(_bgr("leuven-street.jpg"), STREET_SIZE, interpolation=cv2.INTER_CUBIC)


@cache
def _car(plate: str) -> tuple[np.ndarray, np.ndarray]:
    """The real car's rear with ``plate`` on it, scaled, with a soft elliptical alpha (the photo's
    own background fades into the street)."""
    car = _scaled(_decode(car_with_plate(plate)), CAR_SCALE)
    h, w = car.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, h // 2), (w // 2, int(h * 0.52)), 0, 0, 360, 1.0, -1)
    return car, cv2.GaussianBlur(alpha, (0, 0), 8)


def _street_with_car(plate: str, centre_x: int, seed: int) -> np.ndarray:
    frame = _street().copy()
    car, alpha = _car(plate)
    jitter = np.random.default_rng(seed).integers(-2, 3, size=2)
    _blend(frame, car, alpha, centre_x - car.shape[1] // 2 + int(jitter[0]),
           STREET_SIZE[1] - 10 - car.shape[0] + int(jitter[1]))
    return frame


def parked_car_frames(n: int = 8, *, leaves_after: int | None = None, seed: int = 100) -> FrameSequence:
    """A car (plate 粤B12345) parked in :data:`STREET_ZONE` for the first ``leaves_after`` frames
    (default: all ``n``), then the empty street. The detector sees a car (score ≈ 0.7) and the plate
    reader reads the plate in every frame with the car."""
    stay = n if leaves_after is None else leaves_after
    frames, present = [], []
    for i in range(n):
        scene = _street_with_car(PARKED_PLATE, STREET_SIZE[0] // 2, seed + i) if i < stay else _street()
        frames.append(camera(scene, seed + i))
        present.append(i < stay)
    return FrameSequence(frames, STREET_ZONE, present, STREET_SIZE, plate="粤B12345",
                         notes="one car parked in the zone, then the street is empty")


def passing_traffic_frames(n: int = 8, *, seed: int = 200) -> FrameSequence:
    """Nothing lingers: every even frame shows a different car (another plate) somewhere in the
    zone, every odd frame the empty street, so no car is in two frames."""
    frames, present = [], []
    for i in range(n):
        if i % 2 == 0:
            plate = PASSING_PLATES[(i // 2) % len(PASSING_PLATES)]
            scene = _street_with_car(plate, STREET_SIZE[0] // 2 + (-50, 40, -20, 60)[(i // 2) % 4], seed + i)
        else:
            scene = _street()
        frames.append(camera(scene, seed + i))
        present.append(i % 2 == 0)
    return FrameSequence(frames, STREET_ZONE, present, STREET_SIZE,
                         notes="cars pass through the zone, each seen in one frame only")


# --- people lingering on a lawn -----------------------------------------------------------------

# crowd.jpg (768 x 576): the lawn in the lower left, where nobody stands in the photo.
LAWN_ZONE = [[0.0, 0.6], [0.5, 0.6], [0.5, 1.0], [0.0, 1.0]]
# Pedestrians of crowd.jpg (x1, y1, x2, y2), cut out with GrabCut.
PEOPLE_BOXES = [(343, 194, 386, 279), (373, 173, 413, 260), (585, 151, 622, 238), (489, 145, 544, 224)]
PEOPLE_SCALE = 1.4  # the lawn is nearer the camera than the path they walk on
LAWN_SPOTS = [(90, 380), (170, 370), (250, 400), (40, 430)]  # top-left corners on the lawn


@cache
def _person(index: int) -> tuple[np.ndarray, np.ndarray]:
    """One pedestrian of crowd.jpg with an alpha matte from GrabCut, scaled to stand on the lawn."""
    x1, y1, x2, y2 = PEOPLE_BOXES[index]
    pad = 6
    region = _bgr("crowd.jpg")[y1 - pad:y2 + pad, x1 - pad:x2 + pad].copy()
    mask = np.zeros(region.shape[:2], np.uint8)
    cv2.setRNGSeed(index)
    cv2.grabCut(region, mask, (pad - 2, pad - 2, x2 - x1 + 4, y2 - y1 + 4), np.zeros((1, 65)), np.zeros((1, 65)),
                8, cv2.GC_INIT_WITH_RECT)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    keep = np.isin(labels, [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] > 60]).astype(np.float32)
    size = (round(region.shape[1] * PEOPLE_SCALE), round(region.shape[0] * PEOPLE_SCALE))
    alpha = cv2.resize(cv2.GaussianBlur(keep, (0, 0), 0.8), size, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(region, size, interpolation=cv2.INTER_CUBIC), alpha


def _lawn_with_people(placed: list[tuple[int, int, int]]) -> np.ndarray:
    """crowd.jpg with people (index, x, y) added on the lawn."""
    frame = _bgr("crowd.jpg")
    for index, x, y in placed:
        person, alpha = _person(index)
        _blend(frame, person, alpha, x, y)
    return frame


def lingering_people_frames(n: int = 6, *, leaves_after: int | None = None, seed: int = 300) -> FrameSequence:
    """Four people stand about on the lawn (:data:`LAWN_ZONE`) for the first ``leaves_after`` frames
    (default all), each drifting a few pixels from frame to frame, then the lawn is empty again.
    The pedestrians of the original photo stay on the path, outside the zone."""
    stay = n if leaves_after is None else leaves_after
    rng = np.random.default_rng(seed)
    offsets = np.zeros((len(LAWN_SPOTS), 2))
    frames, present = [], []
    for i in range(n):
        offsets = (offsets + rng.integers(-8, 9, size=offsets.shape)).clip(-30, 30)
        placed = [(k, x + int(dx), y + int(dy)) for k, ((x, y), (dx, dy)) in enumerate(zip(LAWN_SPOTS, offsets,
                                                                                            strict=True))]
        scene = _lawn_with_people(placed if i < stay else [])
        frames.append(camera(scene, seed + i))
        present.append(i < stay)
    return FrameSequence(frames, LAWN_ZONE, present, (768, 576),
                         notes="four people stay on the lawn, drifting slowly, then leave")


def passers_by_frames(n: int = 6, *, seed: int = 400) -> FrameSequence:
    """Nothing lingers: every even frame one person crosses the lawn at a different place, every
    odd frame the lawn is empty."""
    frames, present = [], []
    for i in range(n):
        if i % 2 == 0:
            x, y = LAWN_SPOTS[(i // 2) % len(LAWN_SPOTS)]
            scene = _lawn_with_people([((i // 2) % len(PEOPLE_BOXES), x, y)])
        else:
            scene = _lawn_with_people([])
        frames.append(camera(scene, seed + i))
        present.append(i % 2 == 0)
    return FrameSequence(frames, LAWN_ZONE, present, (768, 576),
                         notes="one person at a time crosses the lawn, never seen twice")


# --- a site that changes over time --------------------------------------------------------------

# aerial-town.jpg (640 x 480): the green field left of the treatment plant.
FIELD_ZONE = [[0.2, 0.69], [0.4, 0.69], [0.4, 0.82], [0.2, 0.82]]
DUMP_CENTRE = (190, 362)


@cache
def _rubble() -> np.ndarray:
    """Texture of dumped spoil: the cobbles of leuven-street.jpg shrunk, desaturated and browned."""
    cobbles = _bgr("leuven-street.jpg")[380:480, 0:640]
    small = cv2.resize(cobbles, (320, 50), interpolation=cv2.INTER_AREA)
    tile = np.tile(small, (4, 1, 1))[:160, :160].astype(np.float32)
    grey = tile.mean(axis=2, keepdims=True)
    return (grey * np.array([0.78, 0.92, 1.05]) + 40).clip(0, 255)  # BGR: light brownish grey, like bare earth


def _heap(frame: np.ndarray, radius: float, seed: int) -> None:
    """An irregular heap of ``radius`` pixels (wider than tall, as seen from above at a slant),
    lit from the upper left, in place."""
    rng = np.random.default_rng(seed)
    size = 160
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - size / 2
    angle = np.arctan2(yy, xx)
    wobble = 1 + 0.12 * np.sin(3 * angle + rng.uniform(0, 6.28)) + 0.08 * np.sin(5 * angle + rng.uniform(0, 6.28))
    r = np.hypot(xx, yy * 1.6) / (radius * wobble)
    alpha = cv2.GaussianBlur((r <= 1).astype(np.float32), (0, 0), 1.2)
    shade = 1.1 - 0.35 * ((xx + yy) / (radius * 2.0)).clip(-1, 1) - 0.2 * r.clip(0, 1)
    patch = _rubble() * shade[..., None]
    _blend(frame, patch, alpha, DUMP_CENTRE[0] - size // 2, DUMP_CENTRE[1] - size // 2)


def growing_dump_frames(n: int = 6, *, start: int = 1, stop_after: int | None = None, seed: int = 500) -> FrameSequence:
    """Frames ``0 .. start-1`` show the untouched field (:data:`FIELD_ZONE`); from ``start`` on a
    heap of dumped material grows there frame by frame (radius 14 px, then +6 px per frame) until
    frame ``stop_after`` (default: it never stops), after which it keeps its size."""
    frames, present = [], []
    last = n if stop_after is None else stop_after
    for i in range(n):
        scene = _bgr("aerial-town.jpg")
        if i >= start:
            _heap(scene, 14 + 6 * (min(i, last) - start), seed)
        frames.append(camera(scene, seed + i))
        present.append(i >= start)
    return FrameSequence(frames, FIELD_ZONE, present, (640, 480),
                         notes="a heap of dumped material grows on the field")


def quiet_site_frames(n: int = 6, *, seed: int = 600) -> FrameSequence:
    """The same field with nothing happening: only exposure, white balance, shake and noise change."""
    frames = [camera(_bgr("aerial-town.jpg"), seed + i) for i in range(n)]
    return FrameSequence(frames, FIELD_ZONE, [False] * n, (640, 480), notes="nothing changes on the field")



# --- an object left behind ----------------------------------------------------------------------

# The example photos hold no bag, backpack or suitcase the detector recognises (NanoDet scores a
# drawn suitcase below 0.2), so the object left behind is the car, smaller and further up the street,
# with two pedestrians of crowd.jpg standing next to it while it is attended.
LEFT_OBJECT_ZONE = [[0.15, 0.8], [0.7, 0.8], [0.7, 1.0], [0.15, 1.0]]
LEFT_CAR_SCALE = 0.65  # of the parked car: the car is about 225 px wide, the people about 180 px tall
LEFT_CENTRE_X, LEFT_GROUND_Y = 330, 590
OWNER_SCALE = 2.4  # of the crowd.jpg cut-outs


def _street_with_left_car(attended: bool, seed: int) -> np.ndarray:
    frame = _street().copy()
    car, alpha = _car(PARKED_PLATE)
    car = _scaled(car, LEFT_CAR_SCALE)
    alpha = cv2.resize(alpha, (car.shape[1], car.shape[0]))
    jitter = np.random.default_rng(seed).integers(-2, 3, size=2)
    _blend(frame, car, alpha, LEFT_CENTRE_X - car.shape[1] // 2 + int(jitter[0]),
           LEFT_GROUND_Y - car.shape[0] + int(jitter[1]))
    if attended:
        for k in (0, 1):
            person, person_alpha = _person(k)
            scale = OWNER_SCALE / PEOPLE_SCALE
            person = _scaled(person, scale)
            person_alpha = cv2.resize(person_alpha, (person.shape[1], person.shape[0]))
            _blend(frame, person, person_alpha, LEFT_CENTRE_X + car.shape[1] // 2 + 10 + 90 * k,
                   LEFT_GROUND_Y - 8 - person.shape[0])
    return frame


def left_object_frames(states: list[str], *, seed: int = 700) -> FrameSequence:
    """One frame per state: ``"attended"`` (the car in :data:`LEFT_OBJECT_ZONE` with two people
    standing beside it, about 1.5 m away), ``"alone"`` (the car, nobody near) or ``"gone"`` (the
    empty street)."""
    frames, present = [], []
    for i, state in enumerate(states):
        if state not in ("attended", "alone", "gone"):
            raise ValueError(f"unknown state {state!r}")
        scene = _street() if state == "gone" else _street_with_left_car(state == "attended", seed + i)
        frames.append(camera(scene, seed + i))
        present.append(state != "gone")
    return FrameSequence(frames, LEFT_OBJECT_ZONE, present, STREET_SIZE, extra={"states": list(states)},
                         notes="an object left in the zone, first with people beside it, then alone")
