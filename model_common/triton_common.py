# Part of CityAI. Copyright the CityAI contributors.
# Licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0
"""What the python-backend models of ../model_repository share: config parameters, the one image of
a request, greedy NMS, bounded ONNX Runtime sessions, error responses and the per-request execute loop.

Why here and not in the model repository: Triton takes every folder of a repository for a model, and
with `--load-model=*` (docker-compose.yml) a folder without a config.pbtxt — a shared package, or the
`__pycache__` Python writes beside a module at the repository's top — stops the server from starting.
Why not PYTHONPATH: the 2.51 python backend stub runs Python in isolated mode and ignores it. So each
model.py puts this folder on sys.path relative to its own file, `<repository>/../model_common`; the
local server serves model_repository/ in place, and docker-compose.yml mounts this folder next to
/models (see model_repository/README.md).

No hard Triton dependency: `pb_utils` is None outside the stub, so the project's tests import the models'
pure functions (and these) in their own interpreter.
"""

import time

import numpy as np

try:  # only present inside Triton's python backend stub
    import triton_python_backend_utils as pb_utils
except ImportError:  # unit tests import the pure functions
    pb_utils = None


def param(model_config: dict, key: str, default: str) -> str:
    """A `parameters { key: ... value: { string_value: ... } }` entry of config.pbtxt, or `default`."""
    return model_config.get("parameters", {}).get(key, {}).get("string_value", default)


def decode_image(raw: bytes, name: str = "IMAGE") -> np.ndarray:
    """Encoded JPEG/PNG/... bytes -> BGR array, or a ValueError the client can read (naming `name`)."""
    import cv2

    buf = np.frombuffer(raw, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if image is None:
        subject = f"{name} is " if name else ""
        raise ValueError(f"{subject}not a decodable image ({len(raw)} bytes)")
    return image


def request_image(request) -> np.ndarray:
    """The one encoded image of a request's IMAGE input, decoded (BGR)."""
    raw = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
    if raw.size != 1:
        raise ValueError(f"send one image per request (got {raw.size}); Triton batches requests")
    value = raw.reshape(-1)[0]
    return decode_image(value if isinstance(value, bytes) else bytes(value))


def text_value(value, name: str = "TEXT") -> str:
    """One element of a BYTES tensor as text, or a ValueError naming `name` when it is not UTF-8."""
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not valid UTF-8") from None


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS over [N,4] x1,y1,x2,y2 (one class); returns kept indices, best first."""
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def onnx_session(path, model_config: dict, default_threads: str = "2"):
    """An ONNX Runtime CPU session with bounded threads: config.pbtxt's intra_op_num_threads (else
    `default_threads`), one inter-op thread, sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(param(model_config, "intra_op_num_threads", default_threads))
    options.inter_op_num_threads = 1
    # ONNX Runtime's pool threads spin-wait for work by default: on cores shared with the platform
    # (and with other models) that burns CPU the others need. config.pbtxt parameter allow_spinning.
    options.add_session_config_entry("session.intra_op.allow_spinning", param(model_config, "allow_spinning", "0"))
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def invalid_response(exc: Exception):
    """The client's fault: INVALID_ARG with the message as it stands (clients do not retry it)."""
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG))


def failed_response(what: str, exc: Exception):
    """Our fault (Triton's INTERNAL): "<what> failed: <the exception>"."""
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{what} failed: {exc!r}"))


def compute_ms(started: float) -> np.ndarray:
    """COMPUTE_MS of one request ([1, 1] FP32): milliseconds since `started` (time.perf_counter())."""
    return np.array([[(time.perf_counter() - started) * 1000.0]], dtype=np.float32)


def respond_each(requests, respond, what: str, invalid: tuple[type[Exception], ...] = (ValueError,)) -> list:
    """execute() for models that answer each request on its own: `respond(request)` returns its output
    tensors, and COMPUTE_MS, measured around it, is added last.

    An `invalid` exception is the client's (INVALID_ARG); any other fails that request only, as
    "<what> failed: …": one bad request must not fail the others of its dynamic batch.
    """
    responses = []
    for request in requests:
        started = time.perf_counter()
        try:
            tensors = respond(request)
        except invalid as exc:
            responses.append(invalid_response(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad request must not fail the whole batch
            responses.append(failed_response(what, exc))
            continue
        tensors.append(pb_utils.Tensor("COMPUTE_MS", compute_ms(started)))
        responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
    return responses
