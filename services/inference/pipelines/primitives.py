"""One adapter per shared Triton model: tensors in and out, plain Python values for the rules."""

from dataclasses import dataclass
from functools import cache

import numpy as np
from django.conf import settings

from services.inference.pipelines import Context


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels

    def as_dict(self) -> dict:
        return {"label": self.label, "score": round(self.score, 4), "box": [round(v, 1) for v in self.box]}


@dataclass(frozen=True)
class TextSegment:
    text: str
    score: float
    quad: tuple[float, ...]  # four corners x1, y1, ..., x4, y4 in image pixels

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs, ys = self.quad[0::2], self.quad[1::2]
        return min(xs), min(ys), max(xs), max(ys)


@cache
def coco_labels() -> tuple[str, ...]:
    path = settings.TRITON_MODEL_REPOSITORY / "object_detector" / "labels.txt"
    return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _image_tensor(content: bytes) -> np.ndarray:
    return np.array([[content]], dtype=object)


def detect_objects(ctx: Context, content: bytes, *, min_score: float) -> list[Detection]:
    """COCO objects from the shared NanoDet detector."""
    out = ctx.infer(
        "object_detector",
        {"IMAGE": _image_tensor(content), "SCORE_THRESHOLD": np.array([[min_score]], dtype=np.float32)},
        ["DETECTIONS"],
    )
    labels = coco_labels()
    rows = out["DETECTIONS"].reshape(-1, 6)
    return [
        Detection(labels[int(cls)], float(score), (float(x1), float(y1), float(x2), float(y2)))
        for x1, y1, x2, y2, score, cls in rows
    ]


def read_text(ctx: Context, content: bytes) -> list[TextSegment]:
    """Text segments (not lines) from the shared PP-OCR engine."""
    out = ctx.infer("ocr", {"IMAGE": _image_tensor(content)}, ["TEXT", "BOXES", "SCORES"])
    texts = out["TEXT"].reshape(-1)
    boxes = out["BOXES"].reshape(-1, 8)
    scores = out["SCORES"].reshape(-1)
    return [
        TextSegment(t.decode("utf-8") if isinstance(t, bytes) else str(t), float(s), tuple(float(v) for v in b))
        for t, b, s in zip(texts, boxes, scores, strict=True)
    ]


# --- text and signal models: text_encoder, text_ner, signal_analytics ---------------------------

ENCODER_MAX_BATCH = 64  # text_encoder's max_batch_size


def _bytes_tensor(values: list[str]) -> np.ndarray:
    return np.array([[v.encode("utf-8")] for v in values], dtype=object)


def embed_texts(ctx: Context, texts: list[str]) -> np.ndarray:
    """L2-normalised sentence embeddings [n, 512] (USE-multilingual v3); cosine = dot product.
    Many texts go in requests of up to the model's batch size, each embedded in one forward pass."""
    chunks = [
        ctx.infer("text_encoder", {"TEXT": _bytes_tensor(texts[i : i + ENCODER_MAX_BATCH])}, ["EMBEDDING"])["EMBEDDING"]
        for i in range(0, len(texts), ENCODER_MAX_BATCH)
    ]
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, 512), dtype=np.float32)


def tag_words(ctx: Context, text: str) -> list[tuple[str, str]]:
    """(word, tag) pairs from Baidu LAC: tags PER, LOC, ORG, TIME for entities, else part of speech."""
    out = ctx.infer("text_ner", {"TEXT": _bytes_tensor([text])}, ["WORDS", "TAGS"])
    words = [w.decode("utf-8") if isinstance(w, bytes) else str(w) for w in out["WORDS"].reshape(-1)]
    tags = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in out["TAGS"].reshape(-1)]
    return list(zip(words, tags, strict=True))


def analyze_signal(
    ctx: Context, op: str, values: np.ndarray, channels: list[str], params: dict | None = None
) -> dict:
    """Run one signal_analytics operation on a [rows, channels] matrix (NaN = missing) and return
    its JSON result; see model_repository/signal_analytics/config.pbtxt for the operations."""
    import json

    matrix = np.asarray(values, dtype=np.float32)
    out = ctx.infer(
        "signal_analytics",
        {
            "OP": _bytes_tensor([op]),
            "VALUES": matrix[np.newaxis],
            "CHANNELS": np.array([[c.encode("utf-8") for c in channels]], dtype=object),
            "PARAMS_JSON": _bytes_tensor([json.dumps(params or {}, ensure_ascii=False)]),
        },
        ["RESULT_JSON"],
    )
    raw = out["RESULT_JSON"].reshape(-1)[0]
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)


# --- vision models: plate_reader, face_detector, pose_estimator ----------------------------------

def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def normalize_plate(text: str) -> str:
    """Plate strings compare without separators, spaces, width or case: '粤B·12345' == '粤ｂ 12345'."""
    import unicodedata

    return "".join(ch for ch in unicodedata.normalize("NFKC", text).upper() if ch.isalnum())


@dataclass(frozen=True)
class PlateRead:
    text: str  # as read, no separators, e.g. 浙AD8K26
    score: float  # detection score x mean character confidence
    corners: tuple[float, ...]  # x1, y1, ..., x4, y4: top-left, top-right, bottom-right, bottom-left
    colour: str  # plate background from its hue: blue, yellow, green, white, black

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs, ys = self.corners[0::2], self.corners[1::2]
        return min(xs), min(ys), max(xs), max(ys)

    @property
    def centre(self) -> tuple[float, float]:
        return sum(self.corners[0::2]) / 4.0, sum(self.corners[1::2]) / 4.0

    @property
    def normalized(self) -> str:
        return normalize_plate(self.text)


def read_plates(ctx: Context, content: bytes) -> list[PlateRead]:
    """Chinese plates (detected by their four corners, straightened, read) from the shared plate reader."""
    out = ctx.infer("plate_reader", {"IMAGE": _image_tensor(content)}, ["PLATES", "BOXES", "SCORES", "COLORS"])
    texts = out["PLATES"].reshape(-1)
    corners = out["BOXES"].reshape(-1, 8)
    scores = out["SCORES"].reshape(-1)
    colours = out["COLORS"].reshape(-1)
    return [
        PlateRead(_text(t), float(s), tuple(float(v) for v in c), _text(colour))
        for t, c, s, colour in zip(texts, corners, scores, colours, strict=True)
    ]


def detect_faces(ctx: Context, content: bytes, *, min_score: float = 0.0) -> list[Detection]:
    """Faces (OpenCV Haar cascades, frontal and profile) from the shared face detector."""
    out = ctx.infer("face_detector", {"IMAGE": _image_tensor(content)}, ["BOXES", "SCORES"])
    boxes = out["BOXES"].reshape(-1, 4)
    scores = out["SCORES"].reshape(-1)
    return [
        Detection("face", float(s), (float(x1), float(y1), float(x2), float(y2)))
        for (x1, y1, x2, y2), s in zip(boxes, scores, strict=True)
        if s >= min_score
    ]


# COCO keypoint order of MoveNet
KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)


@dataclass(frozen=True)
class Pose:
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels
    keypoints: tuple[tuple[float, float, float], ...]  # 17 x (x, y, score), KEYPOINT_NAMES order


def pose_input_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """MoveNet input (H, W) for an image: the long side given, the short side following the image's
    aspect, both multiples of 32 (the model letterboxes the image into it)."""
    short = max(32, -(-round(long_side * min(height, width) / max(height, width)) // 32) * 32)
    return (short, long_side) if width >= height else (long_side, short)


def estimate_poses(
    ctx: Context, content: bytes, *, input_size: tuple[int, int] | None = None, min_score: float = 0.0
) -> list[Pose]:
    """People with 17 keypoints each (MoveNet MultiPose, up to 6) from the shared pose estimator."""
    inputs = {"IMAGE": _image_tensor(content)}
    if input_size is not None:
        inputs["INPUT_SIZE"] = np.array([list(input_size)], dtype=np.int32)
    out = ctx.infer("pose_estimator", inputs, ["KEYPOINTS", "BOXES", "SCORES"])
    keypoints = out["KEYPOINTS"].reshape(-1, 17, 3)
    boxes = out["BOXES"].reshape(-1, 4)
    scores = out["SCORES"].reshape(-1)
    return [
        Pose(float(s), tuple(float(v) for v in b), tuple((float(x), float(y), float(c)) for x, y, c in k))
        for k, b, s in zip(keypoints, boxes, scores, strict=True)
        if s >= min_score
    ]


# --- image_analytics: classical indices (Ringelmann, dark-channel haze, flame colour, water colour,
# change against a reference, brightness); names come from the model's labels.txt, not positions.


@dataclass(frozen=True)
class IndexEvidence:
    kind: str  # the index the region supports, e.g. "fire_fraction", "change_fraction"
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels
    strength: float

    def as_dict(self) -> dict:
        return {"kind": self.kind, "box": [round(v, 1) for v in self.box], "strength": round(self.strength, 4)}


@dataclass(frozen=True)
class ImageIndices:
    values: dict[str, float | None]  # None where the index does not apply (e.g. change without a reference)
    evidence: tuple[IndexEvidence, ...]

    def evidence_for(self, kind: str) -> list[IndexEvidence]:
        return [e for e in self.evidence if e.kind == kind]


@cache
def image_index_names() -> tuple[str, ...]:
    path = settings.TRITON_MODEL_REPOSITORY / "image_analytics" / "labels.txt"
    return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def image_indices(
    ctx: Context, content: bytes, *, want: list[str], reference: bytes | None = None, roi: list | None = None
) -> ImageIndices:
    """The wanted classical indices of one image inside an optional ROI polygon (0..1 coordinates),
    and against a reference frame of the same view when one is given. Only the methods behind the
    wanted indices run (the others come back None), so a scenario pays for what it checks."""
    inputs = {"IMAGE": _image_tensor(content), "WANT": np.array([[name.encode() for name in want]], dtype=object)}
    if reference is not None:
        inputs["REFERENCE"] = _image_tensor(reference)
    if roi is not None:
        inputs["ROI"] = np.asarray(roi, dtype=np.float32).reshape(1, -1, 2)
    out = ctx.infer("image_analytics", inputs, ["INDICES", "BOXES"])
    names = image_index_names()
    vector = out["INDICES"].reshape(-1)
    values = {name: (float(v) if np.isfinite(v) else None) for name, v in zip(names, vector, strict=True)}
    evidence = tuple(
        IndexEvidence(names[int(kind)], (float(x1), float(y1), float(x2), float(y2)), float(strength))
        for x1, y1, x2, y2, kind, strength in out["BOXES"].reshape(-1, 6)
    )
    return ImageIndices(values, evidence)
