"""End to end through a real Celery worker: requests_finished → delivery task → retries → delivered."""

import time

import pytest
from django.utils import timezone

from services.inference.models import InferenceRequest
from services.webhooks.models import WebhookDelivery
from tests.processes import WorkerProcess
from tests.signals import finished_heard

Status = WebhookDelivery.Status


@pytest.fixture
def webhook_worker(transactional_db, artifacts_dir):
    """A worker with short backoffs; it needs no Triton (no inference request is enqueued here)."""
    worker = WorkerProcess(
        "127.0.0.1:1", artifacts_dir / "worker-webhooks.log", concurrency=1,
        extra_env={"CITYAI_WEBHOOK_BACKOFF_SECONDS": "0.2", "CITYAI_WEBHOOK_MAX_ATTEMPTS": "4"},
    ).start()
    yield worker
    worker.stop()


def settle(delivery_ids, limit_s: float = 60.0) -> list[WebhookDelivery]:
    """Poll the log until every delivery is settled; the limit only bounds a broken run."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        rows = list(WebhookDelivery.objects.filter(pk__in=delivery_ids).order_by("webhook__url"))
        if all(r.status != Status.PENDING for r in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"deliveries still pending: {[(r.status, r.attempts) for r in rows]}")


def test_worker_retries_flaky_endpoint_and_gives_up_on_dead_one(webhook_worker, api_a, receiver):
    for path in ("/flaky", "/down"):
        body = api_a.post("/api/v1/webhooks", {"url": receiver.url(path)}, format="json").json()
        receiver.secrets[path] = body["secret"]
    receiver.fail_first.update({"/flaky": 2, "/down": -1})
    response = api_a.post("/api/v1/requests", {"scenario": "bridge-vibration-anomaly", "series": [1.0, 2.0]},
                          format="json")
    InferenceRequest.objects.filter(pk=response.json()["id"]).update(
        status=InferenceRequest.Status.FAILED, finished_at=timezone.now(), error_code="timeout",
        error_message="The request took longer than the time limit.",
    )
    finished_heard(response.json()["id"])  # committed: enqueued

    down, flaky = settle(WebhookDelivery.objects.values_list("pk", flat=True))
    assert (flaky.status, flaky.attempts, flaky.last_status_code) == (Status.SUCCEEDED, 3, 204)
    assert (down.status, down.attempts, down.last_status_code) == (Status.FAILED, 4, 503)
    assert len(receiver.calls_to("/flaky")) == 3 and len(receiver.calls_to("/down")) == 4
    assert all(c["verified"] for c in receiver.calls)
    assert receiver.calls_to("/flaky")[-1]["body"]["data"]["error"]["code"] == "timeout"
