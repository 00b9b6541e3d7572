"""REST API for sources (cameras, devices), their zones, bindings and device keys, and the device push.

Managers of the owning bureau write; operators, the bureau's API clients and auditors read; another
bureau's source or binding is a 404. Camera URLs are shown without their password. What each endpoint
accepts is its input serializer (``services.sources.serializers``), which the schema shows too.
"""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from services.core import fields
from services.core.api import ScopedApiView
from services.core.errors import NotFound
from services.core.parsers import JSONParser, MultiPartParser
from services.inference import inputs
from services.inference.access import inference_request_check_raw_input
from services.sources import selectors
from services.sources.authentication import DeviceKeyAuthentication, DeviceRateThrottle
from services.sources.grabbers import masked_url
from services.sources.models import Binding, Source
from services.sources.serializers import (
    BindingInput,
    BindingUpdateInput,
    DevicePushInput,
    SourceInput,
    SourceListQuery,
    SourceUpdateInput,
    ZonesInput,
)
from services.sources.services import (
    binding_create,
    binding_delete,
    binding_update,
    device_push_for_source,
    source_actor,
    source_create,
    source_delete,
    source_device_key_issue,
    source_device_key_revoke,
    source_update,
    source_zones_set,
)


class SourceOutput(serializers.ModelSerializer):
    detail_url = fields.AbsoluteUrlField("api-source-detail")
    bindings_url = fields.AbsoluteUrlField("api-source-bindings")
    frame_url = fields.AbsoluteUrlField("api-source-frame", when="last_frame")
    bureau = fields.RelatedSlugField()
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

    def get_url(self, obj) -> str:
        return masked_url(obj.url)


class BindingOutput(serializers.ModelSerializer):
    detail_url = fields.AbsoluteUrlField("api-binding-detail")
    source = serializers.UUIDField(source="source_id")
    scenario = fields.RelatedSlugField()
    last_request = serializers.SerializerMethodField()

    class Meta:
        model = Binding
        fields = ["id", "detail_url", "source", "scenario", "params", "zone_name", "interval_s", "enabled",
                  "next_run_at", "last_run_at", "last_request", "last_error", "created_at"]

    def get_last_request(self, obj) -> dict | None:
        if obj.last_request_id is None:
            return None
        path = reverse("api-request-detail", args=[obj.last_request_id])
        return {"id": str(obj.last_request_id), "url": fields.absolute_url(self.context.get("request"), path)}


class SourcesApiView(ScopedApiView):
    """The sources API's views: JSON bodies; rows are fetched through the actor's scope."""

    parser_classes = [JSONParser]

    def source(self, source_id) -> Source:
        return selectors.source_get(actor=self.actor, source_id=source_id)

    def binding(self, binding_id) -> Binding:
        return selectors.binding_get(actor=self.actor, binding_id=binding_id)

    def answer(self, output: type[serializers.Serializer], obj, *, created: bool = False) -> Response:
        """``obj`` rendered by ``output``; a new row answers 201 with its address in ``Location``."""
        body = output(obj, context=self.serializer_context()).data
        if created:
            return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["detail_url"]})
        return Response(body)

class SourceListCreateApi(SourcesApiView):
    @extend_schema(operation_id="sources_list", parameters=[SourceListQuery], responses=SourceOutput(many=True))
    def get(self, request):
        query = self.read(SourceListQuery, request.query_params)
        return self.paginated(selectors.source_list(actor=self.actor, **query), SourceOutput)

    @extend_schema(operation_id="sources_create", request=SourceInput, responses={201: SourceOutput})
    def post(self, request):
        return self.answer(SourceOutput, source_create(actor=self.actor, **self.read(SourceInput)), created=True)


class SourceDetailApi(SourcesApiView):
    @extend_schema(operation_id="sources_read", responses=SourceOutput)
    def get(self, request, source_id):
        return self.answer(SourceOutput, self.source(source_id))

    @extend_schema(operation_id="sources_update", request=SourceUpdateInput, responses=SourceOutput)
    def patch(self, request, source_id):
        source = self.source(source_id)
        changes = self.read(SourceUpdateInput, source=source)
        return self.answer(SourceOutput, source_update(actor=self.actor, source=source, **changes))

    @extend_schema(operation_id="sources_delete", responses={204: None})
    def delete(self, request, source_id):
        source_delete(actor=self.actor, source=self.source(source_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SourceZonesApi(SourcesApiView):
    @extend_schema(operation_id="sources_zones_set", request=ZonesInput, responses=SourceOutput)
    def put(self, request, source_id):
        source = self.source(source_id)
        # The bare list is accepted too, as the zone editor's JSON is that list.
        zones = self.read(ZonesInput, {"zones": request.data} if isinstance(request.data, list) else None)
        return self.answer(SourceOutput, source_zones_set(actor=self.actor, source=source, **zones))


class SourceDeviceKeyApi(SourcesApiView):
    @extend_schema(
        operation_id="sources_device_key_issue", request=None,
        responses={201: inline_serializer("DeviceKeyIssued", fields={
            "source": serializers.UUIDField(), "key": serializers.CharField(help_text="shown this once"),
            "prefix": serializers.CharField(), "push_url": serializers.URLField(),
        })},
    )
    def post(self, request, source_id):
        source, key = source_device_key_issue(actor=self.actor, source=self.source(source_id))
        return Response({"source": str(source.pk), "key": key, "prefix": source.key_prefix,
                         "push_url": fields.absolute_url(request, reverse("api-device-push"))},
                        status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="sources_device_key_revoke", request=None, responses=SourceOutput)
    def delete(self, request, source_id):
        return self.answer(SourceOutput, source_device_key_revoke(actor=self.actor, source=self.source(source_id)))


class SourceFrameApi(SourcesApiView):
    """The latest frame: the bureau's camera image, so, like request inputs, not for auditors."""

    @extend_schema(operation_id="sources_frame", responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    def get(self, request, source_id):
        source = self.source(source_id)
        inference_request_check_raw_input(actor=self.actor)
        frame = selectors.source_frame_open(source=source)
        if frame is None:
            raise NotFound("This source has no frame yet.", code="no_frame")
        response = FileResponse(frame, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response


class SourceBindingsApi(SourcesApiView):
    @extend_schema(operation_id="bindings_list", responses=BindingOutput(many=True))
    def get(self, request, source_id):
        return self.paginated(selectors.binding_list(source=self.source(source_id)), BindingOutput)

    @extend_schema(operation_id="bindings_create", request=BindingInput, responses={201: BindingOutput})
    def post(self, request, source_id):
        source = self.source(source_id)
        binding = binding_create(actor=self.actor, source=source, **self.read(BindingInput))
        return self.answer(BindingOutput, binding, created=True)


class BindingDetailApi(SourcesApiView):
    @extend_schema(operation_id="bindings_read", responses=BindingOutput)
    def get(self, request, binding_id):
        return self.answer(BindingOutput, self.binding(binding_id))

    @extend_schema(operation_id="bindings_update", request=BindingUpdateInput, responses=BindingOutput)
    def patch(self, request, binding_id):
        binding = self.binding(binding_id)
        return self.answer(BindingOutput, binding_update(actor=self.actor, binding=binding,
                                                         **self.read(BindingUpdateInput)))

    @extend_schema(operation_id="bindings_delete", responses={204: None})
    def delete(self, request, binding_id):
        binding_delete(actor=self.actor, binding=self.binding(binding_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DevicePushApi(ScopedApiView):
    """An edge device (drone, patrol phone, sensor) sends one frame or reading with its device key."""

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [DeviceRateThrottle]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def resolve_actor(self, request):
        """The device's source acting for its bureau (``request.auth``), as when it is pulled: a device
        has no membership for the usual resolver to find."""
        return source_actor(request.auth)

    @extend_schema(
        operation_id="devices_push",
        request={"multipart/form-data": DevicePushInput, "application/json": DevicePushInput},
        responses={202: inline_serializer("DevicePushAccepted", fields={
            "source": serializers.UUIDField(),
            "requests": serializers.ListField(child=serializers.DictField()),
        })},
    )
    def post(self, request):
        source = request.auth
        data = self.read(DevicePushInput)
        image = data.get("image")
        checked = inputs.check_image(image.content, image.name) if image else inputs.check_series(data["series"])
        created = device_push_for_source(source=source, checked=checked, captured_at=data.get("captured_at"))
        return Response({
            "source": str(source.pk),
            "requests": [{"id": str(r.pk), "scenario": r.scenario.slug,
                          "url": fields.absolute_url(request, reverse("api-request-detail", args=[r.pk]))}
                         for r in created],
        }, status=status.HTTP_202_ACCEPTED)
