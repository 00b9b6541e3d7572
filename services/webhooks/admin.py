from django.contrib import admin

from services.webhooks.models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["url", "api_client", "bureau", "created_at", "revoked_at"]
    exclude = ["secret"]
    readonly_fields = ["bureau", "api_client", "created_by", "revoked_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "object_id", "webhook", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "event"]
