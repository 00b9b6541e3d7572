"""The request API's checks: every bad input is a 4xx JSON error and leaves no row behind."""

import io
import json

import pytest
from PIL import Image
from rest_framework.test import APIClient

from services.inference.models import InferenceRequest

URL = "/api/v1/requests"


def png_bytes(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(buf, "PNG")
    return buf.getvalue()


def upload(data: bytes, name="x.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def post(client, **data):
    return client.post(URL, data, format="multipart")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert InferenceRequest.objects.count() == 0


@pytest.mark.django_db
def test_without_a_key_the_api_answers_401_json(catalog):
    response = APIClient().post(URL, {"scenario": "crowd-gathering"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_wrong_key_is_refused(catalog):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key cai_deadbeef_nope")
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_unknown_scenario(api_a):
    assert_error(post(api_a, scenario="no-such-thing", image=upload(png_bytes())), 404, "unknown_scenario")


@pytest.mark.django_db
def test_non_image_upload(api_a):
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(b"%PDF-1.4 not an image")), 400, "invalid_image")


@pytest.mark.django_db
def test_empty_upload(api_a):
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(b"")), 400, "invalid_image")


@pytest.mark.django_db
def test_truncated_jpeg(api_a):
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (10, 200, 30)).save(buf, "JPEG")
    truncated = buf.getvalue()[: len(buf.getvalue()) // 2]
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(truncated, "t.jpg")), 400, "invalid_image")


@pytest.mark.django_db
def test_decompression_bomb_is_refused_before_decoding(api_a, settings):
    settings.CITYAI_MAX_IMAGE_PIXELS = 1_000_000
    big = png_bytes((2000, 2000))
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(big)), 413, "image_too_large")


@pytest.mark.django_db
def test_upload_over_the_size_limit(api_a, settings):
    settings.CITYAI_MAX_UPLOAD_BYTES = 100
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(png_bytes())), 413, "input_too_large")


@pytest.mark.django_db
def test_params_that_violate_the_schema(api_a):
    response = post(api_a, scenario="crowd-gathering", image=upload(png_bytes()),
                    params=json.dumps({"min_count": -3}))
    assert_error(response, 400, "invalid_params")
    assert "min_count" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_unknown_object_class_in_params(api_a):
    response = post(api_a, scenario="crowd-gathering", image=upload(png_bytes()),
                    params=json.dumps({"classes": ["unicorn"]}))
    assert_error(response, 400, "invalid_params")
    assert "unicorn" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_malformed_params_json(api_a):
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(png_bytes()), params="{nope"), 400,
                 "invalid_json")


@pytest.mark.django_db
def test_malformed_json_body(api_a):
    response = api_a.post(URL, data="{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


@pytest.mark.django_db
def test_missing_input(api_a):
    assert_error(api_a.post(URL, {"scenario": "crowd-gathering"}, format="json"), 400, "missing_input")


@pytest.mark.django_db
def test_text_for_an_image_scenario(api_a):
    response = api_a.post(URL, {"scenario": "crowd-gathering", "text": "hello"}, format="json")
    assert_error(response, 400, "wrong_input_kind")


@pytest.mark.django_db
def test_nul_characters_are_refused(api_a):
    response = api_a.post(URL, {"scenario": "illegal-advertising", "image_base64": "AA==",
                                "params": {"keywords": ["a\u0000b"]}}, format="json")
    assert response.status_code == 400
    assert InferenceRequest.objects.count() == 0


@pytest.mark.django_db
def test_bad_wait_value(api_a):
    response = api_a.post(f"{URL}?wait=abc", {"scenario": "crowd-gathering", "text": "x"}, format="json")
    assert_error(response, 400, "invalid_wait")


@pytest.mark.django_db
def test_auditor_cannot_submit(api_auditor):
    response = post(api_auditor, scenario="crowd-gathering", image=upload(png_bytes()))
    assert_error(response, 403, "cannot_submit")


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api_a):
    response = api_a.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_accepted_request_is_recorded_and_scoped(api_a, api_b, bureau_a):
    image = png_bytes()
    response = post(api_a, scenario="crowd-gathering", image=upload(image))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["bureau"] == bureau_a.slug
    row = InferenceRequest.objects.get()
    assert row.input_bytes == len(image) and row.params["min_count"] == 5
    assert row.input_file.read() == image

    assert api_a.get(body["url"]).status_code == 200
    other = api_b.get(body["url"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert api_b.get(URL).json()["count"] == 0
    assert api_a.get(URL).json()["count"] == 1


@pytest.mark.django_db
def test_idempotency_key_returns_the_first_request(api_a):
    image = png_bytes()
    first = api_a.post(URL, {"scenario": "crowd-gathering", "image": upload(image)}, format="multipart",
                       HTTP_IDEMPOTENCY_KEY="cam-7-2026-11-27T10:00")
    again = api_a.post(URL, {"scenario": "crowd-gathering", "image": upload(image)}, format="multipart",
                       HTTP_IDEMPOTENCY_KEY="cam-7-2026-11-27T10:00")
    assert first.status_code == 202 and again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replay"] == "true"
    assert InferenceRequest.objects.count() == 1
    other_input = api_a.post(URL, {"scenario": "crowd-gathering", "image": upload(png_bytes((32, 32)))},
                             format="multipart", HTTP_IDEMPOTENCY_KEY="cam-7-2026-11-27T10:00")
    assert other_input.status_code == 409
    assert other_input.json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.django_db
def test_daily_quota_gives_429_with_retry_after(api_a, bureau_a):
    from services.catalog.models import Entitlement

    Entitlement.objects.filter(bureau=bureau_a, scenario__slug="crowd-gathering").update(daily_quota=2)
    for _ in range(2):
        assert post(api_a, scenario="crowd-gathering", image=upload(png_bytes())).status_code == 202
    response = post(api_a, scenario="crowd-gathering", image=upload(png_bytes()))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "quota_exceeded"
    assert int(response["Retry-After"]) > 0
    assert InferenceRequest.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["yesterday", "2026-11-28T10:00:00", "2999-01-01T00:00:00+08:00", "9" * 80])
def test_a_capture_time_that_is_not_a_past_zoned_iso_time_is_refused(api_a, value):
    assert_error(post(api_a, scenario="crowd-gathering", image=upload(png_bytes()), captured_at=value), 400,
                 "invalid_captured_at")


@pytest.mark.django_db
def test_the_capture_time_is_recorded_and_defaults_to_the_submit_time(api_a):
    given = post(api_a, scenario="crowd-gathering", image=upload(png_bytes()), source="cam-1",
                 captured_at="2026-01-05T08:30:00+08:00")
    assert given.status_code == 202, given.content
    assert given.json()["captured_at"].startswith("2026-01-05T")
    row = InferenceRequest.objects.get(pk=given.json()["id"])
    assert row.captured_at.isoformat() == "2026-01-05T00:30:00+00:00"
    default = post(api_a, scenario="crowd-gathering", image=upload(png_bytes()))
    row = InferenceRequest.objects.get(pk=default.json()["id"])
    assert abs((row.captured_at - row.created_at).total_seconds()) < 1
