"""Reports read precision and work-order response times from the events app's real rows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from services.accounts.models import Membership
from services.accounts.services import member_upsert
from services.events import services
from services.events.models import Event, WorkOrder
from services.reports.selectors import usage_report
from services.reports.services import metering_zone
from tests.conftest import PASSWORD
from tests.events.conftest import actor_of, logged_in
from tests.signals import finished_heard

pytestmark = pytest.mark.django_db


def test_report_outcomes_count_reviews_and_response_times(fired, owner_op, owner_mgr, auditor, bureau_b):
    op, mgr = actor_of(owner_op), actor_of(owner_mgr)
    events = []
    for i in range(3):
        request = fired(source=f"cam-{i}")
        finished_heard(request.pk)
        events.append(Event.objects.get(occurrences__request=request))
    services.event_review(actor=op, event_id=events[2].pk, decision="dismiss", reason="误报")
    for event, hours in ((events[0], 1.0), (events[1], 3.0)):
        services.event_review(actor=op, event_id=event.pk, decision="confirm")
        wo = services.work_order_dispatch(actor=op, event_id=event.pk)
        services.work_order_accept(actor=op, work_order_id=wo.pk)
        services.work_order_resolve(actor=op, work_order_id=wo.pk, note="处理完毕")
        WorkOrder.objects.filter(pk=wo.pk).update(resolved_at=wo.dispatched_at + timedelta(hours=hours))
    services.work_order_verify(actor=mgr, work_order_id=wo.pk)

    today = timezone.now().astimezone(metering_zone()).date()
    report = usage_report(actor=actor_of(auditor), first=today.replace(day=1), last=today)
    [row] = report.outcomes
    f = row.figures
    assert row.scenario.slug == "crowd-gathering"
    assert (f.confirmed, f.dismissed, f.work_orders, f.resolved, f.closed, f.overdue) == (2, 1, 2, 2, 1, 0)
    assert f.precision == pytest.approx(2 / 3)
    assert f.mean_response_h == pytest.approx(2.0) and f.median_response_h == pytest.approx(2.0)

    body = logged_in(auditor).get("/api/v1/usage/scenarios", {"month": f"{today:%Y-%m}"}).json()
    assert body["event_outcomes"][0]["precision"] == pytest.approx(2 / 3)
    page = logged_in(auditor).get("/reports/", {"month": f"{today:%Y-%m}"}).content.decode()
    assert 'data-scenario="crowd-gathering"' in page and "67%" in page
    # The responsible bureau's manager sees them in its own report; another bureau's manager does not.
    assert len(usage_report(actor=mgr, first=today.replace(day=1), last=today).outcomes) == 1
    outsider = member_upsert(bureau=bureau_b, username="mgr_b", password=PASSWORD, role=Membership.Role.MANAGER)
    assert usage_report(actor=actor_of(outsider.user), first=today.replace(day=1), last=today).outcomes == []
