"""POST /api/v1/requests/batch: many inputs of one scenario in one call, each its own request; one bad
input is refused alone with its reason, and the quota counts every input."""

import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from services.catalog.models import Entitlement
from services.inference.models import InferenceRequest

URL = "/api/v1/requests/batch"
SLUG = "bridge-vibration-anomaly"
SERIES = [1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0, 2.0]


def png(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.django_db
def test_a_bad_item_is_refused_alone_and_the_rest_are_queued(api_a, bureau_a):
    items = [{"series": SERIES, "source": "bridge-1"}, {"series": [1, "x"]}, {"series": SERIES, "params": {"z": 1}},
             {"series": SERIES}]
    response = api_a.post(URL, {"scenario": SLUG, "items": items}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["accepted"], body["refused"]) == (2, 2)
    assert [i["index"] for i in body["items"]] == [0, 1, 2, 3]
    assert body["items"][1]["error"]["code"] == "invalid_series"
    assert "every value must be a finite number" in body["items"][1]["error"]["message"]
    assert body["items"][2]["error"]["code"] == "invalid_params"
    accepted = [body["items"][0]["request"], body["items"][3]["request"]]
    assert accepted[0]["source"] == "bridge-1" and accepted[0]["status"] == "queued"
    rows = InferenceRequest.objects.filter(bureau=bureau_a).order_by("created_at")
    assert sorted(str(r.pk) for r in rows) == sorted(a["id"] for a in accepted)
    assert all(r.scenario.slug == SLUG and r.input_data == SERIES for r in rows)


@pytest.mark.django_db
def test_multipart_images_one_unreadable(api_a):
    files = [SimpleUploadedFile("a.png", png()), SimpleUploadedFile("b.png", b"not an image at all"),
             SimpleUploadedFile("c.png", png((80, 60)))]
    response = api_a.post(URL, {"scenario": "crowd-gathering", "images": files}, format="multipart")
    assert response.status_code == 202, response.content
    items = response.json()["items"]
    assert items[1]["error"]["code"] == "invalid_image"
    assert "0x" not in items[1]["error"]["message"]  # no Python object addresses in what people read
    assert [i["request"]["input"]["name"] for i in (items[0], items[2])] == ["a.png", "c.png"]
    assert InferenceRequest.objects.count() == 2


@pytest.mark.django_db
def test_the_quota_takes_as_many_as_are_left(api_a, bureau_a):
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(daily_quota=3)
    assert api_a.post("/api/v1/requests", {"scenario": SLUG, "series": SERIES}, format="json").status_code == 202
    response = api_a.post(URL, {"scenario": SLUG, "items": [{"series": SERIES}] * 4}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["accepted"], body["refused"]) == (2, 2)
    assert {i["error"]["code"] for i in body["items"][2:]} == {"quota_exceeded"}
    assert InferenceRequest.objects.count() == 3
    refused = api_a.post(URL, {"scenario": SLUG, "items": [{"series": SERIES}]}, format="json")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
    assert int(refused["Retry-After"]) > 0


@pytest.mark.django_db
def test_whole_batch_refusals(api_a, api_b):
    too_many = api_a.post(URL, {"scenario": SLUG, "items": [{"series": SERIES}] * 65}, format="json")
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "batch_too_large"
    assert api_a.post(URL, {"scenario": SLUG, "items": []}, format="json").json()["error"]["code"] == "missing_input"
    assert api_a.post(URL, {"scenario": SLUG, "items": {"a": 1}}, format="json").json()["error"]["code"] == (
        "invalid_items")
    wrong_kind = api_a.post(URL, {"scenario": SLUG, "items": [{"image_base64": base64.b64encode(png()).decode()}]},
                            format="json")
    assert wrong_kind.status_code == 400 and wrong_kind.json()["error"]["code"] == "wrong_input_kind"
    assert wrong_kind.json()["error"]["details"]["items"][0]["error"]["code"] == "wrong_input_kind"
    assert InferenceRequest.objects.count() == 0


@pytest.mark.django_db
def test_batch_rows_are_the_bureaus_own(api_a, api_b):
    body = api_a.post(URL, {"scenario": SLUG, "items": [{"series": SERIES}] * 2}, format="json").json()
    for item in body["items"]:
        assert api_a.get(f"/api/v1/requests/{item['request']['id']}").status_code == 200
        assert api_b.get(f"/api/v1/requests/{item['request']['id']}").status_code == 404


@pytest.mark.django_db
def test_the_lean_answer_has_the_documented_fields(api_a):
    """render_request answers without a serializer per call; the OpenAPI schema describes
    InferenceRequestOutput: both must give the same fields and values."""
    from rest_framework.test import APIRequestFactory

    from services.inference.api import InferenceRequestOutput, render_request

    body = api_a.post("/api/v1/requests", {"scenario": SLUG, "series": SERIES}, format="json").json()
    row = InferenceRequest.objects.select_related("scenario", "bureau").get(pk=body["id"])
    http = APIRequestFactory().get("/")
    assert render_request(row, http, None) == dict(InferenceRequestOutput(row, context={"request": http}).data)
