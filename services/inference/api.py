"""REST API for scenario requests: submit, read one, list the bureau's own."""

import json
import math

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from services.accounts.selectors import bureau_get
from services.catalog.selectors import scenario_status
from services.core import fields
from services.core.api import InputSerializer, LeanInput, ScopedApiView, validation_failure
from services.core.errors import ApplicationError, NotFound
from services.core.parsers import JSONParser, MultiPartParser, PlainTextParser
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
    url = fields.AbsoluteUrlField("api-request-detail")
    scenario = fields.RelatedSlugField()
    bureau = fields.RelatedSlugField()
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

    def get_timings(self, obj) -> dict:
        return {"queue_ms": obj.queue_ms, "compute_ms": obj.compute_ms, "total_ms": obj.total_ms}

    def get_input(self, obj) -> dict:
        return {"kind": obj.input_kind, "sha256": obj.input_sha256, "bytes": obj.input_bytes, "name": obj.input_name}

    def get_annotated_image_url(self, obj) -> str | None:
        actor = self.context.get("actor")
        if not obj.annotated_image or (actor is not None and not actor.sees_raw_inputs):
            return None
        return fields.absolute_url(self.context.get("request"), reverse("api-request-annotated", args=[obj.id]))

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
    url = fields.absolute_url(http_request, _detail_path(obj.id))
    annotated = None
    if obj.annotated_image and (actor is None or actor.sees_raw_inputs):
        annotated = fields.absolute_url(http_request, reverse("api-request-annotated", args=[obj.id]))
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


# --- input --------------------------------------------------------------------------------------------
# The submit and each item of a batch are read by ``LeanInput`` (fields built once): a plain serializer
# cost a submit ≈ 10× what reading its body does (see the commit that brought these in for the figures).


class ScenarioSlugField(fields.StrictCharField):
    """The scenario slug, stripped; anything but a non-blank string is ``missing_scenario``."""

    codes = {**dict.fromkeys(("required", "null", "blank", "invalid"), "missing_scenario"),
             "null_characters_not_allowed": "invalid_characters",
             "surrogate_characters_not_allowed": "invalid_characters"}
    default_error_messages = dict.fromkeys(
        ("required", "null", "blank", "invalid"), "A scenario slug is required (see GET /api/v1/scenarios).")

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", True)
        kwargs.setdefault("help_text", "Scenario slug")
        super().__init__(**kwargs)


class SeriesField(fields.JSONTextField):
    """Readings: a list of numbers or ``{channel: [numbers]}``, as JSON (text in a form), or a file part
    with JSON or CSV text decoded by its declared charset."""

    _file = fields.TextUploadField(where="the series file")

    def to_internal_value(self, data):
        if hasattr(data, "read"):
            return parse_series_text(self._file.to_internal_value(data))
        return super().to_internal_value(data)


def _check_upload(check):
    return lambda upload: check(upload.content, upload.name)


# Each input field and the check that turns it into a ``CheckedInput``.
_CHECKS = {
    "image": _check_upload(inputs.check_image), "file": _check_upload(inputs.check_image),
    "audio": _check_upload(inputs.check_audio), "text": inputs.check_text, "series": inputs.check_series,
    "image_base64": inputs.check_image, "audio_base64": inputs.check_audio,
}


class ItemMetaInput(LeanInput):
    """What goes with one input: its params, where it comes from, when it was taken."""

    params = fields.JSONTextField(help_text="Scenario params (JSON object)")
    source = fields.StrictCharField(required=False, allow_null=True, allow_blank=True, default="",
                                    code="invalid_source", help_text="Camera, device or channel id")
    captured_at = fields.AwareDateTimeField(
        code="invalid_captured_at", help_text="When the frame or reading was taken (ISO 8601 with zone); default: now")


class OneInput(ItemMetaInput):
    """Exactly one of the ``input_fields``, checked (``checked``: a ``CheckedInput``)."""

    input_fields: tuple[str, ...] = ()
    image_base64 = fields.Base64BytesField(help_text="An image, base64")
    audio_base64 = fields.Base64BytesField(help_text="A PCM WAV recording, base64")
    text = fields.TextOrUploadField(
        where="the text file", codes={"invalid": "invalid_text"},
        error_messages={"invalid": "A string, or in a form a text file."},
        help_text="The text (a string; in a form also a .txt file part, decoded by its declared charset)")
    series = SeriesField(help_text="List of numbers or {channel: [numbers]}; in a form also a JSON or CSV file")

    def validate(self, attrs):
        given = [name for name in self.input_fields if attrs.get(name) is not None]
        if len(given) != 1:
            raise ValidationError(
                f"Send exactly one input: {', '.join(self.input_fields)} (got {', '.join(given) or 'none'}).",
                code="missing_input" if not given else "ambiguous_input",
            )
        attrs["checked"] = _CHECKS[given[0]](attrs.pop(given[0]))
        return attrs


@extend_schema_serializer(component_name="SubmitRequest")
class SubmitInput(OneInput):
    """One input of the scenario's kind (exactly one of the input fields), as a JSON body or a multipart
    form; or a text/plain body that is the text itself, with scenario and source in the query string."""

    input_fields = ("image", "file", "audio", "text", "series", "image_base64", "audio_base64")
    scenario = ScenarioSlugField()
    image = fields.UploadField(codes={"invalid": "invalid_image"}, help_text="JPEG/PNG/WebP/BMP image (multipart)")
    file = fields.UploadField(codes={"invalid": "invalid_image"}, help_text="Same as image (older clients)")
    audio = fields.UploadField(codes={"invalid": "invalid_audio"}, help_text="PCM WAV (multipart)")


@extend_schema_serializer(component_name="SubmitBatchItem")
class BatchItemInput(OneInput):
    """One input of a batch (exactly one of image_base64, audio_base64, text, series), with its own
    params, source, capture time and idempotency key."""

    input_fields = ("image_base64", "audio_base64", "text", "series")
    idempotency_key = fields.StrictCharField(
        required=False, allow_null=True, code="invalid_idempotency_key",
        help_text="Repeat this item safely: the same key returns its first request")


class BatchFilesField(serializers.ListField):
    """Files of a multipart batch, one input each: read one by one (``fields.read_upload``), so that one
    unreadable or over-size file is refused alone."""

    def __init__(self, **kwargs):
        super().__init__(child=fields.FilePartField(), required=False, **kwargs)


class BatchItemsField(serializers.ListField):
    """The items, a JSON list of objects (text in a form); each is read alone (``BatchItemInput``) so that
    a bad one is refused by itself, not the batch."""

    def __init__(self, **kwargs):
        super().__init__(child=BatchItemInput(), required=False, **kwargs)
        self._json = fields.JSONTextField(code="invalid_json")

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, None)

    def to_internal_value(self, data):
        items = self._json.to_internal_value(data) if data not in (None, "") else []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise ValidationError("items must be a list of objects.", code="invalid_items")
        return items


@extend_schema_serializer(component_name="SubmitBatch")
class BatchInput(LeanInput):
    """Inputs of one scenario: ``items`` in a JSON body, or in a multipart form files under ``images`` (or
    ``audio``) with, optionally, ``items`` as a JSON list of each file's source, params and capture time."""

    scenario = ScenarioSlugField()
    params = fields.JSONTextField(help_text="Params for every item (an item's own win)")
    items = BatchItemsField(help_text=f"Up to CITYAI_MAX_BATCH_ITEMS ({settings.CITYAI_MAX_BATCH_ITEMS}) inputs "
                                      "of one scenario")
    images = BatchFilesField(help_text="Multipart: image files (one request each)")
    image = BatchFilesField(help_text="Same as images")
    audio = BatchFilesField(help_text="Multipart: PCM WAV files (one request each)")

    def validate(self, attrs):
        uploads = attrs.get("images") or attrs.get("image") or attrs.get("audio") or []
        raw_items = attrs.get("items") or []
        if uploads and raw_items and len(raw_items) != len(uploads):
            raise ValidationError(f"items describes {len(raw_items)} inputs but {len(uploads)} files came.",
                                  code="invalid_items")
        count = len(uploads) or len(raw_items)
        if count == 0:
            raise ValidationError("Send at least one input: 'items' (JSON) or files under 'images' or 'audio'.",
                                  code="missing_input")
        if count > settings.CITYAI_MAX_BATCH_ITEMS:
            raise ApplicationError(f"A batch carries at most {settings.CITYAI_MAX_BATCH_ITEMS} inputs (got {count}).",
                                   code="batch_too_large", status=413)
        check = inputs.check_image if attrs.get("images") or attrs.get("image") else inputs.check_audio
        default_params = attrs.get("params")
        items = []
        for index in range(count):
            item = SubmitItem(checked=None, params=default_params)
            try:
                if uploads:
                    upload = fields.read_upload(uploads[index])
                    item.checked = check(upload.content, upload.name)
                    data = ItemMetaInput.read(raw_items[index] if raw_items else {})
                else:
                    data = BatchItemInput.read(raw_items[index])
                    item.checked = data["checked"]
                    item.idempotency_key = data.get("idempotency_key")
                if data.get("params") is not None:
                    item.params = data["params"]
                item.source = data.get("source") or ""
                item.captured_at = data.get("captured_at")
            except ValidationError as exc:
                item.error = validation_failure(exc)
            except ApplicationError as exc:
                item.error = exc
            items.append(item)
        return {"scenario": attrs["scenario"], "items": items}


@extend_schema_field(OpenApiTypes.NUMBER)
class WaitField(fields.OptionalInputField):
    codes = {"invalid": "invalid_wait"}
    default_error_messages = {"invalid": "A number of seconds between 0 and {limit}."}

    def to_internal_value(self, data):
        limit = settings.CITYAI_MAX_WAIT_SECONDS
        try:
            value = float(data)
        except (TypeError, ValueError):
            value = math.nan
        if not 0 <= value <= limit:  # NaN too
            self.fail("invalid", limit=limit)
        return value


class WaitQuery(LeanInput):
    others_allowed = True  # the query string also names the scenario and source of a text/plain body
    wait = WaitField(allow_null=False, default=0.0,
                     help_text=f"Seconds to wait for the result (0–{settings.CITYAI_MAX_WAIT_SECONDS}).")


def _wait_seconds(view: ScopedApiView) -> float:
    if "wait" not in view.request.query_params:
        return 0.0
    return view.read(WaitQuery, view.request.query_params)["wait"]


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


class RequestListQuery(InputSerializer):
    others_allowed = True  # the paginator's limit and offset
    scenario = serializers.CharField(required=False, allow_blank=True, default="", help_text="Scenario slug")
    status = serializers.CharField(required=False, allow_blank=True, default="")


def _answer(request, obj: InferenceRequest, actor, *, created: bool = True) -> Response:
    """One request's answer: 200 when it is finished, 202 while it runs; where to read it again."""
    body = render_request(obj, request, actor)
    response = Response(body, status=status.HTTP_200_OK if obj.is_terminal else status.HTTP_202_ACCEPTED)
    response["Location"] = body["url"]
    if not created:
        response["Idempotent-Replay"] = "true"
    return response


class RequestListCreateApi(ScopedApiView):
    parser_classes = [JSONParser, MultiPartParser, FormParser, PlainTextParser]

    @extend_schema(operation_id="requests_list", parameters=[RequestListQuery],
                   responses=InferenceRequestOutput(many=True))
    def get(self, request):
        query = self.read(RequestListQuery, request.query_params)
        qs = inference_request_list(actor=self.actor, scenario=query["scenario"], status=query["status"])
        return self.paginated(qs, render=lambda obj: render_request(obj, request, self.actor))

    @extend_schema(
        operation_id="requests_submit",
        request={"application/json": SubmitInput, "multipart/form-data": SubmitInput,
                 "text/plain": OpenApiTypes.STR},
        parameters=[WaitQuery, IDEMPOTENCY_PARAM, *PLAIN_TEXT_PARAMS],
        responses={200: InferenceRequestOutput, 201: InferenceRequestOutput, 202: InferenceRequestOutput},
    )
    def post(self, request):
        wait = _wait_seconds(self)
        data = self.read(SubmitInput)
        obj, created = inference_request_submit(
            actor=self.actor,
            scenario_slug=data["scenario"],
            checked=data["checked"],
            params=data.get("params"),
            idempotency_key=request.headers.get("Idempotency-Key"),
            source=data["source"] or "",
            captured_at=data.get("captured_at"),
        )
        if wait:
            obj = inference_request_wait(request=obj, seconds=wait)
        return _answer(request, obj, self.actor, created=created)


BATCH_ITEM = inline_serializer("SubmitBatchResult", fields={
    "index": serializers.IntegerField(),
    "request": InferenceRequestOutput(required=False),
    "error": serializers.DictField(required=False, help_text="{code, message, details} of a refused item"),
})


class RequestBatchApi(ScopedApiView):
    """Many inputs of one scenario in one call: each becomes its own request (own result, quota unit,
    metering, events, audit); an input that cannot be accepted is refused alone, with its reason."""

    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="requests_submit_batch",
        request={"application/json": BatchInput, "multipart/form-data": BatchInput},
        parameters=[WaitQuery],
        responses={200: inline_serializer("SubmitBatchAnswer", fields={
            "scenario": serializers.CharField(), "accepted": serializers.IntegerField(),
            "refused": serializers.IntegerField(), "items": serializers.ListField(child=BATCH_ITEM),
        }), 202: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        wait = _wait_seconds(self)
        data = self.read(BatchInput)
        scenario, items = data["scenario"], data["items"]
        inference_requests_submit(actor=self.actor, scenario_slug=scenario, items=items)
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
                out.append({"index": index, "request": render_request(item.request, request, self.actor)})
            else:
                out.append({"index": index, "error": _error(item.error)})
        done = all(r.is_terminal for r in accepted)
        return Response({"scenario": scenario, "accepted": len(accepted), "refused": len(items) - len(accepted),
                         "items": out}, status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED)


def _error(exc: ApplicationError) -> dict:
    return {"code": exc.code, "message": exc.message, "details": exc.details or {}}


class RequestDetailApi(ScopedApiView):
    @extend_schema(operation_id="requests_read", parameters=[WaitQuery], responses=InferenceRequestOutput)
    def get(self, request, request_id):
        obj = inference_request_get(actor=self.actor, request_id=request_id)
        wait = _wait_seconds(self)
        if wait:
            obj = inference_request_wait(request=obj, seconds=wait)
        inference_request_viewed(actor=self.actor, request=obj)
        return Response(render_request(obj, request, self.actor))


class RequestAnnotatedImageApi(ScopedApiView):
    @extend_schema(operation_id="requests_annotated_image", responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, request_id):
        obj = inference_request_get(actor=self.actor, request_id=request_id)
        inference_request_check_raw_input(actor=self.actor)
        if not obj.annotated_image:
            raise NotFound("This request has no annotated image.")
        inference_request_viewed(actor=self.actor, request=obj, part="annotated_image")
        return FileResponse(obj.annotated_image.open("rb"), content_type="image/jpeg")


@extend_schema_field(OpenApiTypes.STR)
class NameListField(fields.CodedField, serializers.Field):
    """Names in order: a JSON list or comma-separated text."""

    default_error_messages = {"invalid": "A list of names (JSON or comma-separated)."}

    def to_internal_value(self, data):
        if isinstance(data, str) and data.strip().startswith("["):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                self.fail("invalid")
        if isinstance(data, str):
            data = data.split(",")
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            self.fail("invalid")
        return [v.strip() for v in data]


@extend_schema_field(OpenApiTypes.STR)  # a multipart field: the JSON list as text
class NumberTripleField(fields.JSONTextField):
    """Three finite numbers, as a JSON list (text in a form)."""

    default_error_messages = {"triple": "Three numbers, as a JSON list."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if (not isinstance(value, list) or len(value) != 3
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
            self.fail("triple")
        return [float(v) for v in value]


_PRE = byom.Preprocess()


@extend_schema_serializer(component_name="ModelUpload")
class ModelUploadInput(InputSerializer):
    onnx = fields.UploadField(required=True, max_bytes=byom.MAX_ONNX_BYTES, code="missing_model",
                              error_messages={"required": "Send the model as the multipart file 'onnx'."})
    labels = NameListField(code="invalid_labels", help_text="JSON list or comma-separated, in output order")
    alert_labels = NameListField(code="invalid_alert_labels", help_text="labels that raise an alert")
    licence = fields.StrictCharField(allow_blank=True, codes={"required": "licence_required"},
                                     help_text="the model's licence and origin")
    colour = serializers.ChoiceField(["RGB", "BGR"], default=_PRE.colour)
    mean = NumberTripleField(code="invalid_preprocess", help_text="JSON list of 3 numbers")
    std = NumberTripleField(code="invalid_preprocess", help_text="JSON list of 3 numbers, none zero")
    scale = serializers.FloatField(default=_PRE.scale)
    softmax = serializers.BooleanField(default=_PRE.softmax)
    height = serializers.IntegerField(min_value=0, default=0)
    width = serializers.IntegerField(min_value=0, default=0)

    def validate_std(self, value):
        if value is not None and 0 in value:
            raise ValidationError("std must not be zero.", code="invalid_preprocess")
        return value


class ScenarioModelUploadApi(ScopedApiView):
    """Platform admins put a bureau-supplied ONNX image classifier in service for a scenario."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="scenario_model_upload",
        request={"multipart/form-data": ModelUploadInput},
        responses={201: inline_serializer("ModelUploaded", fields={
            "scenario": serializers.CharField(), "model": serializers.CharField(),
            "onnx_sha256": serializers.CharField(), "labels": serializers.ListField(),
            "status": serializers.CharField(),
        })},
    )
    def post(self, request, slug):
        data = self.read(ModelUploadInput)
        record = byom.custom_model_upload(
            actor=self.actor,
            scenario_slug=slug,
            content=data["onnx"].content,
            labels=data["labels"],
            alert_labels=data["alert_labels"],
            licence=data["licence"],
            preprocess=byom.Preprocess(
                colour=data["colour"], scale=data["scale"], mean=data.get("mean") or _PRE.mean,
                std=data.get("std") or _PRE.std, softmax=data["softmax"], height=data["height"], width=data["width"],
            ),
        )
        # The status as stored after the upload, not what the upload meant to set.
        return Response(
            {"scenario": slug, "model": record.triton_name, "onnx_sha256": record.onnx_sha256,
             "labels": record.labels, "status": scenario_status(scenario_id=record.scenario_id)},
            status=status.HTTP_201_CREATED,
        )


class QuotaQuery(InputSerializer):
    others_allowed = True
    bureau = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="bureau slug (auditors and admins)")


class QuotaApi(ScopedApiView):
    """What the caller's bureau may still do today and this month, per entitled scenario.

    An API client sees its own bureau (and only the scenarios its key is scoped for); auditors and
    platform admins may name a bureau with ``?bureau=<slug>``; for anyone else another bureau is a 404.
    """

    @extend_schema(operation_id="quota_read", parameters=[QuotaQuery], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        actor = self.actor
        bureau = actor.bureau
        slug = self.read(QuotaQuery, request.query_params)["bureau"]
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
