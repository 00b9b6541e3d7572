"""REST API for webhooks: register (the secret is in the answer once), list, read, revoke, deliveries."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.utils import html

from services.core import fields
from services.core.api import InputSerializer, ScopedApiView
from services.core.parsers import JSONParser
from services.webhooks.models import Webhook, WebhookDelivery
from services.webhooks.selectors import webhook_delivery_get, webhook_delivery_list, webhook_get, webhook_list
from services.webhooks.services import webhook_create, webhook_revoke


class WebhookOutput(serializers.ModelSerializer):
    url = serializers.URLField()
    detail_url = fields.AbsoluteUrlField("api-webhook-detail")
    deliveries_url = fields.AbsoluteUrlField("api-webhook-deliveries")
    api_client = serializers.SerializerMethodField()
    bureau = fields.RelatedSlugField()
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "api_client", "bureau", "active", "created_at", "revoked_at",
                  "detail_url", "deliveries_url"]

    def get_api_client(self, obj) -> dict:
        return {"id": str(obj.api_client_id), "name": obj.api_client.name, "prefix": obj.api_client.prefix}


class DeliveryOutput(serializers.ModelSerializer):
    webhook = serializers.UUIDField(source="webhook_id")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook", "event", "object_id", "status", "attempts", "last_status_code", "last_error",
                  "next_attempt_at", "created_at", "delivered_at", "payload"]


class UrlField(fields.CodedField, serializers.URLField):
    pass


class EventNamesField(fields.CodedField, serializers.ListField):
    """Event names: a JSON list; a form repeats the field or lists them comma-separated."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(), **kwargs)

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        if html.is_html_input(dictionary) and isinstance(value, list) and len(value) == 1:
            return value[0]  # one form field: the names, comma-separated
        return value

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [name.strip() for name in data.split(",") if name.strip()]
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.UUID)
class ApiClientIdField(serializers.CharField):
    """An API client's id. One that is not a UUID names no client: a 404, like any unknown id."""


@extend_schema_serializer(component_name="WebhookCreate")
class WebhookCreateInput(InputSerializer):
    url = UrlField(code="invalid_url", help_text="https:// (http only to a loopback address)")
    events = EventNamesField(code="invalid_events", required=False, help_text='default: ["request.finished"]')
    api_client = ApiClientIdField(required=False, allow_blank=True,
                                  help_text="managers: which of the bureau's clients")


class WebhookListCreateApi(ScopedApiView):
    parser_classes = [JSONParser, FormParser]

    @extend_schema(operation_id="webhooks_list", responses=WebhookOutput(many=True))
    def get(self, request):
        return self.paginated(webhook_list(actor=self.actor), WebhookOutput)

    @extend_schema(operation_id="webhooks_create", request=WebhookCreateInput, responses={201: WebhookOutput})
    def post(self, request):
        data = self.read(WebhookCreateInput)
        webhook, secret = webhook_create(actor=self.actor, url=data["url"], events=data.get("events"),
                                         api_client_id=data.get("api_client"))
        body = WebhookOutput(webhook, context=self.serializer_context()).data
        body["secret"] = secret  # shown this once
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["detail_url"]})


class WebhookDetailApi(ScopedApiView):
    @extend_schema(operation_id="webhooks_read", responses=WebhookOutput)
    def get(self, request, webhook_id):
        webhook = webhook_get(actor=self.actor, webhook_id=webhook_id)
        return Response(WebhookOutput(webhook, context=self.serializer_context()).data)

    @extend_schema(operation_id="webhooks_revoke", responses=WebhookOutput)
    def delete(self, request, webhook_id):
        webhook = webhook_revoke(actor=self.actor, webhook=webhook_get(actor=self.actor, webhook_id=webhook_id))
        return Response(WebhookOutput(webhook, context=self.serializer_context()).data)


class DeliveryListQuery(InputSerializer):
    others_allowed = True  # the paginator's limit and offset
    status = serializers.ChoiceField(WebhookDelivery.Status.choices, required=False)


class WebhookDeliveryListApi(ScopedApiView):
    @extend_schema(operation_id="webhook_deliveries_list", parameters=[DeliveryListQuery],
                   responses=DeliveryOutput(many=True))
    def get(self, request, webhook_id):
        query = self.read(DeliveryListQuery, request.query_params)
        webhook = webhook_get(actor=self.actor, webhook_id=webhook_id)
        qs = webhook_delivery_list(actor=self.actor, webhook=webhook, status=query.get("status"))
        return self.paginated(qs, DeliveryOutput)


class WebhookDeliveryDetailApi(ScopedApiView):
    @extend_schema(operation_id="webhook_deliveries_read", responses=DeliveryOutput)
    def get(self, request, delivery_id):
        return Response(DeliveryOutput(webhook_delivery_get(actor=self.actor, delivery_id=delivery_id)).data)
