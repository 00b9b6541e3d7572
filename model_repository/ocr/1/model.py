"""Chinese/English OCR (rapidocr 3.10.0, PP-OCR det/cls/rec ONNX) on Triton's python backend.

Why rapidocr inside Triton rather than three ONNX models in an ensemble: the glue between the three
networks (box unclipping, perspective crops, rotation, CTC decoding) is rapidocr's tested Python code;
re-implementing it in an ensemble would be a second, untested copy.

COMPUTE_MS is measured here, around decode + OCR of this one request, because Triton reports no
per-request timing in a response and a statistics delta is racy when requests run concurrently.
It excludes the time a request waits in Triton's queue or behind earlier requests of its batch.
"""

import json
import time

import cv2
import numpy as np
import triton_python_backend_utils as pb_utils


def _param(model_config: dict, key: str, default: str) -> str:
    return model_config.get("parameters", {}).get(key, {}).get("string_value", default)


def decode_image(raw: bytes) -> np.ndarray:
    """Encoded JPEG/PNG/... bytes -> BGR array, or ValueError the client can read."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if image is None:
        raise ValueError(f"IMAGE is not a decodable image ({len(raw)} bytes)")
    return image


class TritonPythonModel:
    def initialize(self, args):
        from rapidocr import RapidOCR

        config = json.loads(args["model_config"])
        threads = int(_param(config, "intra_op_num_threads", "2"))
        cv2.setNumThreads(int(_param(config, "cv2_num_threads", "1")))
        self.engine = RapidOCR(
            params={
                "Global.log_level": "warning",
                "Det.box_thresh": float(_param(config, "det_box_thresh", "0.3")),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        # rapidocr loads its three networks lazily; read a drawn word now so the first real
        # request does not pay for session creation.
        warm = np.full((64, 256, 3), 255, dtype=np.uint8)
        cv2.putText(warm, "CityAI 123", (8, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
        self.engine(warm)

    def _read(self, request) -> list:
        raw = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
        if raw.size != 1:
            raise ValueError(f"send one image per request (got {raw.size}); Triton batches requests")
        value = raw.reshape(-1)[0]
        image = decode_image(value if isinstance(value, bytes) else bytes(value))
        result = self.engine(image)
        if result.txts:
            texts = [t.encode("utf-8") for t in result.txts]
            boxes = np.asarray(result.boxes, dtype=np.float32).reshape(len(texts), 8)
            scores = np.asarray(result.scores, dtype=np.float32)
        else:
            texts = []
            boxes = np.zeros((0, 8), dtype=np.float32)
            scores = np.zeros((0,), dtype=np.float32)
        return [
            pb_utils.Tensor("TEXT", np.array(texts, dtype=object).reshape(1, -1)),
            pb_utils.Tensor("BOXES", boxes[np.newaxis]),
            pb_utils.Tensor("SCORES", scores[np.newaxis]),
        ]

    def execute(self, requests):
        responses = []
        for request in requests:
            started = time.perf_counter()
            try:
                tensors = self._read(request)
            except ValueError as exc:
                error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            except Exception as exc:  # noqa: BLE001 - one bad request must not fail the whole batch
                error = pb_utils.TritonError(f"ocr failed: {exc!r}")
                responses.append(pb_utils.InferenceResponse(error=error))
                continue
            compute_ms = np.array([[(time.perf_counter() - started) * 1000.0]], dtype=np.float32)
            tensors.append(pb_utils.Tensor("COMPUTE_MS", compute_ms))
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
