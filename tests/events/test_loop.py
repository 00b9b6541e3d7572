"""The governance loop on PostgreSQL: review → dispatch → accept → resolve with a photo → verify →
closed; send back; overdue; roles and isolation; precision from review rows; the change signal."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from services.audit.models import AuditEntry
from services.events import services
from services.events.models import Event, EventReview, WorkOrder, WorkOrderTransition
from services.events.selectors import precision_for, work_order_list
from services.events.signals import event_changed
from services.events.tasks import mark_overdue_work_orders
from tests.events.conftest import actor_of, logged_in
from tests.signals import finished_heard

pytestmark = pytest.mark.django_db


def _event(fired, **kwargs) -> Event:
    request = fired(**kwargs)
    finished_heard(request.pk)
    return Event.objects.get(occurrences__request=request)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def changes():
    seen: list[tuple[str, str]] = []

    def listen(sender, event_id, change, work_order_id=None, **kwargs):
        seen.append((str(event_id), change))

    event_changed.connect(listen, dispatch_uid="test-listen")
    yield seen
    event_changed.disconnect(dispatch_uid="test-listen")


def test_whole_loop_through_the_api(fired, owner_op, owner_mgr, operator_a, operator_b, changes,
                                    django_capture_on_commit_callbacks):
    event = _event(fired)
    op, mgr, outsider = logged_in(owner_op), logged_in(owner_mgr), logged_in(operator_b)

    # Outsider: 404 on everything; the submitting bureau sees but may not review.
    assert outsider.get("/api/v1/events").json()["count"] == 0
    assert outsider.post(f"/api/v1/events/{event.pk}/review", {"decision": "confirm"}).status_code == 404
    assert logged_in(operator_a).get("/api/v1/events").json()["count"] == 1
    denied = logged_in(operator_a).post(f"/api/v1/events/{event.pk}/review", {"decision": "confirm"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_allowed"
    assert op.get("/api/v1/events?to_review=1").json()["count"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert op.post(f"/api/v1/events/{event.pk}/review", {"decision": "confirm", "reason": "现场核实"},
                       format="json").json()["status"] == "confirmed"
    assert op.post(f"/api/v1/events/{event.pk}/review", {"decision": "dismiss", "reason": "x"}).status_code == 409

    with django_capture_on_commit_callbacks(execute=True):
        created = op.post(f"/api/v1/events/{event.pk}/dispatch", {"instructions": "派员疏导"}, format="json")
    assert created.status_code == 201, created.json()
    wo = created.json()
    assert wo["status"] == "dispatched" and wo["assignee_bureau"] == "public-security" and not wo["overdue"]
    due = WorkOrder.objects.get(pk=wo["id"]).due_at - WorkOrder.objects.get(pk=wo["id"]).dispatched_at
    assert due == timedelta(hours=4)  # high severity (public safety) → 4 h
    url = f"/api/v1/work-orders/{wo['id']}"

    assert outsider.get(url).status_code == 404
    assert outsider.post(f"{url}/accept").status_code == 404
    assert op.post(f"{url}/resolve", {"note": "done"}).status_code == 409  # not accepted yet
    with django_capture_on_commit_callbacks(execute=True):
        assert op.post(f"{url}/accept").json()["status"] == "accepted"
    bad = op.post(f"{url}/resolve", {"note": "已疏散", "photo": io.BytesIO(b"not an image")}, format="multipart")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_image"
    photo = io.BytesIO(_jpeg())
    photo.name = "scene.jpg"
    with django_capture_on_commit_callbacks(execute=True):
        resolved = op.post(f"{url}/resolve", {"note": "已疏散", "photo": photo}, format="multipart").json()
    assert resolved["status"] == "resolved" and resolved["resolution_photo_url"]
    assert b"".join(op.get(f"{url}/photo").streaming_content)[:2] == b"\xff\xd8"

    # Verification: a manager of the dispatching bureau, not its operator.
    assert op.post(f"{url}/verify").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        closed = mgr.post(f"{url}/verify", {"note": "照片确认"}, format="json").json()
    assert closed["status"] == "closed"
    assert [(h["from"], h["to"]) for h in closed["history"]] == [
        ("", "dispatched"), ("dispatched", "accepted"), ("accepted", "resolved"), ("resolved", "closed")]
    assert closed["history"][-1]["actor"] == "user:ps_mgr"
    assert Event.objects.get(pk=event.pk).status == "closed"

    entries = AuditEntry.objects.filter(object_id__in=[str(event.pk), wo["id"]]).order_by("seq")
    assert [e.action for e in entries] == ["review"] + ["work_order"] * 4
    assert [c for e, c in changes if e == str(event.pk)] == [
        "confirmed", "dispatched", "accepted", "resolved", "closed"]

    # The submitting bureau follows the event and its work order; the outsider still sees nothing.
    body = logged_in(operator_a).get(f"/api/v1/events/{event.pk}").json()
    assert body["work_order"]["status"] == "closed" and body["review"]["decision"] == "confirm"
    assert outsider.get("/api/v1/work-orders").json()["count"] == 0


def test_send_back_returns_to_accepted_with_the_reason(fired, owner_op, owner_mgr):
    event = _event(fired)
    op, mgr = actor_of(owner_op), actor_of(owner_mgr)
    services.event_review(actor=op, event_id=event.pk, decision="confirm")
    wo = services.work_order_dispatch(actor=op, event_id=event.pk)
    services.work_order_accept(actor=op, work_order_id=wo.pk)
    services.work_order_resolve(actor=op, work_order_id=wo.pk, note="劝离")
    with pytest.raises(services.ApplicationError):
        services.work_order_send_back(actor=mgr, work_order_id=wo.pk, reason=" ")
    services.work_order_send_back(actor=mgr, work_order_id=wo.pk, reason="照片看不清")
    wo.refresh_from_db()
    assert wo.status == "accepted" and wo.resolved_at is None
    last = WorkOrderTransition.objects.filter(work_order=wo).last()
    assert (last.from_status, last.to_status, last.note) == ("resolved", "accepted", "照片看不清")
    services.work_order_resolve(actor=op, work_order_id=wo.pk, note="再次处理", photo=_jpeg(), photo_name="a.jpg")
    services.work_order_verify(actor=mgr, work_order_id=wo.pk)
    assert WorkOrder.objects.get(pk=wo.pk).status == "closed"
    assert WorkOrderTransition.objects.filter(work_order=wo).count() == 6


def test_overdue_is_computed_and_flagged_by_the_beat_task(fired, owner_op, operator_b, changes,
                                                          django_capture_on_commit_callbacks):
    op = actor_of(owner_op)
    late, on_time = _event(fired, source="cam-1"), _event(fired, source="cam-2")
    orders = []
    for event in (late, on_time):
        services.event_review(actor=op, event_id=event.pk, decision="confirm")
        orders.append(services.work_order_dispatch(actor=op, event_id=event.pk))
    WorkOrder.objects.filter(pk=orders[0].pk).update(due_at=timezone.now() - timedelta(minutes=1))

    assert [wo.pk for wo in work_order_list(actor=op, overdue=True)] == [orders[0].pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert mark_overdue_work_orders() == 1
    assert mark_overdue_work_orders() == 0  # flagged once
    assert WorkOrder.objects.get(pk=orders[0].pk).overdue_since is not None
    assert WorkOrder.objects.get(pk=orders[1].pk).overdue_since is None
    assert (str(late.pk), "overdue") in changes
    listed = logged_in(owner_op).get("/api/v1/work-orders?overdue=1").json()
    assert [r["id"] for r in listed["results"]] == [str(orders[0].pk)]
    assert logged_in(operator_b).get("/api/v1/work-orders?overdue=1").json()["count"] == 0


def test_bulk_review_is_all_or_nothing_and_precision_counts_review_rows(fired, owner_op, operator_a, auditor):
    events = [_event(fired, source=f"cam-{i}") for i in range(4)]
    op = logged_in(owner_op)
    ids = [str(e.pk) for e in events]

    # One event already reviewed refuses the whole batch.
    services.event_review(actor=actor_of(owner_op), event_id=ids[3], decision="dismiss", reason="误报：广告牌人像")
    refused = op.post("/api/v1/events/review", {"event_ids": ids, "decision": "confirm"}, format="json")
    assert refused.status_code == 409 and EventReview.objects.count() == 1
    # The submitting bureau may not review in bulk either.
    assert logged_in(operator_a).post("/api/v1/events/review", {"event_ids": ids[:3], "decision": "confirm"},
                                      format="json").status_code == 403
    done = op.post("/api/v1/events/review", {"event_ids": ids[:2], "decision": "confirm"}, format="json")
    assert done.json() == {"reviewed": ids[:2]}
    assert op.post("/api/v1/events/review", {"event_ids": ids[2:3], "decision": "dismiss"},
                   format="json").json()["error"]["code"] == "reason_required"

    precision = precision_for(events[0].scenario)
    assert (precision.confirmed, precision.dismissed, precision.reviewed) == (2, 1, 3)
    assert precision.value == pytest.approx(2 / 3)
    page = logged_in(auditor).get("/catalog/crowd-gathering/").content.decode()
    assert 'data-precision="0.667"' in page and "67%" in page


def test_routing_events_go_to_the_routed_bureau(fired, bureau_a, auditor):
    event = _event(fired, slug="complaint-routing", source="12345",
                   result={"summary": "→ 交通运输局 (transport), confidence 0.41", "bureau": "transport",
                           "confidence": 0.41, "matched_keywords": ["占道"], "runner_ups": [{"bureau": "x"}]})
    assert event.bureau.slug == "transport" and event.source_bureau == bureau_a
    assert event.excerpt.startswith("路口有人占道经营")
    assert event.values == {"bureau": "transport", "confidence": 0.41, "matched_keywords": ["占道"]}
    assert event.severity == "low"
    # The complaint text is the bureau's input: auditors see the routing, not the excerpt.
    assert logged_in(auditor).get(f"/api/v1/events/{event.pk}").json()["evidence"]["excerpt"] is None
    assert "路口有人占道经营" not in logged_in(auditor).get(f"/events/{event.pk}/").content.decode()


def test_a_dismissed_event_is_not_merged_into(fired, owner_op):
    first = _event(fired, source="cam-9")
    services.event_review(actor=actor_of(owner_op), event_id=first.pk, decision="dismiss", reason="误报")
    second = _event(fired, source="cam-9")
    assert second.pk != first.pk and Event.objects.filter(source="cam-9").count() == 2


def test_new_and_merged_events_are_announced(fired, changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = _event(fired, source="cam-7")
        again = _event(fired, source="cam-7")
    assert again.pk == event.pk
    assert changes == [(str(event.pk), "created"), (str(event.pk), "merged")]


def test_event_list_queries_do_not_grow_with_events(fired, owner_op):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    op = logged_in(owner_op)
    counts = []
    for n in (1, 6):
        while Event.objects.count() < n:
            event = _event(fired, source=f"cam-{Event.objects.count()}")
            services.event_review(actor=actor_of(owner_op), event_id=event.pk, decision="confirm")
            services.work_order_dispatch(actor=actor_of(owner_op), event_id=event.pk)
        with CaptureQueriesContext(connection) as queries:
            assert op.get("/api/v1/events").json()["count"] == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_alerts_without_a_source_do_not_merge(fired):
    assert _event(fired, source="").pk != _event(fired, source="").pk
