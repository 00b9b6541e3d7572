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
import time
from pathlib import Path

import numpy as np

try:  # only present inside Triton's python backend stub
    import triton_python_backend_utils as pb_utils
except ImportError:  # unit tests import the pure functions
    pb_utils = None

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


def _param(model_config: dict, key: str, default: str) -> str:
    return model_config.get("parameters", {}).get(key, {}).get("string_value", default)


def decode_image(raw: bytes) -> np.ndarray:
    import cv2

    buf = np.frombuffer(raw, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if image is None:
        raise ValueError(f"IMAGE is not a decodable image ({len(raw)} bytes)")
    return image


class TritonPythonModel:
    def initialize(self, args):
        import cv2
        import onnxruntime as ort

        config = json.loads(args["model_config"])
        cv2.setNumThreads(int(_param(config, "cv2_num_threads", "1")))
        self.min_score = float(_param(config, "min_person_score", "0.1"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(_param(config, "intra_op_num_threads", "2"))
        options.inter_op_num_threads = 1
        # ONNX Runtime's pool threads spin-wait for work by default: on cores shared with the platform
        # (and with other models) that burns CPU the others need. config.pbtxt parameter allow_spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", _param(config, "allow_spinning", "0"))
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        weights = Path(args["model_repository"]) / args["model_version"] / "movenet_multipose.onnx"
        self.session = ort.InferenceSession(str(weights), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.session.run(None, {self.input_name: np.zeros((1, 480, 640, 3), dtype=np.int32)})  # warm up

    def _respond(self, request) -> list:
        raw = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
        if raw.size != 1:
            raise ValueError(f"send one image per request (got {raw.size}); Triton batches requests")
        value = raw.reshape(-1)[0]
        image = decode_image(value if isinstance(value, bytes) else bytes(value))
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
        responses = []
        for request in requests:
            started = time.perf_counter()
            try:
                tensors = self._respond(request)
            except ValueError as exc:
                error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            except Exception as exc:  # noqa: BLE001 - one bad request must not fail the whole batch
                error = pb_utils.TritonError(f"pose failed: {exc!r}")
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            compute_ms = np.array([[(time.perf_counter() - started) * 1000.0]], dtype=np.float32)
            tensors.append(pb_utils.Tensor("COMPUTE_MS", compute_ms))
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
