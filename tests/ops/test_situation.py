"""The situation view's figures: scoped like every read, every number a link to the already
filtered list that holds exactly that many rows, read from aggregates (never the request table),
and the JSON endpoint documented in the OpenAPI schema."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from services.accounts.selectors import Actor
from services.events import services as event_services
from services.events.models import Event, WorkOrder
from services.inference.models import InferenceRequest
from services.ops.selectors import situation
from tests.ops.conftest import camera, logged_in

pytestmark = pytest.mark.django_db
REQUEST_ROW = r'href="/requests/[0-9a-f-]{36}/"'


def actor_of(user) -> Actor:
    return Actor(bureau=user.membership.bureau, role=user.membership.role, user=user)


@pytest.fixture
def district(bureau_a, bureau_b, police, police_op, alert):
    """A's crowd alerts go to public security (the scenario's owner); B raises its own. One event of
    public security is confirmed and dispatched to A, overdue."""
    cam_a = camera(bureau_a, "南门公交站", "22.720100", "114.246500")
    cam_b = camera(bureau_b, "乙局仓库", "22.730100", "114.256500")
    alert(bureau_a, source=cam_a.request_source)
    alert(bureau_a, source="", slug="crowd-gathering")
    alert(bureau_b, source=cam_b.request_source, compute_ms=400.0)
    event = Event.objects.filter(source_bureau=bureau_a).order_by("created_at").first()
    event_services.event_review(actor=actor_of(police_op), event_id=event.pk, decision="confirm")
    wo = event_services.work_order_dispatch(actor=actor_of(police_op), event_id=event.pk, assignee_slug="bureau-a")
    WorkOrder.objects.filter(pk=wo.pk).update(due_at=timezone.now() - timedelta(hours=1))
    return {"cam_a": cam_a, "cam_b": cam_b, "event": event}


def counters(data) -> dict:
    return {c["key"]: c for c in data["counters"]}


def test_district_sees_every_bureau_and_a_bureau_its_own(district, ops_centre, operator_a, bureau_b):
    whole = situation(actor=actor_of(ops_centre))
    assert whole["scope"] == {"district": True, "bureau": None}
    c = counters(whole)
    assert c["requests_today"]["value"] == 3 and c["alerts_today"]["value"] == 3
    assert c["open_events"]["value"] == 3 and c["overdue_work_orders"]["value"] == 1
    assert {s["name"] for s in whole["map"]["sources"]} == {"南门公交站", "乙局仓库"}
    assert {r["slug"] for r in whole["bureaus"]} >= {"bureau-a", "bureau-b", "public-security"}

    mine = situation(actor=actor_of(operator_a))
    assert mine["scope"] == {"district": False, "bureau": "bureau-a"}
    c = counters(mine)
    # A's two requests; the events it raised (public security is responsible); the work order it holds.
    assert c["requests_today"]["value"] == 2 and c["open_events"]["value"] == 2
    assert c["overdue_work_orders"]["value"] == 1
    assert [s["name"] for s in mine["map"]["sources"]] == ["南门公交站"]
    assert [r["slug"] for r in mine["bureaus"]] == ["bureau-a"]
    assert mine["bureaus"][0]["overdue"] == 1
    # Its compute share beside one anonymous slice for everyone else.
    labels = [s["label"] for s in mine["compute"]["slices"]]
    assert labels[0] == "甲局" and len(labels) == 2 and "乙局" not in labels
    text = str(mine)
    assert str(district["cam_b"].pk) not in text and "乙局" not in text and "bureau-b" not in text


def test_every_counter_opens_its_filtered_list_with_that_many_rows(district, ops_centre, operator_a):
    for user in (ops_centre, operator_a):
        client = logged_in(user)
        data = client.get("/api/v1/ops/situation").json()
        for c in data["counters"]:
            page = client.get(c["url"])
            assert page.status_code == 200, c["url"]
            html = page.content.decode()
            if c["key"] in ("requests_today", "alerts_today"):
                assert len(re.findall(REQUEST_ROW, html)) == c["value"], c
            elif c["key"] == "open_events":
                assert len(re.findall(r"<tr data-event=", html)) == c["value"], c
            elif c["key"] == "overdue_work_orders":
                assert len(re.findall(r"data-work-order=", html)) == c["value"], c
        for row in data["bureaus"]:
            for key in ("awaiting_review", "overdue"):
                html = client.get(row["urls"][key]).content.decode()
                pattern = r"<tr data-event=" if key == "awaiting_review" else r"data-work-order="
                assert len(re.findall(pattern, html)) == row[key], (row["slug"], key)


def test_new_list_filters_narrow_and_never_widen(district, operator_a, bureau_b, ops_centre):
    client = logged_in(operator_a)
    today = timezone.localdate().isoformat()
    html = client.get("/events/", {"view": "all", "bureau": "bureau-b"}).content.decode()
    assert "<tr data-event=" not in html  # naming another bureau shows nothing of it
    severity = district["event"].severity
    html = client.get("/events/", {"view": "all", "status": "open", "severity": severity,
                                   "domain": "public-safety", "day": today}).content.decode()
    assert len(re.findall(r"<tr data-event=", html)) == 2
    assert "<tr data-event=" not in client.get("/events/", {"view": "all", "day": "2001-01-01"}).content.decode()
    html = client.get("/events/", {"view": "all", "decision": "confirm"}).content.decode()
    assert re.findall(r'<tr data-event="([^"]+)"', html) == [str(district["event"].pk)]
    html = client.get("/requests/", {"day": today, "domain": "public-safety"}).content.decode()
    assert len(re.findall(REQUEST_ROW, html)) == 2
    assert not re.findall(REQUEST_ROW, client.get("/requests/", {"day": "2001-01-01"}).content.decode())
    other = "low" if severity != "low" else "high"
    assert "<tr data-event=" not in client.get("/events/", {"view": "all", "severity": other}).content.decode()
    board = client.get("/events/board/", {"overdue": "1"}).content.decode()
    assert len(re.findall(r"data-work-order=", board)) == 1
    board = logged_in(ops_centre).get("/events/board/", {"bureau": "bureau-b"}).content.decode()
    assert "data-work-order=" not in board


def test_names_follow_the_language_switch(district, ops_centre, police_op):
    client = logged_in(police_op)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/events/", {"view": "all"}).content.decode()
    assert "Public Security Bureau" in html and "公安分局" not in html
    assert "Crowd gathering" in html and "Awaiting review" in html
    data = logged_in(ops_centre)
    data.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = data.get("/api/v1/ops/situation").json()
    assert body["recent_alerts"][0]["scenario_name"] == "Crowd gathering"
    assert {row["slug"]: row["name"] for row in body["bureaus"]}["public-security"] == "Public Security Bureau"


def test_the_view_reads_aggregates_not_the_request_table(district, ops_centre, operator_a):
    table = InferenceRequest._meta.db_table
    for user in (ops_centre, operator_a):
        client = logged_in(user)
        for path in ("/api/v1/ops/situation", "/ops/", "/ops/wall/", "/ops/map/"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            touching = [q["sql"] for q in queries.captured_queries if f'"{table}"' in q["sql"]]
            assert touching == [], (path, touching[:1])


def test_json_endpoint_is_in_the_openapi_schema(ops_centre):
    schema = logged_in(ops_centre).get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/ops/situation"]["get"]
    assert operation["operationId"] == "ops_situation"
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]
    assert {"counters", "trends", "bureaus", "compute", "lowest_precision", "recent_alerts", "map"} <= set(fields)


def test_pages_need_a_login_and_speak_chinese_first(district, ops_centre, client):
    assert client.get("/ops/").status_code == 302
    assert client.get("/api/v1/ops/situation").status_code in (401, 403)
    html = logged_in(ops_centre).get("/ops/").content.decode()
    assert "全区态势" in html and "最后更新" in html and "数据表" in html
    wall = logged_in(ops_centre).get("/ops/wall/").content.decode()
    assert "theme-dark" in wall and 'class="mainnav' not in wall
