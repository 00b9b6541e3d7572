"""Chinese/English OCR (rapidocr 3.10.0, PP-OCR det/cls/rec ONNX) on Triton's python backend.

Why rapidocr inside Triton rather than three ONNX models in an ensemble: the glue between the three
networks (box unclipping, perspective crops, rotation, CTC decoding) is rapidocr's tested Python code;
re-implementing it in an ensemble would be a second, untested copy.

COMPUTE_MS is measured here, around decode + OCR of this one request, because Triton reports no
per-request timing in a response and a statistics delta is racy when requests run concurrently.
It excludes the time a request waits in Triton's queue or behind earlier requests of its batch.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np

# The helpers every model shares live in model_common/ beside this repository (model_repository/README.md).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "model_common"))
from triton_common import param, pb_utils, request_image, respond_each


class TritonPythonModel:
    def initialize(self, args):
        from rapidocr import RapidOCR

        config = json.loads(args["model_config"])
        threads = int(param(config, "intra_op_num_threads", "2"))
        cv2.setNumThreads(int(param(config, "cv2_num_threads", "1")))
        self.engine = RapidOCR(
            params={
                "Global.log_level": "warning",
                "Det.box_thresh": float(param(config, "det_box_thresh", "0.3")),
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
        result = self.engine(request_image(request))
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
        return respond_each(requests, self._read, "ocr")
