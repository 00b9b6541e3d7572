"""Triton python-backend model for a bureau-supplied ONNX image classifier.

Copied as ``1/model.py`` into each uploaded model's folder. It reads its preprocessing from the
config's parameters (written by ``services.inference.byom``), decodes each image, resizes and
normalises it, runs the ONNX with onnxruntime, and returns one score per label.
"""

import json
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.spec = json.loads(params["preprocess"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get("intra_op_num_threads", "1"))
        folder = Path(args["model_repository"]) / args["model_version"]
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        cv2.setNumThreads(1)

    def _tensor(self, content: bytes) -> np.ndarray:
        spec = self.spec
        image = cv2.imdecode(np.frombuffer(content, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("the image could not be decoded")
        if spec["colour"] == "RGB":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, (spec["width"], spec["height"]), interpolation=cv2.INTER_AREA)
        x = (image.astype(np.float32) * spec["scale"] - np.array(spec["mean"], np.float32)) / np.array(
            spec["std"], np.float32
        )
        if spec["layout"] == "NCHW":
            x = x.transpose(2, 0, 1)
        return x[None]

    def execute(self, requests):
        responses = []
        for request in requests:
            started = time.perf_counter()
            try:
                content = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy().reshape(-1)[0]
                logits = self.session.run(None, {self.input_name: self._tensor(bytes(content))})[0].reshape(-1)
                if self.spec["softmax"]:
                    e = np.exp(logits - logits.max())
                    logits = e / e.sum()
                scores = logits.astype(np.float32)[None]
            except Exception as exc:  # noqa: BLE001 - one bad request must not fail the others
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"classifier: {exc}")))
                continue
            compute = np.array([[(time.perf_counter() - started) * 1000.0]], dtype=np.float32)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor("SCORES", scores), pb_utils.Tensor("COMPUTE_MS", compute),
            ]))
        return responses
