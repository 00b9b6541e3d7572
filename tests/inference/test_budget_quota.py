"""The monthly compute budget refuses new work once spent, and callers can read what they have left."""

from datetime import timedelta

import pytest
from django.utils import timezone

from services.catalog.models import Entitlement
from services.inference.models import InferenceRequest

URL = "/api/v1/requests"
SLUG = "bridge-vibration-anomaly"
SERIES = [1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0, 2.0]


def submit(client):
    return client.post(URL, {"scenario": SLUG, "series": SERIES}, format="json")


@pytest.mark.django_db
def test_spent_budget_gives_429_budget_exceeded(api_a, bureau_a):
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(monthly_compute_budget_s=2)
    first = submit(api_a)
    assert first.status_code == 202
    InferenceRequest.objects.filter(pk=first.json()["id"]).update(compute_ms=2500)
    refused = submit(api_a)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert error["message"]
    assert error["details"]["budget_s"] == 2
    assert error["details"]["used_s"] == 2.5
    assert int(refused["Retry-After"]) > 0
    assert InferenceRequest.objects.count() == 1


@pytest.mark.django_db
def test_last_months_compute_does_not_count(api_a, bureau_a):
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(monthly_compute_budget_s=2)
    first = submit(api_a)
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    InferenceRequest.objects.filter(pk=first.json()["id"]).update(
        compute_ms=9000, created_at=month_start - timedelta(hours=1)
    )
    assert submit(api_a).status_code == 202


@pytest.mark.django_db
def test_another_bureaus_spending_does_not_count(api_a, api_b, bureau_a, bureau_b):
    Entitlement.objects.filter(scenario__slug=SLUG).update(monthly_compute_budget_s=2)
    spent = submit(api_b)
    InferenceRequest.objects.filter(pk=spent.json()["id"]).update(compute_ms=9000)
    assert submit(api_b).status_code == 429
    assert submit(api_a).status_code == 202


@pytest.mark.django_db
def test_api_client_reads_its_own_quota_and_budget(api_a, bureau_a, bureau_b):
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(
        daily_quota=5, monthly_compute_budget_s=10, tier=Entitlement.Tier.BULK
    )
    first = submit(api_a)
    submit(api_a)
    InferenceRequest.objects.filter(pk=first.json()["id"]).update(compute_ms=1500)
    response = api_a.get("/api/v1/quota")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["bureau"] == "bureau-a"
    row = next(r for r in body["scenarios"] if r["scenario"] == SLUG)
    assert row == {
        "scenario": SLUG, "enabled": True, "tier": "bulk", "daily_quota": 5, "used_today": 2,
        "remaining_today": 3, "requests_this_month": 2, "compute_used_s": 1.5,
        "monthly_compute_budget_s": 10, "compute_remaining_s": 8.5,
    }


@pytest.mark.django_db
def test_quota_of_another_bureau_is_404_except_for_auditors(api_a, api_b, api_auditor, bureau_b):
    assert api_a.get("/api/v1/quota?bureau=bureau-b").status_code == 404
    assert api_a.get("/api/v1/quota?bureau=bureau-b").json()["error"]["code"] == "unknown_bureau"
    submit(api_b)
    seen = api_auditor.get("/api/v1/quota?bureau=bureau-b")
    assert seen.status_code == 200
    assert next(r for r in seen.json()["scenarios"] if r["scenario"] == SLUG)["used_today"] == 1


@pytest.mark.django_db
def test_a_scoped_key_sees_only_its_scenarios(bureau_a):
    from rest_framework.test import APIClient

    from services.accounts.services import api_client_create

    _, key = api_client_create(bureau=bureau_a, name="scoped", scopes=[SLUG])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert [r["scenario"] for r in client.get("/api/v1/quota").json()["scenarios"]] == [SLUG]
