"""Annotated result images: boxes, zones and labels drawn on the input, encoded as JPEG."""

from collections.abc import Sequence

import cv2
import numpy as np

from services.inference.pipelines import InputRejected

RED = (40, 40, 220)
GREEN = (60, 180, 60)
AMBER = (0, 170, 255)


def decode(content: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(content, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputRejected("the image could not be decoded")
    return image


def draw_polygon(image: np.ndarray, polygon: Sequence[tuple[float, float]], color=AMBER) -> None:
    pts = np.array([[round(x), round(y)] for x, y in polygon], dtype=np.int32)
    # Blend only the polygon's bounding box, not the whole frame (the same picture, a fraction of
    # the work on a large frame with a small zone).
    height, width = image.shape[:2]
    x0, y0 = max(0, int(pts[:, 0].min())), max(0, int(pts[:, 1].min()))
    x1, y1 = min(width, int(pts[:, 0].max()) + 1), min(height, int(pts[:, 1].max()) + 1)
    if x1 > x0 and y1 > y0:
        region = image[y0:y1, x0:x1]
        overlay = region.copy()
        cv2.fillPoly(overlay, [pts - np.array([x0, y0], dtype=np.int32)], color)
        cv2.addWeighted(overlay, 0.18, region, 0.82, 0, dst=region)
    cv2.polylines(image, [pts], isClosed=True, color=color, thickness=2)


def draw_box(image: np.ndarray, box: Sequence[float], label: str, color=GREEN) -> None:
    x1, y1, x2, y2 = (round(v) for v in box[:4])
    thickness = max(2, round(min(image.shape[:2]) / 300))
    cv2.rectangle(image, (x1, y1), (x2, y2), color, thickness)
    if label:
        scale = max(0.45, min(image.shape[:2]) / 1000)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, y1 - th - base - 2)
        cv2.rectangle(image, (x1, top), (x1 + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(image, label, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
