"""Fair sharing inside a tier: past its fair share of waiting work, a bureau's requests run as bulk."""

import pytest

from services.catalog.models import Entitlement
from services.inference.models import InferenceRequest

SLUG = "bridge-vibration-anomaly"


def submit(client, i):
    return client.post("/api/v1/requests", {"scenario": SLUG, "series": [float(i), 1.0, 2.0, 1.0]}, format="json")


@pytest.mark.django_db
def test_past_the_fair_share_work_runs_as_bulk(api_a, api_b, settings, django_capture_on_commit_callbacks):
    settings.CITYAI_FAIR_SHARE_QUEUED = 3
    tiers = []
    with django_capture_on_commit_callbacks(execute=False):
        for i in range(5):
            response = submit(api_a, i)
            assert response.status_code == 202
            tiers.append(response.json()["tier"])
        # Bureau B's own share is untouched by A's backlog.
        assert submit(api_b, 0).json()["tier"] == "normal"
    assert tiers == ["normal"] * 3 + ["bulk"] * 2
    assert InferenceRequest.objects.count() == 6


@pytest.mark.django_db
def test_finished_work_frees_the_share(api_a, settings, django_capture_on_commit_callbacks):
    settings.CITYAI_FAIR_SHARE_QUEUED = 1
    with django_capture_on_commit_callbacks(execute=False):
        assert submit(api_a, 0).json()["tier"] == "normal"
        InferenceRequest.objects.update(status=InferenceRequest.Status.SUCCEEDED)
        assert submit(api_a, 1).json()["tier"] == "normal"
        assert submit(api_a, 2).json()["tier"] == "bulk"


@pytest.mark.django_db
def test_high_tier_is_demoted_too_and_bulk_stays_bulk(api_a, bureau_a, settings, django_capture_on_commit_callbacks):
    settings.CITYAI_FAIR_SHARE_QUEUED = 1
    Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(tier=Entitlement.Tier.HIGH)
    with django_capture_on_commit_callbacks(execute=False):
        assert [submit(api_a, i).json()["tier"] for i in range(2)] == ["high", "bulk"]
        Entitlement.objects.filter(bureau=bureau_a, scenario__slug=SLUG).update(tier=Entitlement.Tier.BULK)
        assert [submit(api_a, i).json()["tier"] for i in range(2, 4)] == ["bulk", "bulk"]
