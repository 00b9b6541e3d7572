"""Who sees which figures: auditors all bureaus, a manager their own, operators none."""

import pytest

from services.reports.models import UsageDaily
from tests.reports.conftest import FIRST, LAST, session_client

pytestmark = pytest.mark.django_db


def test_manager_sees_only_their_bureau(seeded_month, manager_b, bureau_b):
    client = session_client(manager_b)
    body = client.get("/api/v1/usage/bureaus", {"month": "2026-11"}).json()
    assert [row["key"] for row in body["rows"]] == ["bureau-b"]
    scenarios = client.get("/api/v1/usage/scenarios", {"month": "2026-11"}).json()["rows"]
    own = sum(UsageDaily.objects.filter(bureau=bureau_b, day__gte=FIRST, day__lte=LAST).values_list(
        "requests", flat=True))
    assert sum(row["requests"] for row in scenarios) == own
    # Their share is of the whole platform's compute, so it is a real chargeback share.
    assert 0 < body["rows"][0]["compute_share"] < 1


def test_manager_cannot_see_another_bureau(seeded_month, manager_b):
    client = session_client(manager_b)
    response = client.get("/api/v1/usage/bureaus", {"month": "2026-11", "bureau": "bureau-a"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_bureau"
    assert client.get("/reports/", {"bureau": "bureau-a"}).status_code == 404
    assert client.get("/reports/export.xlsx", {"bureau": "bureau-a"}).status_code == 404
    page = client.get("/reports/", {"month": "2026-11"}).content.decode()
    assert "甲局" not in page and "bureau-a" not in page


def test_operators_and_api_keys_get_no_reports(seeded_month, operator_a, api_a):
    client = session_client(operator_a)
    response = client.get("/api/v1/usage/bureaus")
    assert response.status_code == 403 and response.json()["error"]["code"] == "reports_forbidden"
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/export.csv").status_code == 403
    assert api_a.get("/api/v1/usage/summary").status_code == 403


def test_only_auditors_open_the_audit_log(manager_a, auditor, client):
    assert session_client(manager_a).get("/reports/audit/").status_code == 403
    assert session_client(auditor).get("/reports/audit/").status_code == 200
    assert client.get("/reports/audit/").status_code == 302  # to the login page


def test_auditor_may_pick_any_bureau(seeded_month, auditor):
    body = session_client(auditor).get("/api/v1/usage/bureaus", {"month": "2026-11", "bureau": "bureau-a"}).json()
    assert [row["key"] for row in body["rows"]] in (["bureau-a"], [])
