"""An event from a real finished request: crowd.jpg through the real Triton object detector, the
crowd-gathering rule fires, inference's requests_finished runs the events receiver after commit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from services.events.models import Event, EventOccurrence
from services.inference.models import InferenceRequest
from tests.events.conftest import logged_in
from tests.images import example
from tests.signals import finished_heard

pytestmark = pytest.mark.triton


def test_alert_becomes_event_merges_and_splits_after_the_window(
    run_scenario, django_capture_on_commit_callbacks, owner_op, operator_a, operator_b, auditor, settings
):
    settings.CITYAI_EVENT_MERGE_MINUTES = 10
    image = example("crowd.jpg")
    start = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        first = run_scenario("crowd-gathering", image=image, source="bus-stop-3", at=start)
    assert first.status == InferenceRequest.Status.SUCCEEDED and first.alert is True
    event = Event.objects.get()
    assert (event.bureau.slug, event.source_bureau.slug, event.source) == ("public-security", "bureau-a", "bus-stop-3")
    assert event.severity == "high" and event.status == "new" and event.first_request_id == first.pk
    assert event.values["count"] == first.result["count"] >= 5
    assert event.summary == first.result["summary"]

    # The signal may arrive twice: still one event, one occurrence.
    finished_heard(first.pk)
    assert Event.objects.count() == 1 and EventOccurrence.objects.count() == 1

    # Five minutes later from the same camera: the same event.
    with django_capture_on_commit_callbacks(execute=True):
        second = run_scenario("crowd-gathering", image=image, source="bus-stop-3", at=start + timedelta(minutes=5))
    event.refresh_from_db()
    assert Event.objects.count() == 1
    assert event.occurrence_count == 2 and event.last_request_id == second.pk
    assert event.last_seen_at == second.created_at

    # Twenty minutes after the last firing: a new event.
    with django_capture_on_commit_callbacks(execute=True):
        third = run_scenario("crowd-gathering", image=image, source="bus-stop-3", at=start + timedelta(minutes=25))
    assert Event.objects.count() == 2
    assert EventOccurrence.objects.get(request=third).event_id != event.pk

    # Both bureaus see it with its snapshot; the outsider gets 404.
    for user in (owner_op, operator_a):
        body = logged_in(user).get(f"/api/v1/events/{event.pk}").json()
        assert body["occurrence_count"] == 2
        assert body["request_ids"] == [str(first.pk), str(second.pk)]
        snapshot = logged_in(user).get(f"/api/v1/events/{event.pk}/snapshot.jpg")
        assert snapshot.status_code == 200 and b"".join(snapshot.streaming_content)[:2] == b"\xff\xd8"
    assert logged_in(operator_b).get(f"/api/v1/events/{event.pk}").status_code == 404
    assert logged_in(operator_b).get(f"/api/v1/events/{event.pk}/snapshot.jpg").status_code == 404
    # Auditors read the event's results, not the submitted frame (the annotated snapshot is the input).
    audited = logged_in(auditor).get(f"/api/v1/events/{event.pk}").json()
    assert audited["evidence"]["snapshot_url"] is None and audited["evidence"]["values"]["count"] >= 5
    assert logged_in(auditor).get(f"/api/v1/events/{event.pk}/snapshot.jpg").status_code == 403
    assert logged_in(auditor).get(f"/events/{event.pk}/snapshot.jpg").status_code == 403
