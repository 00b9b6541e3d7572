"""What the events API accepts is its input serializers: a bad body or filter is a 400 whose code names
the problem, the photo of a resolution is held to the upload limit, and nothing changes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from services.events.models import Event, EventReview, WorkOrder
from tests.events.conftest import logged_in
from tests.signals import finished_heard

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(fired) -> Event:
    request = fired()
    finished_heard(request.pk)
    return Event.objects.get(occurrences__request=request)


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_a_review_with_an_unknown_decision_names_the_field(event, owner_op):
    body = error(logged_in(owner_op).post(f"/api/v1/events/{event.pk}/review", {"decision": "maybe"},
                                          format="json"), 400)
    assert body["code"] == "invalid_decision" and list(body["details"]["fields"]) == ["decision"]
    assert body["message"].startswith("decision: ")
    assert not EventReview.objects.exists()


def test_a_field_the_endpoint_does_not_know_is_refused_not_ignored(event, owner_op):
    body = error(logged_in(owner_op).post(f"/api/v1/events/{event.pk}/review",
                                          {"decision": "confirm", "reasno": "typo"}, format="json"), 400)
    assert body["code"] == "unknown_fields" and "reasno" in body["message"]
    assert not EventReview.objects.exists()


def test_a_missing_field_is_missing_field(event, owner_op):
    body = error(logged_in(owner_op).post(f"/api/v1/events/{event.pk}/review", {}, format="json"), 400)
    assert body["code"] == "missing_decision"


def test_several_bad_fields_are_one_invalid_answer(event, owner_op):
    body = error(logged_in(owner_op).post("/api/v1/events/review", {"event_ids": ["x"], "decision": "maybe"},
                                          format="json"), 400)
    assert body["code"] == "invalid" and set(body["details"]["fields"]) == {"event_ids", "decision"}


def test_list_filters_are_read_too(event, owner_op):
    client = logged_in(owner_op)
    assert client.get("/api/v1/events", {"to_review": "true"}).json()["count"] == 1
    assert error(client.get("/api/v1/events", {"to_review": "perhaps"}), 400)["code"] == "invalid_to_review"
    assert error(client.get("/api/v1/work-orders", {"overdue": "perhaps"}), 400)["code"] == "invalid_overdue"
    assert client.get("/api/v1/work-orders", {"overdue": ""}).status_code == 200  # empty: no filter


def test_a_resolution_photo_over_the_limit_is_413(event, owner_op, settings):
    client = logged_in(owner_op)
    client.post(f"/api/v1/events/{event.pk}/review", {"decision": "confirm"}, format="json")
    wo = client.post(f"/api/v1/events/{event.pk}/dispatch", {}, format="json").json()
    assert client.post(f"/api/v1/work-orders/{wo['id']}/accept").status_code == 200
    settings.CITYAI_MAX_UPLOAD_BYTES = 100
    photo = SimpleUploadedFile("scene.jpg", b"\xff\xd8" + b"\x00" * 200, content_type="image/jpeg")
    body = error(client.post(f"/api/v1/work-orders/{wo['id']}/resolve", {"note": "done", "photo": photo},
                             format="multipart"), 413)
    assert body["code"] == "input_too_large" and body["details"] == {"limit_bytes": 100}
    assert WorkOrder.objects.get(pk=wo["id"]).status == "accepted"
    bad = error(client.post(f"/api/v1/work-orders/{wo['id']}/resolve", {"photo": "text"}, format="json"), 400)
    assert bad["code"] == "invalid_photo"  # a photo is a file part, not text
