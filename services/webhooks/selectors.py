"""Reads of webhooks and their deliveries, always through the bureau scope.

An API client sees only its own webhooks; a bureau's people see all of their bureau's; auditors and
platform admins see all. Anything else is a 404, as for any other bureau's object.
"""

from django.db.models import QuerySet

from services.accounts.models import Bureau
from services.accounts.selectors import Actor, get_scoped_or_404, scope_to_actor
from services.core.errors import NotFound
from services.core.filters import filter_given
from services.webhooks.models import Webhook, WebhookDelivery


def webhook_list(*, actor: Actor, bureau: Bureau | None = None) -> QuerySet:
    """``bureau`` narrows the scope to one bureau (the administration tab shows the manager's own)."""
    qs = filter_given(scope_to_actor(Webhook.objects.select_related("api_client", "bureau"), actor), bureau=bureau)
    if actor.api_client is not None:
        qs = qs.filter(api_client=actor.api_client)
    return qs


def webhook_get(*, actor: Actor, webhook_id) -> Webhook:
    webhook = webhook_list(actor=actor).filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound()
    return webhook


def webhook_delivery_list(*, actor: Actor, webhook: Webhook | None = None, bureau: Bureau | None = None,
                          status: str | None = None) -> QuerySet:
    """One webhook's deliveries, or (without ``webhook``) every delivery in scope, newest first."""
    qs = scope_to_actor(WebhookDelivery.objects.select_related("webhook"), actor)
    return filter_given(qs, webhook=webhook, bureau=bureau, status=status).order_by("-created_at")


def webhook_delivery_get(*, actor: Actor, delivery_id) -> WebhookDelivery:
    delivery = get_scoped_or_404(WebhookDelivery.objects.select_related("webhook"), actor, pk=delivery_id)
    if actor.api_client is not None and delivery.webhook.api_client_id != actor.api_client.pk:
        raise NotFound()
    return delivery
