"""REST API for sources (cameras, devices), their zones, bindings and device keys, and the device push.

Managers of the owning bureau write; operators, the bureau's API clients and auditors read; another
bureau's source or binding is a 404. Camera URLs are shown without their password.
"""

import json

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from services.accounts.selectors import actor_from_request
from services.core.errors import ApplicationError, NotFound
from services.core.pagination import CappedLimitOffsetPagination
from services.core.parsers import JSONParser, MultiPartParser
from services.inference import inputs
from services.inference.access import inference_request_check_raw_input
from services.sources.authentication import DeviceKeyAuthentication, DeviceRateThrottle
from services.sources.grabbers import masked_url
from services.sources.models import Binding, Source
from services.sources.selectors import binding_get, binding_list, source_get, source_list
from services.sources.services import (
    binding_create,
    binding_delete,
    binding_update,
    device_push_for_source,
    source_create,
    source_delete,
    source_device_key_issue,
    source_device_key_revoke,
    source_update,
    source_zones_set,
)


class _Absolute:
    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class SourceOutput(_Absolute, serializers.ModelSerializer):
    detail_url = serializers.SerializerMethodField()
    bindings_url = serializers.SerializerMethodField()
    frame_url = serializers.SerializerMethodField()
    bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    url = serializers.SerializerMethodField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    request_source = serializers.CharField()
    has_device_key = serializers.BooleanField()

    class Meta:
        model = Source
        fields = ["id", "detail_url", "bureau", "name", "kind", "mode", "url", "latitude", "longitude", "address",
                  "zones", "enabled", "status", "last_error", "last_seen_at", "consecutive_failures", "next_pull_at",
                  "has_device_key", "key_prefix", "request_source", "frame_url", "bindings_url", "created_at",
                  "updated_at"]

    def get_detail_url(self, obj) -> str:
        return self._absolute(reverse("api-source-detail", args=[obj.id]))

    def get_bindings_url(self, obj) -> str:
        return self._absolute(reverse("api-source-bindings", args=[obj.id]))

    def get_frame_url(self, obj) -> str | None:
        return self._absolute(reverse("api-source-frame", args=[obj.id])) if obj.last_frame else None

    def get_url(self, obj) -> str:
        return masked_url(obj.url)


class BindingOutput(_Absolute, serializers.ModelSerializer):
    detail_url = serializers.SerializerMethodField()
    source = serializers.UUIDField(source="source_id")
    scenario = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    last_request = serializers.SerializerMethodField()

    class Meta:
        model = Binding
        fields = ["id", "detail_url", "source", "scenario", "params", "zone_name", "interval_s", "enabled",
                  "next_run_at", "last_run_at", "last_request", "last_error", "created_at"]

    def get_detail_url(self, obj) -> str:
        return self._absolute(reverse("api-binding-detail", args=[obj.id]))

    def get_last_request(self, obj) -> dict | None:
        if obj.last_request_id is None:
            return None
        return {"id": str(obj.last_request_id),
                "url": self._absolute(reverse("api-request-detail", args=[obj.last_request_id]))}


def _body(request, allowed: set[str] | None = None) -> dict:
    if not hasattr(request.data, "get") or isinstance(request.data, list):
        raise ApplicationError("The body must be a JSON object.", code="invalid_body")
    if allowed is not None:
        unknown = set(request.data) - allowed
        if unknown:
            raise ApplicationError(f"Unknown fields: {', '.join(sorted(map(str, unknown)))}.",
                                   code="unknown_fields", details={"allowed": sorted(allowed)})
    return request.data


SOURCE_FIELDS = {"name", "kind", "mode", "url", "latitude", "longitude", "address", "zones"}
BINDING_FIELDS = {"params", "zone_name", "interval_s"}


SOURCE_WRITE = inline_serializer("SourceWrite", fields={
    "name": serializers.CharField(),
    "kind": serializers.ChoiceField(Source.Kind.choices),
    "mode": serializers.ChoiceField(Source.Mode.choices),
    "url": serializers.CharField(required=False, help_text="http(s)://, rtsp:// or file:/// (pull sources)"),
    "latitude": serializers.FloatField(required=False, allow_null=True),
    "longitude": serializers.FloatField(required=False, allow_null=True),
    "address": serializers.CharField(required=False),
    "zones": serializers.JSONField(required=False, help_text='[{"name": "...", "polygon": [[x, y], ...]}], 0..1'),
    "enabled": serializers.BooleanField(required=False, help_text="PATCH only"),
})
BINDING_WRITE = inline_serializer("BindingWrite", fields={
    "scenario": serializers.CharField(help_text="scenario slug (POST only)"),
    "params": serializers.JSONField(required=False),
    "zone_name": serializers.CharField(required=False, help_text="one of the source's zones, given as params.zone"),
    "interval_s": serializers.IntegerField(required=False, min_value=5, help_text="seconds between pulls"),
    "enabled": serializers.BooleanField(required=False, help_text="PATCH only"),
})


class SourceListCreateApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="sources_list", responses=SourceOutput(many=True))
    def get(self, request):
        actor = actor_from_request(request)
        qs = source_list(actor=actor)
        for name in ("status", "kind", "mode"):
            if request.query_params.get(name):
                qs = qs.filter(**{name: request.query_params[name]})
        paginator = CappedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(SourceOutput(page, many=True, context={"request": request}).data)

    @extend_schema(operation_id="sources_create", request=SOURCE_WRITE, responses={201: SourceOutput})
    def post(self, request):
        actor = actor_from_request(request)
        data = _body(request, SOURCE_FIELDS)
        source = source_create(
            actor=actor, name=data.get("name"), kind=data.get("kind", Source.Kind.CAMERA),
            mode=data.get("mode", Source.Mode.PULL), url=data.get("url", ""), latitude=data.get("latitude"),
            longitude=data.get("longitude"), address=data.get("address", ""), zones=data.get("zones"),
        )
        body = SourceOutput(source, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["detail_url"]})


class SourceDetailApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="sources_read", responses=SourceOutput)
    def get(self, request, source_id):
        actor = actor_from_request(request)
        return Response(SourceOutput(source_get(actor=actor, source_id=source_id), context={"request": request}).data)

    @extend_schema(operation_id="sources_update", request=SOURCE_WRITE, responses=SourceOutput)
    def patch(self, request, source_id):
        actor = actor_from_request(request)
        source = source_get(actor=actor, source_id=source_id)
        source = source_update(actor=actor, source=source, **_body(request, SOURCE_FIELDS | {"enabled"}))
        return Response(SourceOutput(source, context={"request": request}).data)

    @extend_schema(operation_id="sources_delete", responses={204: None})
    def delete(self, request, source_id):
        actor = actor_from_request(request)
        source_delete(actor=actor, source=source_get(actor=actor, source_id=source_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SourceZonesApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="sources_zones_set",
        request=inline_serializer("ZonesWrite", fields={"zones": serializers.JSONField()}),
        responses=SourceOutput,
    )
    def put(self, request, source_id):
        actor = actor_from_request(request)
        source = source_get(actor=actor, source_id=source_id)
        zones = request.data if isinstance(request.data, list) else _body(request).get("zones")
        if zones is None:
            raise ApplicationError("Send {\"zones\": [...]} (an empty list removes all).", code="missing_zones")
        source = source_zones_set(actor=actor, source=source, zones=zones)
        return Response(SourceOutput(source, context={"request": request}).data)


class SourceDeviceKeyApi(APIView):
    @extend_schema(
        operation_id="sources_device_key_issue", request=None,
        responses={201: inline_serializer("DeviceKeyIssued", fields={
            "source": serializers.UUIDField(), "key": serializers.CharField(help_text="shown this once"),
            "prefix": serializers.CharField(), "push_url": serializers.URLField(),
        })},
    )
    def post(self, request, source_id):
        actor = actor_from_request(request)
        source, key = source_device_key_issue(actor=actor, source=source_get(actor=actor, source_id=source_id))
        return Response({"source": str(source.pk), "key": key, "prefix": source.key_prefix,
                         "push_url": request.build_absolute_uri(reverse("api-device-push"))},
                        status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="sources_device_key_revoke", request=None, responses=SourceOutput)
    def delete(self, request, source_id):
        actor = actor_from_request(request)
        source = source_device_key_revoke(actor=actor, source=source_get(actor=actor, source_id=source_id))
        return Response(SourceOutput(source, context={"request": request}).data)


class SourceFrameApi(APIView):
    """The latest frame: the bureau's camera image, so, like request inputs, not for auditors."""

    @extend_schema(operation_id="sources_frame", responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, source_id):
        actor = actor_from_request(request)
        source = source_get(actor=actor, source_id=source_id)
        inference_request_check_raw_input(actor=actor)
        if not source.last_frame:
            raise NotFound("This source has no frame yet.", code="no_frame")
        try:
            handle = source.last_frame.open("rb")
        except FileNotFoundError:
            raise NotFound("This source has no frame yet.", code="no_frame") from None
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response


class SourceBindingsApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="bindings_list", responses=BindingOutput(many=True))
    def get(self, request, source_id):
        actor = actor_from_request(request)
        source = source_get(actor=actor, source_id=source_id)
        paginator = CappedLimitOffsetPagination()
        page = paginator.paginate_queryset(binding_list(source=source), request, view=self)
        return paginator.get_paginated_response(BindingOutput(page, many=True, context={"request": request}).data)

    @extend_schema(operation_id="bindings_create", request=BINDING_WRITE, responses={201: BindingOutput})
    def post(self, request, source_id):
        actor = actor_from_request(request)
        source = source_get(actor=actor, source_id=source_id)
        data = _body(request, BINDING_FIELDS | {"scenario"})
        binding = binding_create(
            actor=actor, source=source, scenario_slug=data.get("scenario"), params=data.get("params"),
            zone_name=data.get("zone_name", ""), interval_s=data.get("interval_s", 60),
        )
        body = BindingOutput(binding, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["detail_url"]})


class BindingDetailApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="bindings_read", responses=BindingOutput)
    def get(self, request, binding_id):
        actor = actor_from_request(request)
        return Response(BindingOutput(binding_get(actor=actor, binding_id=binding_id),
                                      context={"request": request}).data)

    @extend_schema(operation_id="bindings_update", request=BINDING_WRITE, responses=BindingOutput)
    def patch(self, request, binding_id):
        actor = actor_from_request(request)
        binding = binding_get(actor=actor, binding_id=binding_id)
        binding = binding_update(actor=actor, binding=binding, **_body(request, BINDING_FIELDS | {"enabled"}))
        return Response(BindingOutput(binding, context={"request": request}).data)

    @extend_schema(operation_id="bindings_delete", responses={204: None})
    def delete(self, request, binding_id):
        actor = actor_from_request(request)
        binding_delete(actor=actor, binding=binding_get(actor=actor, binding_id=binding_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


PUSH_SCHEMA = inline_serializer("DevicePush", fields={
    "image": serializers.FileField(required=False, help_text="JPEG/PNG/WebP/BMP frame (multipart)"),
    "series": serializers.JSONField(required=False, help_text="sensor readings: list of numbers or {channel: [...]}"),
    "captured_at": serializers.DateTimeField(required=False, help_text="ISO 8601 with zone; default: now"),
})


class DevicePushApi(APIView):
    """An edge device (drone, patrol phone, sensor) sends one frame or reading with its device key."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [DeviceRateThrottle]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if response.status_code == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Device-Key realm="devices"'
        return response

    @extend_schema(
        operation_id="devices_push",
        request={"multipart/form-data": PUSH_SCHEMA, "application/json": PUSH_SCHEMA},
        responses={202: inline_serializer("DevicePushAccepted", fields={
            "source": serializers.UUIDField(),
            "requests": serializers.ListField(child=serializers.DictField()),
        })},
    )
    def post(self, request):
        source = request.auth
        data = _body(request)
        given = [name for name in ("image", "series") if name in request.FILES or data.get(name) not in (None, "")]
        if len(given) != 1:
            raise ApplicationError(
                f"Send exactly one input: an 'image' file or 'series' readings (got {', '.join(given) or 'none'}).",
                code="missing_input" if not given else "ambiguous_input",
            )
        if given[0] == "image":
            upload = request.FILES.get("image")
            if upload is None:
                raise ApplicationError("Send the image as a multipart file 'image'.", code="invalid_image")
            if upload.size > settings.CITYAI_MAX_UPLOAD_BYTES:
                raise inputs.too_large(upload.size)
            checked = inputs.check_image(upload.read(), upload.name or "")
        else:
            series = data.get("series")
            if isinstance(series, str):
                try:
                    series = json.loads(series)
                except json.JSONDecodeError as exc:
                    raise ApplicationError(f"series is not valid JSON: {exc}", code="invalid_json") from None
            checked = inputs.check_series(series)
        created = device_push_for_source(
            source=source, checked=checked, captured_at=inputs.parse_captured_at(data.get("captured_at")),
        )
        return Response({
            "source": str(source.pk),
            "requests": [{"id": str(r.pk), "scenario": r.scenario.slug,
                          "url": request.build_absolute_uri(reverse("api-request-detail", args=[r.pk]))}
                         for r in created],
        }, status=status.HTTP_202_ACCEPTED)
