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
