"""The whole path: API → Celery worker → real Triton → requests_finished in the worker → an event the
responsible bureau sees through the API."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from services.events.models import Event
from tests.events.conftest import logged_in
from tests.images import example

pytestmark = [pytest.mark.triton, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _worker(celery_worker):
    return celery_worker


def test_the_worker_records_the_event(api_a, owner_op, api_b):
    body = api_a.post(
        "/api/v1/requests?wait=30",
        {"scenario": "crowd-gathering", "source": "east-gate",
         "image": SimpleUploadedFile("crowd.jpg", example("crowd.jpg"))},
        format="multipart",
    ).json()
    for _ in range(4):
        if body["status"] in ("succeeded", "failed"):
            break
        body = api_a.get(f"{body['url']}?wait=30").json()
    assert body["status"] == "succeeded" and body["alert"] is True, body
    # The worker records the event right after its commit; give it a moment.
    deadline = time.monotonic() + 10
    while not Event.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    listed = logged_in(owner_op).get("/api/v1/events?to_review=1").json()
    assert [r["evidence"]["first_request_id"] for r in listed["results"]] == [body["id"]]
    assert listed["results"][0]["source"] == "east-gate"
    assert api_a.get("/api/v1/events").json()["count"] == 1  # the submitting department follows it
    assert api_b.get("/api/v1/events").json()["count"] == 0
