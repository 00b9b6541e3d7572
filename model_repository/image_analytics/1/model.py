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
import sys
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import decode_image, param, pb_utils, respond_each

_HERE = Path(__file__).resolve().parent
# Loaded under a unique module name: plain ``import indices`` could pick up another model's module.
_spec = importlib.util.spec_from_file_location("image_analytics_indices", _HERE / "indices.py")
indices = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(indices)


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
        cv2.setNumThreads(int(param(config, "cv2_num_threads", "1")))
        labels = Path(args["model_repository"]) / "labels.txt"
        names = tuple(line.strip() for line in labels.read_text(encoding="utf-8").splitlines() if line.strip())
        if names != indices.INDEX_NAMES:
            raise pb_utils.TritonModelException(
                f"labels.txt {names} does not match indices.INDEX_NAMES {indices.INDEX_NAMES}"
            )
        # Warm up: OpenCV builds its colour conversion tables on first use (~90 ms).
        frame = np.full((48, 64, 3), 128, dtype=np.uint8)
        indices.analyse(frame, None, frame)

    def _run(self, request) -> list:
        # name="": the message ("not a decodable image (N bytes)") serves IMAGE and REFERENCE alike
        image = decode_image(_single_bytes(request, "IMAGE") or b"", name="")
        reference_bytes = _single_bytes(request, "REFERENCE")
        reference = decode_image(reference_bytes, name="") if reference_bytes else None
        roi_tensor = pb_utils.get_input_tensor_by_name(request, "ROI")
        polygon = roi_tensor.as_numpy().reshape(-1, 2) if roi_tensor is not None else None
        want_tensor = pb_utils.get_input_tensor_by_name(request, "WANT")
        wanted = None
        if want_tensor is not None:
            wanted = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in want_tensor.as_numpy().reshape(-1)]
        analysis = indices.analyse(image, polygon, reference, wanted)
        return [
            pb_utils.Tensor("INDICES", analysis.vector()[np.newaxis]),
            pb_utils.Tensor("BOXES", analysis.boxes()[np.newaxis]),
        ]

    def execute(self, requests):
        return respond_each(requests, self._run, "analysis")
