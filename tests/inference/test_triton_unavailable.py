"""With the inference server unreachable, a request is retried with backoff a bounded number of times,
then fails with a readable error — it is never lost and never left running."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from services.inference.models import InferenceRequest
from services.inference.tritonserver import free_port
from tests.images import example

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_unreachable_triton_fails_after_bounded_retries(api_a, worker_factory):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    worker_factory(extra_env={
        "TRITON_URL": dead, "CITYAI_TASK_MAX_RETRIES": "3", "CITYAI_TASK_RETRY_BACKOFF_SECONDS": "0.3",
        "TRITON_TIMEOUT_SECONDS": "2",
    })
    response = api_a.post(
        "/api/v1/requests",
        {"scenario": "crowd-gathering", "image": SimpleUploadedFile("c.jpg", example("crowd.jpg"))},
        format="multipart",
    )
    assert response.status_code == 202
    request_id = response.json()["id"]
    deadline = time.monotonic() + 60
    row = InferenceRequest.objects.get(pk=request_id)
    while not row.is_terminal and time.monotonic() < deadline:
        time.sleep(0.3)
        row.refresh_from_db()
    assert row.status == "failed"
    assert row.error_code == "inference_unavailable"
    assert "unavailable after 3 attempts" in row.error_message
    assert row.attempts == 3 and row.finished_at is not None
    body = api_a.get(f"/api/v1/requests/{request_id}").json()
    assert body["error"]["code"] == "inference_unavailable"
