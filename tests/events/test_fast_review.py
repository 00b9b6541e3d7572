"""The fast review queue (/events/fast-review/): each alert awaiting the caller's bureau with its
evidence — the annotated frame of an image alert, the text of a complaint — and forms that work
without script and come back to the queue. Who may not review sees no cards; an auditor sees no
raw input. The keyboard part runs in a real browser in tests/ops/test_browser.py."""

import re

import pytest

from services.accounts.models import Bureau, Membership
from services.accounts.services import member_upsert
from services.events.models import Event, EventReview
from tests.conftest import PASSWORD
from tests.ops.conftest import alert, logged_in  # noqa: F401 - the alert fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_op(catalog):
    bureau = Bureau.objects.get(slug="data-management")
    return member_upsert(bureau=bureau, username="dm_op", password=PASSWORD, role=Membership.Role.OPERATOR).user


def test_cards_show_the_frame_or_the_text_and_review_returns_to_the_queue(bureau_a, data_op, alert, auditor):  # noqa: F811
    alert(bureau_a, slug="urgent-complaint-triage", text="小区门口燃气管道泄漏，气味很大，请尽快处理", source="12345-1")
    photo = alert(bureau_a, slug="complaint-entity-extraction", text="某路段井盖缺失", source="12345-2")
    client = logged_in(data_op)
    html = client.get("/events/fast-review/").content.decode()
    assert len(re.findall(r'class="review-card"', html)) == 2
    assert "燃气管道泄漏" in html and "井盖缺失" in html
    assert 'data-review-url="/api/v1/events/' in html

    event = Event.objects.get(first_request=photo)
    response = client.post(f"/events/{event.pk}/review/", {"decision": "dismiss", "reason": "重复",
                                                          "next": "/events/fast-review/"})
    assert response.status_code == 302 and response["Location"] == "/events/fast-review/"
    assert EventReview.objects.get(event=event).decision == "dismiss"
    html = client.get("/events/fast-review/").content.decode()
    assert len(re.findall(r'class="review-card"', html)) == 1 and "井盖缺失" not in html
    # Somewhere else to go back to is refused: only paths on this site.
    other = Event.objects.exclude(pk=event.pk).get()
    response = client.post(f"/events/{other.pk}/review/", {"decision": "confirm", "next": "//evil.example/"})
    assert response["Location"] == f"/events/{other.pk}/"


def test_images_are_thumbnails_and_outsiders_and_auditors_get_no_cards(bureau_a, operator_b, alert, auditor):  # noqa: F811
    police = Bureau.objects.get(slug="public-security")
    police_op = member_upsert(bureau=police, username="ps_op2", password=PASSWORD, role=Membership.Role.OPERATOR).user
    request = alert(bureau_a, source="cam-9", snapshot=True)
    event = Event.objects.get(first_request=request)
    html = logged_in(police_op).get("/events/fast-review/").content.decode()
    assert f'src="/events/{event.pk}/snapshot.jpg"' in html and 'loading="lazy"' in html
    assert logged_in(police_op).get(f"/events/{event.pk}/snapshot.jpg").status_code == 200
    for outsider in (operator_b, auditor):
        html = logged_in(outsider).get("/events/fast-review/").content.decode()
        assert 'class="review-card"' not in html and str(event.pk) not in html
