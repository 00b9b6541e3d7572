from django.urls import path

from services.webhooks import api, views

# JSON API, mounted under /api/v1/.
urlpatterns = [
    path("webhooks", api.WebhookListCreateApi.as_view(), name="api-webhooks"),
    path("webhooks/<uuid:webhook_id>", api.WebhookDetailApi.as_view(), name="api-webhook-detail"),
    path("webhooks/<uuid:webhook_id>/deliveries", api.WebhookDeliveryListApi.as_view(),
         name="api-webhook-deliveries"),
    path("webhook-deliveries/<uuid:delivery_id>", api.WebhookDeliveryDetailApi.as_view(),
         name="api-webhook-delivery-detail"),
]

# The webhooks tab of bureau administration, mounted with the accounts app's pages at /bureau/.
bureau_urlpatterns = [
    path("webhooks/", views.bureau_webhooks, name="webhooks"),
    path("webhooks/<uuid:webhook_id>/revoke/", views.bureau_webhook_revoke, name="webhook-revoke"),
]
