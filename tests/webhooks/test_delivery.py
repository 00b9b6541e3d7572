"""Webhook deliveries: signed, retried with bounded exponential backoff, logged; against a real HTTP server."""

import pytest
from django.utils import timezone

from services.inference.models import InferenceRequest
from services.webhooks.models import WebhookDelivery
from services.webhooks.services import backoff_seconds, webhook_delivery_attempt
from tests.signals import finished_heard

SLUG = "bridge-vibration-anomaly"
Status = WebhookDelivery.Status


def finished_request(client) -> InferenceRequest:
    response = client.post("/api/v1/requests", {"scenario": SLUG, "series": [1.0, 2.0, 1.0, 9.0]}, format="json")
    assert response.status_code == 202, response.content
    InferenceRequest.objects.filter(pk=response.json()["id"]).update(
        status=InferenceRequest.Status.SUCCEEDED, finished_at=timezone.now(), alert=True,
        result={"summary": "1 anomaly"},
    )
    return InferenceRequest.objects.get(pk=response.json()["id"])


def register(client, receiver, path: str) -> dict:
    response = client.post("/api/v1/webhooks", {"url": receiver.url(path)}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    receiver.secrets[path] = body["secret"]
    return body


def deliver_until_settled(delivery_id) -> list[float]:
    """Run the attempts the task would run, without sleeping between them; the waits it asked for."""
    waits = []
    while (wait := webhook_delivery_attempt(delivery_id=delivery_id)) is not None:
        waits.append(wait)
        assert len(waits) < 50
    return waits


@pytest.mark.django_db
def test_flaky_endpoint_gets_it_on_the_third_attempt(api_a, receiver, settings):
    settings.CITYAI_WEBHOOK_BACKOFF_SECONDS = 10
    settings.CITYAI_WEBHOOK_MAX_ATTEMPTS = 6
    hook = register(api_a, receiver, "/flaky")
    receiver.fail_first["/flaky"] = 2
    request = finished_request(api_a)
    finished_heard(request.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.object_id, str(delivery.webhook_id)) == (
        "request.finished", str(request.pk), hook["id"])

    assert deliver_until_settled(delivery.pk) == [10, 20]
    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (3, 204, "")
    calls = receiver.calls_to("/flaky")
    assert len(calls) == 3 and all(c["verified"] for c in calls)
    assert {c["delivery"] for c in calls} == {str(delivery.pk)}
    data = calls[0]["body"]["data"]
    assert calls[0]["event"] == "request.finished"
    assert (data["request_id"], data["status"], data["alert"], data["summary"]) == (
        str(request.pk), "succeeded", True, "1 anomaly")
    assert "input_data" not in data and "series" not in str(data)


@pytest.mark.django_db
def test_dead_endpoint_ends_failed_after_bounded_retries(api_a, receiver, settings):
    settings.CITYAI_WEBHOOK_BACKOFF_SECONDS = 10
    settings.CITYAI_WEBHOOK_BACKOFF_MAX_SECONDS = 30
    settings.CITYAI_WEBHOOK_MAX_ATTEMPTS = 5
    register(api_a, receiver, "/down")
    receiver.fail_first["/down"] = -1
    finished_heard(finished_request(api_a).pk)
    delivery = WebhookDelivery.objects.get()
    assert deliver_until_settled(delivery.pk) == [10, 20, 30, 30]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.FAILED, 5, 503)
    assert delivery.last_error == "HTTP 503" and delivery.next_attempt_at is None
    assert len(receiver.calls_to("/down")) == 5
    # Settled: a redelivered task does nothing more.
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.calls_to("/down")) == 5


@pytest.mark.django_db
def test_wrong_secret_is_refused_by_the_receiver(api_a, receiver):
    register(api_a, receiver, "/ok")
    receiver.secrets["/ok"] = "whsec_not-the-one"
    finished_heard(finished_request(api_a).pk)
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_status_code == 401 and delivery.status == Status.PENDING


@pytest.mark.django_db
def test_unreachable_endpoint_is_logged_as_an_error(api_a, receiver):
    register(api_a, receiver, "/gone")
    from services.webhooks.models import Webhook

    Webhook.objects.update(url="http://127.0.0.1:9/gone")  # discard port: nothing listens
    finished_heard(finished_request(api_a).pk)
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is not None
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and delivery.last_error


@pytest.mark.django_db
def test_one_delivery_per_event_and_only_for_the_calling_client(api_a, api_b, receiver):
    register(api_a, receiver, "/ok")
    request = finished_request(api_a)
    finished_heard(request.pk)
    finished_heard(request.pk)  # heard twice
    finished_heard(finished_request(api_b).pk)  # B has no hook
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_revoked_webhook_gets_nothing_more(api_a, receiver):
    hook = register(api_a, receiver, "/ok")
    finished_heard(finished_request(api_a).pk)
    assert api_a.delete(f"/api/v1/webhooks/{hook['id']}").json()["active"] is False
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED and receiver.calls_to("/ok") == []
    finished_heard(finished_request(api_a).pk)
    assert WebhookDelivery.objects.count() == 1


def test_backoff_is_exponential_and_capped(settings):
    settings.CITYAI_WEBHOOK_BACKOFF_SECONDS = 2
    settings.CITYAI_WEBHOOK_BACKOFF_MAX_SECONDS = 20
    assert [backoff_seconds(n) for n in range(1, 7)] == [2, 4, 8, 16, 20, 20]
