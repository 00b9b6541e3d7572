"""The whole path: API → Celery worker → real Triton → requests_finished in the worker → metered."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from services.inference.models import InferenceRequest
from services.reports.models import MeteredRequest, UsageDaily
from tests.images import example

pytestmark = [pytest.mark.triton, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _worker(celery_worker):
    return celery_worker


def test_a_real_request_is_metered_by_the_worker(api_a, bureau_a):
    response = api_a.post(
        "/api/v1/requests?wait=30",
        {"scenario": "crowd-gathering", "image": SimpleUploadedFile("crowd.jpg", example("crowd.jpg"))},
        format="multipart",
    )
    body = response.json()
    for _ in range(4):
        if body["status"] in ("succeeded", "failed"):
            break
        body = api_a.get(f"{body['url']}?wait=30").json()
    assert body["status"] == "succeeded", body
    request = InferenceRequest.objects.get(pk=body["id"])
    # The worker meters right after its commit; give it a moment.
    deadline = time.monotonic() + 10
    while not MeteredRequest.objects.filter(request=request).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    usage = UsageDaily.objects.get(bureau=bureau_a, scenario=request.scenario)
    assert (usage.requests, usage.succeeded, usage.failed) == (1, 1, 0)
    assert usage.compute_ms == pytest.approx(request.compute_ms) and usage.compute_ms > 0
    assert usage.input_bytes == request.input_bytes
    assert sum(usage.latency_hist) == 1 and usage.latency_ms == pytest.approx(request.total_ms)
