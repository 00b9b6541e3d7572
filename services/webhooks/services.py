"""Writes for webhooks: register and revoke a callback, record an event for delivery, attempt a delivery.

Delivery is at least once: every attempt carries the delivery id (``X-CityAI-Delivery``) so a receiver
can drop a repeat. The signature is HMAC-SHA256 with the webhook's secret over ``<timestamp>.<body>``
(``X-CityAI-Signature: t=<timestamp>,v1=<hex>``); receivers recompute it and reject old timestamps.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from services.accounts.models import ApiClient, Membership
from services.accounts.selectors import Actor, get_scoped_or_404
from services.core.errors import ApplicationError, NotFound, PermissionDenied
from services.webhooks.models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status

# Event names a webhook may subscribe to; apps that send more (events, work orders) register theirs.
EVENTS: dict[str, str] = {"request.finished": "An inference request succeeded or failed."}
SIGNATURE_HEADER = "X-CityAI-Signature"
DELIVER_TASK = "services.webhooks.tasks.deliver_webhook"  # enqueued by name: services never import tasks


def webhook_event_register(name: str, description: str) -> None:
    EVENTS[name] = description


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def _check_url(url: str) -> str:
    """https anywhere; plain http only to this machine (local receivers and tests)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if len(url) > 500 or parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise ApplicationError("url must be an https:// URL (at most 500 characters, no credentials).",
                               code="invalid_url")
    if parts.scheme == "http":
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ApplicationError("Plain http is only allowed to a loopback address; use https.",
                                   code="invalid_url")
    return url


def _check_events(events: Any) -> list[str]:
    if events in (None, "", []):
        return ["request.finished"]
    if isinstance(events, str):
        events = [e.strip() for e in events.split(",") if e.strip()]
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ApplicationError("events must be a list of event names.", code="invalid_events")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ApplicationError(f"Unknown events {', '.join(unknown)}; known: {', '.join(sorted(EVENTS))}.",
                               code="invalid_events")
    return sorted(set(events))


def _owning_client(actor: Actor, api_client_id) -> ApiClient:
    """An API client registers for itself; a bureau manager for any client of their bureau."""
    if actor.api_client is not None:
        if api_client_id not in (None, "", str(actor.api_client.pk)):
            raise PermissionDenied("An API key registers webhooks for itself only.", code="other_client")
        return actor.api_client
    if actor.bureau is None or actor.role not in (Membership.Role.MANAGER, Membership.Role.PLATFORM_ADMIN):
        raise PermissionDenied("Only bureau managers and API clients register webhooks.",
                               code="cannot_manage_webhooks")
    if not api_client_id:
        raise ApplicationError("Name the API client (api_client).", code="missing_api_client")
    try:
        return get_scoped_or_404(ApiClient.objects.all(), Actor(bureau=actor.bureau, role=Membership.Role.MANAGER),
                                 pk=api_client_id)
    except (ValueError, ValidationError, ApplicationError):
        raise NotFound("No such API client.", code="unknown_api_client") from None


def webhook_create(*, actor: Actor, url: str, events: Any = None, api_client_id=None) -> tuple[Webhook, str]:
    """Register a callback; returns it with its secret, which is shown this once."""
    client = _owning_client(actor, api_client_id)
    if not client.is_active:
        raise ApplicationError("That API client is revoked or expired.", code="inactive_api_client")
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    webhook = Webhook.objects.create(
        bureau=client.bureau, api_client=client, url=_check_url(url), secret=secret,
        events=_check_events(events), created_by=actor.user,
    )
    return webhook, secret


def webhook_revoke(*, actor: Actor, webhook: Webhook) -> Webhook:
    if actor.api_client is not None and webhook.api_client_id != actor.api_client.pk:
        raise PermissionDenied("An API key revokes its own webhooks only.", code="other_client")
    if actor.api_client is None and actor.role not in (Membership.Role.MANAGER, Membership.Role.PLATFORM_ADMIN):
        raise PermissionDenied("Only bureau managers and API clients revoke webhooks.",
                               code="cannot_manage_webhooks")
    if webhook.revoked_at is None:
        webhook.revoked_at = timezone.now()
        webhook.save(update_fields=["revoked_at"])
    return webhook


def webhook_event_emit(*, api_client_id, event: str, object_id, data: dict) -> list[WebhookDelivery]:
    """Record ``event`` for every active webhook of the client that subscribed to it; send on commit.

    Idempotent per (webhook, event, object): a signal heard twice records one delivery.
    """
    if api_client_id is None:
        return []
    created = []
    for webhook in Webhook.objects.filter(api_client_id=api_client_id, revoked_at__isnull=True):
        if event not in webhook.events:
            continue
        delivery = WebhookDelivery(
            webhook=webhook, bureau_id=webhook.bureau_id, event=event, object_id=str(object_id),
            next_attempt_at=timezone.now(),
        )
        delivery.payload = {
            "id": str(delivery.id), "event": event, "created_at": timezone.now().isoformat(), "data": data,
        }
        try:
            with transaction.atomic():
                delivery.save()
        except IntegrityError:
            continue  # already recorded
        created.append(delivery)
        transaction.on_commit(lambda d=delivery: _enqueue(d.pk))
    return created


def _enqueue(delivery_id, countdown: float | None = None) -> None:
    try:
        current_app.send_task(DELIVER_TASK, args=[str(delivery_id)], countdown=countdown)
    except Exception:
        # The row says what is due; webhook_deliveries_requeue_due sends it later.
        logger.exception("could not enqueue webhook delivery %s", delivery_id)


def backoff_seconds(attempt: int) -> float:
    """Exponential and bounded: base, 2×base, 4×base … up to the cap."""
    return min(settings.CITYAI_WEBHOOK_BACKOFF_MAX_SECONDS,
               settings.CITYAI_WEBHOOK_BACKOFF_SECONDS * 2 ** max(0, attempt - 1))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is an answer, not an invitation to post elsewhere


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.CITYAI_WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:2000]


def webhook_delivery_attempt(*, delivery_id) -> float | None:
    """Make one attempt; return seconds until the next one, or None when the delivery is settled."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Status.PENDING:
        return None
    webhook = delivery.webhook
    if webhook.revoked_at is not None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.FAILED, last_error="The webhook was revoked.", next_attempt_at=None)
        return None
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    code, error = _post(webhook.url, body, {
        "Content-Type": "application/json",
        "User-Agent": "CityAI-Webhooks/1",
        "X-CityAI-Event": delivery.event,
        "X-CityAI-Delivery": str(delivery.pk),
        "X-CityAI-Timestamp": str(timestamp),
        SIGNATURE_HEADER: signature_header(webhook.secret, timestamp, body),
    })
    attempts = delivery.attempts + 1
    now = timezone.now()
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
            status=Status.SUCCEEDED, attempts=attempts, last_status_code=code, last_error="",
            delivered_at=now, next_attempt_at=None)
        return None
    if not error:
        error = f"HTTP {code}"
    if attempts >= settings.CITYAI_WEBHOOK_MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
            status=Status.FAILED, attempts=attempts, last_status_code=code, last_error=error, next_attempt_at=None)
        logger.warning("webhook delivery %s failed after %d attempts: %s", delivery.pk, attempts, error)
        return None
    delay = backoff_seconds(attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING).update(
        attempts=attempts, last_status_code=code, last_error=error, next_attempt_at=now + timedelta(seconds=delay))
    return delay


def webhook_deliveries_requeue_due(*, now=None) -> int:
    """Send again what is due but lost its message (broker restarted empty); a duplicate is harmless
    for the receiver, who deduplicates on the delivery id."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    due = WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lt=now - grace)
    ids = list(due.values_list("pk", flat=True)[:1000])
    for delivery_id in ids:
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=now)
        _enqueue(delivery_id)
    return len(ids)
