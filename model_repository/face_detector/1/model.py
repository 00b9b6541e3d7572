"""Faces for privacy masking: OpenCV's Haar cascades (frontal, plus profile both ways) on Triton.

Why Haar and not a network: it is the only permissively licensed face detector whose weights ship
inside a package already in the model environment (opencv-python-headless 4.11, `cv2.data`); the
YuNet packages on PyPI download their weights at run time, and MediaPipe's wheel drags in a second
OpenCV and protobuf < 5. Haar finds upright frontal faces well and profiles less well, and misses
faces turned further or smaller than `min_size`; masking callers should treat it as best effort.

SCORES are the logistic of the cascade's last-stage sum (OpenCV's level weight): monotone in the
cascade's confidence, good for ranking and thresholds, not a calibrated probability.
COMPUTE_MS is measured inside execute() around this request's decode and detection.
"""

import json
import sys
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import nms, param, pb_utils, request_image, respond_each

MERGE_IOU = 0.3


class TritonPythonModel:
    def initialize(self, args):
        import cv2

        config = json.loads(args["model_config"])
        cv2.setNumThreads(int(param(config, "cv2_num_threads", "1")))
        self.scale_factor = float(param(config, "scale_factor", "1.1"))
        self.min_neighbors = int(param(config, "min_neighbors", "5"))
        self.min_size = int(param(config, "min_size", "20"))
        self.max_side = int(param(config, "max_side", "960"))
        self.use_profile = param(config, "use_profile", "true").lower() == "true"
        folder = cv2.data.haarcascades
        self.frontal = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
        self.profile = cv2.CascadeClassifier(folder + "haarcascade_profileface.xml")
        if self.frontal.empty() or self.profile.empty():
            raise RuntimeError(f"Haar cascades missing under {folder}")

    def _cascade(self, cascade, gray: np.ndarray, mirrored: bool) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        image = cv2.flip(gray, 1) if mirrored else gray
        rects, _, weights = cascade.detectMultiScale3(
            image, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size), outputRejectLevels=True,
        )
        if len(rects) == 0:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        rects = np.asarray(rects, dtype=np.float32).reshape(-1, 4)
        boxes = np.stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2], rects[:, 1] + rects[:, 3]], axis=1)
        if mirrored:
            width = gray.shape[1]
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, dtype=np.float32).reshape(-1)))
        return boxes, scores

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        if scale < 1.0:
            image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        found = [self._cascade(self.frontal, gray, mirrored=False)]
        if self.use_profile:  # the profile cascade knows one side only: run it on the mirror too
            found += [self._cascade(self.profile, gray, mirrored=m) for m in (False, True)]
        boxes = np.concatenate([b for b, _ in found])
        scores = np.concatenate([s for _, s in found])
        if len(boxes):
            keep = nms(boxes, scores, MERGE_IOU)
            boxes, scores = boxes[keep] / scale, scores[keep]
            boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
            boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        return boxes.astype(np.float32), scores.astype(np.float32)

    def _respond(self, request) -> list:
        boxes, scores = self.detect(request_image(request))
        return [pb_utils.Tensor("BOXES", boxes[np.newaxis]), pb_utils.Tensor("SCORES", scores[np.newaxis])]

    def execute(self, requests):
        return respond_each(requests, self._respond, "face detector")
