"""A batch through a real worker and a real Triton: every input its own finished row, metered once,
an event per alert; the worker claims the batch together."""

import pytest

from services.events.models import Event
from services.inference.models import InferenceRequest
from services.reports.models import MeteredRequest, UsageDaily
from tests.images import example

pytestmark = [pytest.mark.triton, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AQI = "air-quality-aqi-alert"


@pytest.fixture(autouse=True)
def _worker(celery_worker):
    return celery_worker


def test_a_batch_of_readings_finishes_row_by_row(api_a, bureau_a):
    clean = {"pm25_24h": [20.0], "pm10_24h": [30.0]}
    dirty = {"pm25_24h": [260.0], "pm10_24h": [400.0]}
    items = [{"series": dirty if i % 3 == 0 else clean} for i in range(12)] + [{"series": {"nope": [1.0]}}]
    response = api_a.post("/api/v1/requests/batch?wait=30", {"scenario": AQI, "items": items}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 13
    results = [item["request"] for item in body["items"]]
    assert [r["status"] for r in results[:12]] == ["succeeded"] * 12
    assert [r["alert"] for r in results[:12]] == [i % 3 == 0 for i in range(12)]
    assert results[12]["status"] == "failed" and results[12]["error"]["code"] in ("model_rejected", "invalid_input")
    assert len({r["id"] for r in results}) == 13
    assert MeteredRequest.objects.count() == 13  # recorded before the callers hear
    usage = UsageDaily.objects.get(bureau=bureau_a, scenario__slug=AQI)
    assert (usage.requests, usage.succeeded, usage.failed, usage.alerts) == (13, 12, 1, 4)
    assert Event.objects.filter(scenario__slug=AQI).count() == 4
    attempts = set(InferenceRequest.objects.values_list("attempts", flat=True))
    assert attempts == {1}


def test_a_batch_of_images_with_one_broken(api_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile("crowd.jpg", example("crowd.jpg")), SimpleUploadedFile("bad.jpg", b"\xff\xd8junk"),
             SimpleUploadedFile("crowd2.jpg", example("crowd.jpg"))]
    response = api_a.post("/api/v1/requests/batch?wait=30", {"scenario": "crowd-gathering", "images": files},
                          format="multipart")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert items[1]["error"]["code"] == "invalid_image"
    for item in (items[0], items[2]):
        assert item["request"]["status"] == "succeeded"
        assert item["request"]["result"]["count"] >= 5
