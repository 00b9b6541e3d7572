"""REST API for scenario requests: submit, read one, list the bureau's own."""

import base64
import binascii
import json

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from services.accounts.selectors import actor_from_request, bureau_get
from services.catalog.models import Scenario
from services.core.errors import ApplicationError, NotFound
from services.core.pagination import CappedLimitOffsetPagination
from services.core.parsers import JSONParser, MultiPartParser, PlainTextParser
from services.core.text import decode_text
from services.inference import byom, inputs
from services.inference.access import inference_request_check_raw_input
from services.inference.audit import inference_request_viewed
from services.inference.forms import parse_series_text
from services.inference.models import InferenceRequest
from services.inference.selectors import (
    entitlement_usage_list,
    inference_request_get,
    inference_request_list,
    inference_request_wait,
    inference_requests_wait,
)
from services.inference.services import SubmitItem, inference_request_submit, inference_requests_submit


class InferenceRequestOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    scenario = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    timings = serializers.SerializerMethodField()
    input = serializers.SerializerMethodField()
    annotated_image_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    model_versions = serializers.DictField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = InferenceRequest
        fields = [
            "id", "url", "scenario", "bureau", "source", "captured_at", "status", "tier", "attempts", "created_at",
            "started_at",
            "finished_at", "timings", "model_versions", "model_calls", "input", "params", "alert", "result",
            "annotated_image_url", "error",
        ]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, obj) -> str:
        return self._absolute(reverse("api-request-detail", args=[obj.id]))

    def get_timings(self, obj) -> dict:
        return {"queue_ms": obj.queue_ms, "compute_ms": obj.compute_ms, "total_ms": obj.total_ms}

    def get_input(self, obj) -> dict:
        return {"kind": obj.input_kind, "sha256": obj.input_sha256, "bytes": obj.input_bytes, "name": obj.input_name}

    def get_annotated_image_url(self, obj) -> str | None:
        actor = self.context.get("actor")
        if not obj.annotated_image or (actor is not None and not actor.sees_raw_inputs):
            return None
        return self._absolute(reverse("api-request-annotated", args=[obj.id]))

    def get_error(self, obj) -> dict | None:
        if obj.status != InferenceRequest.Status.FAILED:
            return None
        return {"code": obj.error_code, "message": obj.error_message}


_DATETIME = serializers.DateTimeField()
_DETAIL_URL = None


def _detail_path(request_id) -> str:
    """``reverse`` once; the detail path of every request is the same but for its id."""
    global _DETAIL_URL
    if _DETAIL_URL is None:
        marker = "00000000-0000-0000-0000-000000000000"
        _DETAIL_URL = reverse("api-request-detail", args=[marker]).replace(marker, "{}")
    return _DETAIL_URL.format(request_id)


def render_request(obj: InferenceRequest, http_request, actor) -> dict:
    """What ``InferenceRequestOutput`` renders, without building a serializer per call (the submit
    path answers hundreds of these a second). The serializer stays as the OpenAPI description, and a
    test checks that both agree field by field."""
    dt = _DATETIME.to_representation
    url = http_request.build_absolute_uri(_detail_path(obj.id))
    annotated = None
    if obj.annotated_image and (actor is None or actor.sees_raw_inputs):
        annotated = http_request.build_absolute_uri(reverse("api-request-annotated", args=[obj.id]))
    failed = obj.status == InferenceRequest.Status.FAILED
    return {
        "id": str(obj.id), "url": url, "scenario": obj.scenario.slug, "bureau": obj.bureau.slug,
        "source": obj.source, "captured_at": dt(obj.captured_at) if obj.captured_at else None,
        "status": obj.status, "tier": obj.tier, "attempts": obj.attempts,
        "created_at": dt(obj.created_at) if obj.created_at else None,
        "started_at": dt(obj.started_at) if obj.started_at else None,
        "finished_at": dt(obj.finished_at) if obj.finished_at else None,
        "timings": {"queue_ms": obj.queue_ms, "compute_ms": obj.compute_ms, "total_ms": obj.total_ms},
        "model_versions": obj.model_versions, "model_calls": obj.model_calls,
        "input": {"kind": obj.input_kind, "sha256": obj.input_sha256, "bytes": obj.input_bytes, "name": obj.input_name},
        "params": obj.params, "alert": obj.alert, "result": obj.result, "annotated_image_url": annotated,
        "error": {"code": obj.error_code, "message": obj.error_message} if failed else None,
    }


def _json_field(value, name: str):
    """Multipart forms carry JSON as text; JSON bodies carry it as-is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApplicationError(f"{name} is not valid JSON: {exc}", code="invalid_json") from None
    return value


def _text_field(value, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{name} must be a string.", code=f"invalid_{name}")
    return value


def _b64(value, name: str) -> bytes:
    if not isinstance(value, str):
        raise ApplicationError(f"{name} must be a base64 string.", code="invalid_base64")
    if len(value) > settings.CITYAI_MAX_UPLOAD_BYTES * 4 // 3 + 8:
        raise ApplicationError(f"{name} is larger than the upload limit.", code="input_too_large", status=413)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApplicationError(f"{name} is not valid base64.", code="invalid_base64") from None


def _read_upload(upload) -> bytes:
    if upload.size > settings.CITYAI_MAX_UPLOAD_BYTES:
        raise inputs.too_large(upload.size)
    return upload.read()


def _text_upload(upload, where: str) -> str:
    """A .txt or .csv sent as a file part: decoded by the part's declared charset, else UTF-8."""
    return decode_text(_read_upload(upload), charset=upload.charset, where=where)


def _scenario_slug(data) -> str:
    """The body's scenario slug (stripped), or a 400 that says what is missing."""
    if not hasattr(data, "get"):
        raise ApplicationError("The body must be a JSON object (or a multipart form).", code="invalid_body")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario.strip():
        raise ApplicationError("scenario is required (a scenario slug, see GET /api/v1/scenarios).",
                               code="missing_scenario")
    inputs.reject_nul(scenario, "scenario")
    return scenario.strip()


def read_submission(data, files) -> tuple[str, object, inputs.CheckedInput]:
    """Pull (scenario slug, params, checked input) out of a JSON or multipart body."""
    scenario = _scenario_slug(data)
    params = _json_field(data.get("params"), "params") if data.get("params") not in (None, "") else None
    given = [name for name in ("image", "file", "audio", "text", "series", "image_base64", "audio_base64")
             if name in files or data.get(name) not in (None, "")]
    if len(given) != 1:
        raise ApplicationError(
            "Send exactly one input: an 'image' or 'audio' file, 'text', 'series', 'image_base64' or "
            f"'audio_base64' (got {', '.join(given) or 'none'}).",
            code="missing_input" if not given else "ambiguous_input",
        )
    kind = given[0]
    if kind in ("image", "file"):
        upload = files[kind]
        checked = inputs.check_image(_read_upload(upload), upload.name or "")
    elif kind == "audio":
        upload = files["audio"]
        checked = inputs.check_audio(_read_upload(upload), upload.name or "")
    elif kind == "image_base64":
        checked = inputs.check_image(_b64(data["image_base64"], kind))
    elif kind == "audio_base64":
        checked = inputs.check_audio(_b64(data["audio_base64"], kind))
    elif kind == "text":
        text = _text_upload(files["text"], "the text file") if "text" in files else data["text"]
        checked = inputs.check_text(text)
    elif "series" in files:
        checked = inputs.check_series(parse_series_text(_text_upload(files["series"], "the series file")))
    else:
        checked = inputs.check_series(_json_field(data["series"], "series"))
    return scenario, params, checked


_INPUT_FIELDS = ("image_base64", "audio_base64", "text", "series")


def _checked_item(obj) -> inputs.CheckedInput:
    """One JSON batch item's input: exactly one of image_base64, audio_base64, text or series."""
    given = [name for name in _INPUT_FIELDS if obj.get(name) not in (None, "")]
    if len(given) != 1:
        raise ApplicationError(
            f"Each item needs exactly one of {', '.join(_INPUT_FIELDS)} (got {', '.join(given) or 'none'}).",
            code="missing_input" if not given else "ambiguous_input",
        )
    kind = given[0]
    if kind == "image_base64":
        return inputs.check_image(_b64(obj[kind], kind))
    if kind == "audio_base64":
        return inputs.check_audio(_b64(obj[kind], kind))
    if kind == "text":
        return inputs.check_text(obj[kind])
    return inputs.check_series(_json_field(obj[kind], kind))


def _item_meta(obj, item: SubmitItem) -> None:
    item.params = _json_field(obj.get("params"), "params") if obj.get("params") not in (None, "") else item.params
    item.source = _text_field(obj.get("source"), "source")
    item.captured_at = inputs.parse_captured_at(obj.get("captured_at"))
    key = obj.get("idempotency_key")
    item.idempotency_key = key if isinstance(key, str) else None


def read_batch(data, files) -> tuple[str, list[SubmitItem]]:
    """(scenario slug, items) from a JSON body ``{"scenario", "params"?, "items": [...]}`` or a
    multipart form (``scenario``, ``params``, files under ``images`` or ``audio``, and optionally
    ``items``: a JSON list of per-file ``source``/``params``/``captured_at``). An item whose input
    cannot be read carries its error and is refused alone."""
    scenario = _scenario_slug(data)
    default_params = _json_field(data.get("params"), "params") if data.get("params") not in (None, "") else None
    uploads = files.getlist("images") or files.getlist("image") or files.getlist("audio") if files else []
    raw_items = _json_field(data.get("items"), "items") if data.get("items") not in (None, "") else []
    if not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
        raise ApplicationError("items must be a list of objects.", code="invalid_items")
    if uploads and raw_items and len(raw_items) != len(uploads):
        raise ApplicationError(f"items describes {len(raw_items)} inputs but {len(uploads)} files came.",
                               code="invalid_items")
    count = len(uploads) or len(raw_items)
    if count == 0:
        raise ApplicationError("Send at least one input: 'items' (JSON) or files under 'images' or 'audio'.",
                               code="missing_input")
    if count > settings.CITYAI_MAX_BATCH_ITEMS:
        raise ApplicationError(f"A batch carries at most {settings.CITYAI_MAX_BATCH_ITEMS} inputs (got {count}).",
                               code="batch_too_large", status=413)
    items = []
    for index in range(count):
        item = SubmitItem(checked=None, params=default_params)
        obj = raw_items[index] if raw_items else {}
        try:
            if uploads:
                upload = uploads[index]
                content = _read_upload(upload)
                item.checked = (inputs.check_audio if "audio" in files else inputs.check_image)(
                    content, upload.name or "")
            else:
                item.checked = _checked_item(obj)
            _item_meta(obj, item)
        except ApplicationError as exc:
            item.error = exc
        items.append(item)
    return scenario, items


def _wait_seconds(request) -> float:
    raw = request.query_params.get("wait")
    if raw in (None, ""):
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise ApplicationError("wait must be a number of seconds.", code="invalid_wait") from None
    if not 0 <= value <= settings.CITYAI_MAX_WAIT_SECONDS:
        raise ApplicationError(
            f"wait must be between 0 and {settings.CITYAI_MAX_WAIT_SECONDS} seconds.", code="invalid_wait"
        )
    return value


SUBMIT_SCHEMA = inline_serializer(
    "SubmitRequest",
    fields={
        "scenario": serializers.CharField(help_text="Scenario slug"),
        "source": serializers.CharField(required=False, help_text="Camera, device or channel id"),
        "captured_at": serializers.DateTimeField(
            required=False, help_text="When the frame or reading was taken (ISO 8601 with zone); default: now"
        ),
        "params": serializers.JSONField(required=False, help_text="Scenario params (JSON object)"),
        "image": serializers.FileField(required=False, help_text="JPEG/PNG/WebP/BMP image (multipart)"),
        "audio": serializers.FileField(required=False, help_text="PCM WAV (multipart)"),
        "image_base64": serializers.CharField(required=False),
        "audio_base64": serializers.CharField(required=False),
        "text": serializers.CharField(required=False),
        "series": serializers.JSONField(required=False, help_text="List of numbers or {channel: [numbers]}"),
    },
)
WAIT_PARAM = OpenApiParameter(
    "wait", OpenApiTypes.NUMBER,
    description=f"Seconds to wait for the result (0–{settings.CITYAI_MAX_WAIT_SECONDS}).",
)
# With a text/plain body (the text input itself, in its declared charset) the rest comes from the query.
PLAIN_TEXT_PARAMS = [
    OpenApiParameter("scenario", OpenApiTypes.STR, required=False,
                     description="Scenario slug, when the body is text/plain (the text to analyse)."),
    OpenApiParameter("source", OpenApiTypes.STR, required=False, description="Source id, with a text/plain body."),
]
IDEMPOTENCY_PARAM = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False,
    description="Repeat a submit safely: the same key returns the first request.",
)


class RequestListCreateApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser, PlainTextParser]

    @extend_schema(
        operation_id="requests_list",
        parameters=[OpenApiParameter("scenario", str), OpenApiParameter("status", str)],
        responses=InferenceRequestOutput(many=True),
    )
    def get(self, request):
        actor = actor_from_request(request)
        qs = inference_request_list(
            actor=actor, scenario=request.query_params.get("scenario"), status=request.query_params.get("status")
        )
        paginator = CappedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([render_request(obj, request, actor) for obj in page])

    @extend_schema(
        operation_id="requests_submit",
        request={"application/json": SUBMIT_SCHEMA, "multipart/form-data": SUBMIT_SCHEMA,
                 "text/plain": OpenApiTypes.STR},
        parameters=[WAIT_PARAM, IDEMPOTENCY_PARAM, *PLAIN_TEXT_PARAMS],
        responses={200: InferenceRequestOutput, 201: InferenceRequestOutput, 202: InferenceRequestOutput},
    )
    def post(self, request):
        actor = actor_from_request(request)
        wait = _wait_seconds(request)
        scenario, params, checked = read_submission(request.data, request.FILES)
        obj, created = inference_request_submit(
            actor=actor,
            scenario_slug=scenario,
            checked=checked,
            params=params,
            idempotency_key=request.headers.get("Idempotency-Key"),
            source=_text_field(request.data.get("source"), "source"),
            captured_at=inputs.parse_captured_at(request.data.get("captured_at")),
        )
        if wait:
            obj = inference_request_wait(request=obj, seconds=wait)
        code = status.HTTP_200_OK if obj.is_terminal else status.HTTP_202_ACCEPTED
        body = render_request(obj, request, actor)
        response = Response(body, status=code)
        response["Location"] = body["url"]
        if not created:
            response["Idempotent-Replay"] = "true"
        return response


BATCH_SCHEMA = inline_serializer(
    "SubmitBatch",
    fields={
        "scenario": serializers.CharField(help_text="Scenario slug"),
        "params": serializers.JSONField(required=False, help_text="Params for every item (an item's own win)"),
        "items": serializers.ListField(
            child=inline_serializer("SubmitBatchItem", fields={
                "image_base64": serializers.CharField(required=False),
                "audio_base64": serializers.CharField(required=False),
                "text": serializers.CharField(required=False),
                "series": serializers.JSONField(required=False),
                "params": serializers.JSONField(required=False),
                "source": serializers.CharField(required=False),
                "captured_at": serializers.DateTimeField(required=False),
                "idempotency_key": serializers.CharField(required=False),
            }),
            required=False, help_text="Up to CITYAI_MAX_BATCH_ITEMS (64) inputs of one scenario",
        ),
        "images": serializers.ListField(child=serializers.FileField(), required=False,
                                        help_text="Multipart: image files (one request each)"),
    },
)
BATCH_ITEM = inline_serializer("SubmitBatchResult", fields={
    "index": serializers.IntegerField(),
    "request": InferenceRequestOutput(required=False),
    "error": serializers.DictField(required=False, help_text="{code, message, details} of a refused item"),
})


class RequestBatchApi(APIView):
    """Many inputs of one scenario in one call: each becomes its own request (own result, quota unit,
    metering, events, audit); an input that cannot be accepted is refused alone, with its reason."""

    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="requests_submit_batch",
        request={"application/json": BATCH_SCHEMA, "multipart/form-data": BATCH_SCHEMA},
        parameters=[WAIT_PARAM],
        responses={200: inline_serializer("SubmitBatchAnswer", fields={
            "scenario": serializers.CharField(), "accepted": serializers.IntegerField(),
            "refused": serializers.IntegerField(), "items": serializers.ListField(child=BATCH_ITEM),
        }), 202: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        actor = actor_from_request(request)
        wait = _wait_seconds(request)
        scenario, items = read_batch(request.data, request.FILES)
        inference_requests_submit(actor=actor, scenario_slug=scenario, items=items)
        accepted = [item.request for item in items if item.request is not None]
        if not accepted:
            first = items[0].error
            raise ApplicationError(
                f"No input of the batch was accepted; the first: {first.message}", code=first.code,
                status=first.status, headers=first.headers, details={"items": [{"index": i, "error": _error(item.error)}
                                                        for i, item in enumerate(items)]},
            )
        if wait:
            inference_requests_wait(requests=accepted, seconds=wait)
        out = []
        for index, item in enumerate(items):
            if item.request is not None:
                out.append({"index": index, "request": render_request(item.request, request, actor)})
            else:
                out.append({"index": index, "error": _error(item.error)})
        done = all(r.is_terminal for r in accepted)
        return Response({"scenario": scenario, "accepted": len(accepted), "refused": len(items) - len(accepted),
                         "items": out}, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)


def _error(exc: ApplicationError) -> dict:
    return {"code": exc.code, "message": exc.message, "details": exc.details or {}}


class RequestDetailApi(APIView):
    @extend_schema(operation_id="requests_read", parameters=[WAIT_PARAM], responses=InferenceRequestOutput)
    def get(self, request, request_id):
        actor = actor_from_request(request)
        obj = inference_request_get(actor=actor, request_id=request_id)
        wait = _wait_seconds(request)
        if wait:
            obj = inference_request_wait(request=obj, seconds=wait)
        inference_request_viewed(actor=actor, request=obj)
        return Response(render_request(obj, request, actor))


class RequestAnnotatedImageApi(APIView):
    @extend_schema(operation_id="requests_annotated_image", responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, request_id):
        actor = actor_from_request(request)
        obj = inference_request_get(actor=actor, request_id=request_id)
        inference_request_check_raw_input(actor=actor)
        if not obj.annotated_image:
            raise NotFound("This request has no annotated image.")
        inference_request_viewed(actor=actor, request=obj, part="annotated_image")
        return FileResponse(obj.annotated_image.open("rb"), content_type="image/jpeg")


def _name_list(value, name: str) -> list[str]:
    value = _json_field(value, name) if isinstance(value, str) and value.strip().startswith("[") else value
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApplicationError(f"{name} must be a list of names (JSON or comma-separated).", code=f"invalid_{name}")
    return [v.strip() for v in value]


class ScenarioModelUploadApi(APIView):
    """Platform admins put a bureau-supplied ONNX image classifier in service for a scenario."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="scenario_model_upload",
        request={"multipart/form-data": inline_serializer("ModelUpload", fields={
            "onnx": serializers.FileField(),
            "labels": serializers.CharField(help_text="JSON list or comma-separated, in output order"),
            "alert_labels": serializers.CharField(help_text="labels that raise an alert"),
            "licence": serializers.CharField(help_text="the model's licence and origin"),
            "colour": serializers.ChoiceField(["RGB", "BGR"], required=False),
            "mean": serializers.CharField(required=False, help_text="JSON list of 3 numbers"),
            "std": serializers.CharField(required=False, help_text="JSON list of 3 numbers"),
            "scale": serializers.FloatField(required=False),
            "softmax": serializers.BooleanField(required=False),
            "height": serializers.IntegerField(required=False),
            "width": serializers.IntegerField(required=False),
        })},
        responses={201: inline_serializer("ModelUploaded", fields={
            "scenario": serializers.CharField(), "model": serializers.CharField(),
            "onnx_sha256": serializers.CharField(), "labels": serializers.ListField(),
            "status": serializers.CharField(),
        })},
    )
    def post(self, request, slug):
        actor = actor_from_request(request)
        upload = request.FILES.get("onnx")
        if upload is None:
            raise ApplicationError("Send the model as the multipart file 'onnx'.", code="missing_model")
        data = request.data
        defaults = byom.Preprocess()
        try:
            pre = byom.Preprocess(
                colour=data.get("colour", defaults.colour),
                scale=float(data.get("scale", defaults.scale)),
                mean=[float(v) for v in _json_field(data.get("mean"), "mean")] if data.get("mean") else defaults.mean,
                std=[float(v) for v in _json_field(data.get("std"), "std")] if data.get("std") else defaults.std,
                softmax=str(data.get("softmax", "true")).lower() in ("1", "true", "yes"),
                height=int(data.get("height", 0)),
                width=int(data.get("width", 0)),
            )
        except (TypeError, ValueError):
            raise ApplicationError("colour, scale, mean, std, height or width is malformed.",
                                   code="invalid_preprocess") from None
        if pre.colour not in ("RGB", "BGR") or len(pre.mean) != 3 or len(pre.std) != 3 or 0 in pre.std:
            raise ApplicationError("colour must be RGB or BGR; mean and std need 3 numbers, std non-zero.",
                                   code="invalid_preprocess")
        record = byom.custom_model_upload(
            actor=actor,
            scenario_slug=slug,
            content=upload.read(),
            labels=_name_list(data.get("labels", ""), "labels"),
            alert_labels=_name_list(data.get("alert_labels", ""), "alert_labels"),
            licence=str(data.get("licence", "")),
            preprocess=pre,
        )
        # The status as stored after the upload, not what the upload meant to set.
        scenario_status = Scenario.objects.filter(pk=record.scenario_id).values_list("status", flat=True).get()
        return Response(
            {"scenario": slug, "model": record.triton_name, "onnx_sha256": record.onnx_sha256,
             "labels": record.labels, "status": scenario_status},
            status=status.HTTP_201_CREATED,
        )


class QuotaApi(APIView):
    """What the caller's bureau may still do today and this month, per entitled scenario.

    An API client sees its own bureau (and only the scenarios its key is scoped for); auditors and
    platform admins may name a bureau with ``?bureau=<slug>``; for anyone else another bureau is a 404.
    """

    @extend_schema(
        operation_id="quota_read",
        parameters=[OpenApiParameter("bureau", str, description="bureau slug (auditors and admins)")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        actor = actor_from_request(request)
        bureau = actor.bureau
        slug = request.query_params.get("bureau")
        if slug and (bureau is None or slug != bureau.slug):
            if not actor.sees_all_bureaus:
                raise NotFound(f"No bureau {slug!r}.", code="unknown_bureau")
            bureau = bureau_get(slug=slug)
        if bureau is None:
            raise ApplicationError("Name a bureau with ?bureau=<slug>.", code="missing_bureau")
        rows = entitlement_usage_list(actor=actor, bureau=bureau)
        client = actor.api_client
        scenarios = []
        for row in rows:
            ent = row["entitlement"]
            if client is not None and not client.allows(ent.scenario.slug):
                continue
            budget_s = ent.monthly_compute_budget_s
            scenarios.append({
                "scenario": ent.scenario.slug,
                "enabled": ent.enabled,
                "tier": ent.tier,
                "daily_quota": ent.daily_quota,
                "used_today": row["today"],
                "remaining_today": max(0, ent.daily_quota - row["today"]),
                "requests_this_month": row["month"],
                "compute_used_s": round(row["compute_s"], 3),
                "monthly_compute_budget_s": budget_s,
                "compute_remaining_s": round(max(0.0, budget_s - row["compute_s"]), 3),
            })
        now = timezone.localtime()
        return Response({
            "bureau": bureau.slug,
            "date": now.date(),
            "timezone": str(now.tzinfo),
            "scenarios": scenarios,
        })
