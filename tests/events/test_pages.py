"""Portal pages of events: queue, event page, board; another bureau's event is a 404 page."""

import pytest
from django.test import Client

from services.events.models import Event, WorkOrder
from tests.signals import finished_heard

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_forms_and_isolation(fired, owner_op, owner_mgr, operator_a, operator_b):
    request = fired(source="南门广场")
    finished_heard(request.pk)
    event = Event.objects.get()
    op = _client(owner_op)

    queue = op.get("/events/").content.decode()
    assert "南门广场" in queue
    assert str(event.pk) in queue
    assert str(event.pk) not in _client(operator_b).get("/events/?view=all").content.decode()
    assert _client(operator_b).get(f"/events/{event.pk}/").status_code == 404
    assert _client(operator_b).post(f"/events/{event.pk}/review/", {"decision": "confirm"}).status_code == 404

    # The submitting bureau reads the page but has no review form.
    page_a = _client(operator_a).get(f"/events/{event.pk}/").content.decode()
    assert 'name="decision"' not in page_a

    op.post("/events/review/", {"event": [str(event.pk)], "decision": "confirm"})
    assert Event.objects.get().status == "confirmed"
    op.post(f"/events/{event.pk}/dispatch/", {"instructions": "派员"})
    wo = WorkOrder.objects.get()
    board = op.get("/events/board/").content.decode()
    assert f'data-work-order="{wo.pk}"' in board
    op.post(f"/events/work-orders/{wo.pk}/accept/")
    op.post(f"/events/work-orders/{wo.pk}/resolve/", {"note": "已处理"})
    refused = op.post(f"/events/work-orders/{wo.pk}/verify/", follow=True).content.decode()
    assert WorkOrder.objects.get().status == "resolved" and "notice-error" in refused
    _client(owner_mgr).post(f"/events/work-orders/{wo.pk}/verify/")
    assert WorkOrder.objects.get().status == "closed"
    detail = op.get(f"/events/{event.pk}/").content.decode()
    assert detail.count('data-kind="work_order"') == 4 and 'data-kind="review"' in detail
