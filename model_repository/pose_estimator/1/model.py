"""Multi-person pose: MoveNet MultiPose Lightning (ONNX, see ../LICENSE) on Triton's python backend.

MoveNet wants int32 RGB [1,H,W,3] with H and W multiples of 32 and returns up to 6 people, each 17
COCO keypoints (y, x, score, normalised to the input) and a box. Figure size matters: people should
fill a fair part of the input, so small CCTV figures need a large input (480 x 640) and a close-up
a small one (256 x 192). INPUT_SIZE lets the caller choose; without it the long side is 640 and the
short side follows the image's aspect (480 x 640 for a 4:3 frame). The image is scaled to fit and
padded at the bottom/right, and results are returned in original pixels.

COMPUTE_MS is measured inside execute() around this request's decode, inference and decoding.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import onnx_session, param, pb_utils, request_image, respond_each

DEFAULT_LONG_SIDE = 640
MIN_SIDE, MAX_SIDE = 64, 1024
KEYPOINTS = 17


def default_input_size(height: int, width: int, long_side: int = DEFAULT_LONG_SIDE) -> tuple[int, int]:
    """(H, W): long side `long_side`, short side the image's aspect rounded up to a multiple of 32."""
    if width >= height:
        return max(32, math.ceil(long_side * height / width / 32) * 32), long_side
    return long_side, max(32, math.ceil(long_side * width / height / 32) * 32)


def check_input_size(size: np.ndarray) -> tuple[int, int]:
    values = [int(v) for v in np.asarray(size).reshape(-1)]
    if len(values) != 2:
        raise ValueError(f"INPUT_SIZE must be two numbers (H, W), got {values}")
    height, width = values
    for side in values:
        if side % 32 or not MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(f"INPUT_SIZE sides must be multiples of 32 in {MIN_SIDE}..{MAX_SIDE}, got {values}")
    return height, width


def letterbox(image_bgr: np.ndarray, height: int, width: int) -> tuple[np.ndarray, float]:
    """BGR image -> int32 RGB [1,height,width,3], scaled to fit into the top-left corner."""
    import cv2

    h, w = image_bgr.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.zeros((height, width, 3), dtype=np.int32)
    canvas[:new_h, :new_w] = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_AREA)[:, :, ::-1]
    return canvas[np.newaxis], scale


def decode(raw: np.ndarray, height: int, width: int, scale: float, min_score: float):
    """MoveNet's [6,56] -> keypoints [K,17,3] (x, y in original pixels, score), boxes [K,4], scores [K].

    People are sorted by score, best first; those below min_score are dropped.
    """
    people = raw[raw[:, 55] >= min_score]
    people = people[np.argsort(-people[:, 55], kind="stable")]
    points = people[:, :51].reshape(-1, KEYPOINTS, 3)
    keypoints = np.stack(
        [points[:, :, 1] * width / scale, points[:, :, 0] * height / scale, points[:, :, 2]], axis=2
    )
    boxes = np.stack(
        [people[:, 52] * width, people[:, 51] * height, people[:, 54] * width, people[:, 53] * height], axis=1
    ) / scale
    return keypoints.astype(np.float32), boxes.astype(np.float32), people[:, 55].astype(np.float32)


class TritonPythonModel:
    def initialize(self, args):
        import cv2

        config = json.loads(args["model_config"])
        cv2.setNumThreads(int(param(config, "cv2_num_threads", "1")))
        self.min_score = float(param(config, "min_person_score", "0.1"))
        weights = Path(args["model_repository"]) / args["model_version"] / "movenet_multipose.onnx"
        self.session = onnx_session(weights, config)
        self.input_name = self.session.get_inputs()[0].name
        self.session.run(None, {self.input_name: np.zeros((1, 480, 640, 3), dtype=np.int32)})  # warm up

    def _respond(self, request) -> list:
        image = request_image(request)
        given = pb_utils.get_input_tensor_by_name(request, "INPUT_SIZE")
        if given is not None:
            height, width = check_input_size(given.as_numpy())
        else:
            height, width = default_input_size(*image.shape[:2])
        tensor, scale = letterbox(image, height, width)
        output = self.session.run(None, {self.input_name: tensor})[0].reshape(-1, 56)
        keypoints, boxes, scores = decode(output, height, width, scale, self.min_score)
        return [
            pb_utils.Tensor("KEYPOINTS", keypoints[np.newaxis]),
            pb_utils.Tensor("BOXES", boxes[np.newaxis]),
            pb_utils.Tensor("SCORES", scores[np.newaxis]),
        ]

    def execute(self, requests):
        return respond_each(requests, self._respond, "pose")
