"""REST API for webhooks: register (the secret is in the answer once), list, read, revoke, deliveries."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from services.accounts.selectors import actor_from_request
from services.core.pagination import CappedLimitOffsetPagination
from services.core.parsers import JSONParser
from services.webhooks.models import Webhook, WebhookDelivery
from services.webhooks.selectors import webhook_delivery_get, webhook_delivery_list, webhook_get, webhook_list
from services.webhooks.services import webhook_create, webhook_revoke


class WebhookOutput(serializers.ModelSerializer):
    url = serializers.URLField()
    detail_url = serializers.SerializerMethodField()
    deliveries_url = serializers.SerializerMethodField()
    api_client = serializers.SerializerMethodField()
    bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "api_client", "bureau", "active", "created_at", "revoked_at",
                  "detail_url", "deliveries_url"]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_detail_url(self, obj) -> str:
        return self._absolute(reverse("api-webhook-detail", args=[obj.id]))

    def get_deliveries_url(self, obj) -> str:
        return self._absolute(reverse("api-webhook-deliveries", args=[obj.id]))

    def get_api_client(self, obj) -> dict:
        return {"id": str(obj.api_client_id), "name": obj.api_client.name, "prefix": obj.api_client.prefix}


class DeliveryOutput(serializers.ModelSerializer):
    webhook = serializers.UUIDField(source="webhook_id")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook", "event", "object_id", "status", "attempts", "last_status_code", "last_error",
                  "next_attempt_at", "created_at", "delivered_at", "payload"]


CREATE_SCHEMA = inline_serializer("WebhookCreate", fields={
    "url": serializers.URLField(help_text="https:// (http only to a loopback address)"),
    "events": serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="default: [\"request.finished\"]"),
    "api_client": serializers.UUIDField(required=False, help_text="managers: which of the bureau's clients"),
})


class WebhookListCreateApi(APIView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(operation_id="webhooks_list", responses=WebhookOutput(many=True))
    def get(self, request):
        actor = actor_from_request(request)
        paginator = CappedLimitOffsetPagination()
        page = paginator.paginate_queryset(webhook_list(actor=actor), request, view=self)
        return paginator.get_paginated_response(WebhookOutput(page, many=True, context={"request": request}).data)

    @extend_schema(operation_id="webhooks_create", request=CREATE_SCHEMA, responses={201: WebhookOutput})
    def post(self, request):
        actor = actor_from_request(request)
        events = request.data.get("events")
        if hasattr(request.data, "getlist") and len(request.data.getlist("events")) > 1:
            events = request.data.getlist("events")
        webhook, secret = webhook_create(actor=actor, url=request.data.get("url", ""), events=events,
                                         api_client_id=request.data.get("api_client"))
        body = WebhookOutput(webhook, context={"request": request}).data
        body["secret"] = secret  # shown this once
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["detail_url"]})


class WebhookDetailApi(APIView):
    @extend_schema(operation_id="webhooks_read", responses=WebhookOutput)
    def get(self, request, webhook_id):
        actor = actor_from_request(request)
        return Response(WebhookOutput(webhook_get(actor=actor, webhook_id=webhook_id),
                                      context={"request": request}).data)

    @extend_schema(operation_id="webhooks_revoke", responses=WebhookOutput)
    def delete(self, request, webhook_id):
        actor = actor_from_request(request)
        webhook = webhook_revoke(actor=actor, webhook=webhook_get(actor=actor, webhook_id=webhook_id))
        return Response(WebhookOutput(webhook, context={"request": request}).data)


class WebhookDeliveryListApi(APIView):
    @extend_schema(operation_id="webhook_deliveries_list", responses=DeliveryOutput(many=True))
    def get(self, request, webhook_id):
        actor = actor_from_request(request)
        webhook = webhook_get(actor=actor, webhook_id=webhook_id)
        qs = webhook_delivery_list(actor=actor, webhook=webhook)
        status_filter = request.query_params.get("status")
        if status_filter:
            qs = qs.filter(status=status_filter)
        paginator = CappedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DeliveryOutput(page, many=True).data)


class WebhookDeliveryDetailApi(APIView):
    @extend_schema(operation_id="webhook_deliveries_read", responses=DeliveryOutput)
    def get(self, request, delivery_id):
        actor = actor_from_request(request)
        return Response(DeliveryOutput(webhook_delivery_get(actor=actor, delivery_id=delivery_id)).data)
