"""Bring your own model: a platform admin puts a bureau-supplied ONNX image classifier in service for
a scenario whose model we cannot ship ("model needed").

The model is checked before anything changes (it loads, has one image input and one score per
label, and runs), written into the writable model repository next to a python-backend wrapper
(``triton_model.py``), and loaded into the running Triton through its repository API. Only when
Triton has it does the scenario become active; a refused model leaves everything as it was.
"""

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from django.conf import settings
from django.db import transaction

from services.accounts.selectors import Actor, Role
from services.catalog.models import Scenario
from services.catalog.selectors import scenario_get
from services.catalog.services import scenario_custom_model_set
from services.core.errors import ApplicationError, Conflict, PermissionDenied
from services.inference import triton
from services.inference.models import UploadedModel

MAX_ONNX_BYTES = 200 * 1024 * 1024
WRAPPER = Path(__file__).resolve().parent / "triton_model.py"


@dataclass(frozen=True)
class Preprocess:
    """How to turn an image into the model's input; the defaults suit ImageNet-style classifiers."""

    colour: str = "RGB"
    scale: float = 1 / 255
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    softmax: bool = True
    layout: str = ""
    height: int = 0
    width: int = 0


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_model", status=422)


def inspect_onnx(content: bytes, labels: list[str], pre: Preprocess) -> Preprocess:
    """Check that the ONNX is an image classifier with one score per label; fill in layout and size."""
    if not content or len(content) > MAX_ONNX_BYTES:
        raise _invalid(f"the ONNX file must be between 1 byte and {MAX_ONNX_BYTES} bytes")
    try:
        session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises several unrelated types
        raise _invalid(f"onnxruntime cannot load this file: {str(exc)[:300]}") from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or "float" not in inputs[0].type:
        raise _invalid("the model must have one float input of rank 4 (an image batch, NCHW or NHWC)")
    shape = inputs[0].shape
    if shape[1] == 3:
        layout, height, width = "NCHW", shape[2], shape[3]
    elif shape[3] == 3:
        layout, height, width = "NHWC", shape[1], shape[2]
    else:
        raise _invalid(f"cannot tell the colour channels in input shape {shape}")
    height = height if isinstance(height, int) and height > 0 else pre.height
    width = width if isinstance(width, int) and width > 0 else pre.width
    if not (8 <= height <= 4096 and 8 <= width <= 4096):
        raise _invalid("the input size is dynamic: give height and width")
    if not outputs:
        raise _invalid("the model has no output")
    probe = np.zeros((1, 3, height, width) if layout == "NCHW" else (1, height, width, 3), dtype=np.float32)
    try:
        result = session.run(None, {inputs[0].name: probe})[0]
    except Exception as exc:  # noqa: BLE001
        raise _invalid(f"the model failed on a test image: {str(exc)[:300]}") from None
    if result.size != len(labels):
        raise _invalid(f"the model gives {result.size} scores but {len(labels)} labels were given")
    return Preprocess(**{**asdict(pre), "layout": layout, "height": int(height), "width": int(width)})


def _config(name: str, labels: list[str], pre: Preprocess) -> str:
    preprocess = json.dumps(json.dumps(asdict(pre)))  # a JSON text inside a protobuf text string
    return f"""# Bureau-supplied ONNX image classifier, wrapped by 1/model.py (services/inference/byom).
name: "{name}"
backend: "python"
max_batch_size: 0
input [ {{ name: "IMAGE" data_type: TYPE_STRING dims: [ 1, 1 ] }} ]
output [
  {{ name: "SCORES" data_type: TYPE_FP32 dims: [ 1, {len(labels)} ] }},
  {{ name: "COMPUTE_MS" data_type: TYPE_FP32 dims: [ 1, 1 ] }}
]
instance_group [ {{ count: 1 kind: KIND_CPU }} ]
parameters {{ key: "preprocess" value: {{ string_value: {preprocess} }} }}
parameters {{ key: "intra_op_num_threads" value: {{ string_value: "1" }} }}
"""


def _write_folder(name: str, content: bytes, labels: list[str], pre: Preprocess, licence: str, sha: str) -> Path:
    """Write the model folder beside its final place, then swap it in; returns the old folder (if any)."""
    repository = Path(settings.TRITON_BYOM_REPOSITORY)
    repository.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=repository))
    (staging / "1").mkdir()
    (staging / "1" / "model.onnx").write_bytes(content)
    shutil.copyfile(WRAPPER, staging / "1" / "model.py")
    (staging / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    (staging / "config.pbtxt").write_text(_config(name, labels, pre), encoding="utf-8")
    (staging / "LICENSE").write_text(f"{licence}\n\nmodel.onnx sha256 {sha}\n", encoding="utf-8")
    target = repository / name
    backup = None
    if target.exists():
        backup = repository / f".{name}.previous"
        shutil.rmtree(backup, ignore_errors=True)
        target.rename(backup)
    staging.rename(target)
    return backup


def custom_model_upload(
    *, actor: Actor, scenario_slug: str, content: bytes, labels: list[str], alert_labels: list[str],
    licence: str, preprocess: Preprocess | None = None,
) -> UploadedModel:
    if actor.role != Role.PLATFORM_ADMIN:
        raise PermissionDenied("Only a platform admin may put a model in service.", code="not_platform_admin")
    scenario = scenario_get(slug=scenario_slug)
    if scenario.status != Scenario.Status.MODEL_NEEDED and not scenario.custom_model:
        raise Conflict(f"Scenario {scenario_slug!r} already runs a shipped model.", code="scenario_has_model")
    labels = [str(label).strip() for label in labels]
    if not labels or any(not label for label in labels) or len(set(labels)) != len(labels):
        raise ApplicationError("labels must be distinct, non-empty names.", code="invalid_labels")
    if not set(alert_labels) <= set(labels) or not alert_labels:
        raise ApplicationError("alert_labels must be some of the labels.", code="invalid_labels")
    if len(licence.strip()) < 10:
        raise ApplicationError("State the model's licence and origin (at least a sentence).", code="licence_required")
    pre = inspect_onnx(content, labels, preprocess or Preprocess())
    sha = hashlib.sha256(content).hexdigest()
    name = "custom_" + scenario.slug.replace("-", "_")
    backup = _write_folder(name, content, labels, pre, licence.strip(), sha)
    try:
        triton.load_model(name)
    except triton.TritonError as exc:
        shutil.rmtree(Path(settings.TRITON_BYOM_REPOSITORY) / name, ignore_errors=True)
        if backup is not None:
            backup.rename(Path(settings.TRITON_BYOM_REPOSITORY) / name)
            triton.load_model(name)
        status = 503 if exc.retryable else 422
        raise ApplicationError(f"Triton could not load the model: {exc}", code="model_load_failed",
                               status=status) from None
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    with transaction.atomic():
        scenario_custom_model_set(
            scenario=scenario, model_name=name, pipeline="image_classifier", by=actor.label,
            bureau=actor.bureau.slug if actor.bureau else "",
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "model": {"const": name, "default": name},
                    "labels": {"const": labels, "default": labels},
                    "alert_labels": {"type": "array", "items": {"enum": labels}, "default": list(alert_labels)},
                    "min_score": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
                },
            },
            details={"labels": labels, "alert_labels": list(alert_labels), "onnx_sha256": sha},
        )
        return UploadedModel.objects.create(
            scenario=scenario, triton_name=name, onnx_sha256=sha, onnx_bytes=len(content), labels=labels,
            preprocess=asdict(pre), licence=licence.strip(), uploaded_by=actor.user,
        )
