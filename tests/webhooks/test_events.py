"""Event changes reach the webhook of the department whose request raised the event."""

import pytest
from django.utils import timezone

from services.inference.models import InferenceRequest
from services.webhooks.models import WebhookDelivery
from services.webhooks.services import webhook_delivery_attempt
from tests.signals import finished_heard


@pytest.mark.django_db
def test_event_created_is_delivered_signed(api_a, receiver, django_capture_on_commit_callbacks):
    hook = api_a.post("/api/v1/webhooks", {"url": receiver.url("/events"), "events": ["event.created"]},
                      format="json").json()
    receiver.secrets["/events"] = hook["secret"]
    response = api_a.post("/api/v1/requests", {"scenario": "bridge-vibration-anomaly", "series": [1.0, 2.0, 9.0]},
                          format="json")
    InferenceRequest.objects.filter(pk=response.json()["id"]).update(
        status=InferenceRequest.Status.SUCCEEDED, finished_at=timezone.now(), alert=True,
        result={"summary": "1 anomaly", "anomalies": 1},
    )
    with django_capture_on_commit_callbacks(execute=True):
        finished_heard(response.json()["id"])
    delivery = WebhookDelivery.objects.get()  # request.finished is not subscribed; event.created is
    assert delivery.event == "event.created"
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    call = receiver.calls_to("/events")[0]
    assert call["verified"] and call["event"] == "event.created"
    assert call["body"]["data"]["first_request_id"] == response.json()["id"]
    assert call["body"]["data"]["scenario"] == "bridge-vibration-anomaly"
