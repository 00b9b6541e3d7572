"""A worker killed with SIGKILL in the middle of a request: after a restart the request completes,
exactly once. Triton is paused (SIGSTOP) so that the kill lands while the model call is in flight."""

import os
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from services.inference.models import InferenceRequest
from tests.images import example
from tests.processes import wait_for

pytestmark = [pytest.mark.triton, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Short limits so the test runs in well under a minute; the order matters as in production:
# Triton timeout < soft < hard time limit < claim lease < broker visibility timeout.
FAST_RECOVERY = {
    "TRITON_TIMEOUT_SECONDS": "5",
    "CELERY_TASK_SOFT_TIME_LIMIT": "7",
    "CELERY_TASK_TIME_LIMIT": "9",
    "CITYAI_CLAIM_LEASE_SECONDS": "11",
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "15",
    "CITYAI_DRAIN_MAX_SECONDS": "3",  # at most half the soft limit (inference.E002)
}


def submit(client) -> str:
    response = client.post(
        "/api/v1/requests",
        {"scenario": "crowd-gathering", "image": SimpleUploadedFile("c.jpg", example("crowd.jpg"))},
        format="multipart",
    )
    assert response.status_code == 202
    return response.json()["id"]


def test_request_survives_a_killed_worker(api_a, worker_factory, triton_server):
    # One pool process, warmed up by a first request, so that its gRPC connection is open: a call to
    # the paused server then blocks (instead of failing fast while connecting).
    first = worker_factory(extra_env=FAST_RECOVERY, concurrency=1)
    warm = submit(api_a)
    wait_for(lambda: InferenceRequest.objects.get(pk=warm).status == "succeeded", 60, "the warm-up request")
    os.kill(triton_server.pid, signal.SIGSTOP)
    try:
        request_id = submit(api_a)
        wait_for(lambda: InferenceRequest.objects.get(pk=request_id).status == "running", 20, "the claim")
        time.sleep(0.5)  # the worker is now blocked inside the Triton call
        first.kill()
    finally:
        os.kill(triton_server.pid, signal.SIGCONT)

    row = InferenceRequest.objects.get(pk=request_id)
    assert row.status == "running" and row.attempts == 1

    worker_factory(extra_env=FAST_RECOVERY)
    row = wait_for(
        lambda: (r := InferenceRequest.objects.get(pk=request_id)).is_terminal and r, 60, "completion after restart"
    )
    assert row.status == "succeeded", (row.error_code, row.error_message)
    assert row.attempts == 2
    assert row.result["count"] >= 5
    assert len(row.model_calls) == 1  # only the run that finished wrote its record
    finished_at = row.finished_at
    time.sleep(3)
    row.refresh_from_db()
    assert row.finished_at == finished_at and row.status == "succeeded"  # nothing ran it a third time
