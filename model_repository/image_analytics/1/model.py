"""Classical image analytics (Ringelmann blackness, dark-channel haze, flame colour, Forel-Ule water
colour, change against a reference, brightness) on Triton's python backend.

Why a Triton model for code without weights: the platform meters and schedules compute per request
in one place; running these methods here puts their CPU time on the same books (COMPUTE_MS) and
behind the same priority queue as the neural models. The methods themselves live in the sibling
module ``indices.py`` (no Triton dependency) so the project's tests exercise the same code.

COMPUTE_MS per request is decode + analysis of that request, measured inside execute(); Triton's
queue time is not included.
"""

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

_HERE = Path(__file__).resolve().parent
# Loaded under a unique module name: plain ``import indices`` could pick up another model's module.
_spec = importlib.util.spec_from_file_location("image_analytics_indices", _HERE / "indices.py")
indices = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(indices)


def _param(model_config: dict, key: str, default: str) -> str:
    return model_config.get("parameters", {}).get(key, {}).get("string_value", default)


def _single_bytes(request, name: str) -> bytes | None:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return None
    raw = tensor.as_numpy()
    if raw.size != 1:
        raise ValueError(f"send one {name} per request (got {raw.size})")
    value = raw.reshape(-1)[0]
    return value if isinstance(value, bytes) else bytes(value)


class TritonPythonModel:
    def initialize(self, args):
        import cv2

        config = json.loads(args["model_config"])
        cv2.setNumThreads(int(_param(config, "cv2_num_threads", "1")))
        labels = Path(args["model_repository"]) / "labels.txt"
        names = tuple(line.strip() for line in labels.read_text(encoding="utf-8").splitlines() if line.strip())
        if names != indices.INDEX_NAMES:
            raise pb_utils.TritonModelException(
                f"labels.txt {names} does not match indices.INDEX_NAMES {indices.INDEX_NAMES}"
            )
        # Warm up: OpenCV builds its colour conversion tables on first use (~90 ms).
        frame = np.full((48, 64, 3), 128, dtype=np.uint8)
        indices.analyse(frame, None, frame)

    def _run(self, request):
        image = indices.decode(_single_bytes(request, "IMAGE") or b"")
        reference_bytes = _single_bytes(request, "REFERENCE")
        reference = indices.decode(reference_bytes) if reference_bytes else None
        roi_tensor = pb_utils.get_input_tensor_by_name(request, "ROI")
        polygon = roi_tensor.as_numpy().reshape(-1, 2) if roi_tensor is not None else None
        want_tensor = pb_utils.get_input_tensor_by_name(request, "WANT")
        wanted = None
        if want_tensor is not None:
            wanted = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in want_tensor.as_numpy().reshape(-1)]
        analysis = indices.analyse(image, polygon, reference, wanted)
        return analysis.vector(), analysis.boxes()

    def execute(self, requests):
        responses = []
        for request in requests:
            started = time.perf_counter()
            try:
                vector, boxes = self._run(request)
            except ValueError as exc:
                error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            except Exception as exc:  # noqa: BLE001 - one bad request must not fail the whole batch
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"analysis failed: {exc!r}")))
                continue
            compute_ms = (time.perf_counter() - started) * 1000.0
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("INDICES", vector[np.newaxis]),
                        pb_utils.Tensor("BOXES", boxes[np.newaxis]),
                        pb_utils.Tensor("COMPUTE_MS", np.array([[compute_ms]], dtype=np.float32)),
                    ]
                )
            )
        return responses
