"""A seeded month of finished requests (no Triton: rows written directly), bureau managers, and
helpers that compute the expected figures straight from the request rows."""

import math
from datetime import date

import pytest
from rest_framework.test import APIClient

from bench.synthetic import seed_requests
from services.accounts.models import Bureau, Membership
from services.accounts.selectors import Actor
from services.accounts.services import member_upsert
from services.catalog.models import Scenario
from services.inference.models import InferenceRequest
from services.reports.services import day_bounds, metering_zone, usage_rebuild
from tests.conftest import PASSWORD

# The event loop's people and a fired request, for the outcome tests (precision, response times).
from tests.events.conftest import fired, owner, owner_mgr, owner_op  # noqa: F401

MONTH = "2026-11"
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
SEEDED = 2500


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are made in every test here; the real hasher's deliberate slowness only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def manager_a(bureau_a):
    return member_upsert(bureau=bureau_a, username="mgr_a", password=PASSWORD, role=Membership.Role.MANAGER).user


@pytest.fixture
def manager_b(bureau_b):
    return member_upsert(bureau=bureau_b, username="mgr_b", password=PASSWORD, role=Membership.Role.MANAGER).user


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def auditor_actor(auditor) -> Actor:
    return Actor(bureau=auditor.membership.bureau, role=Membership.Role.AUDITOR, user=auditor)


@pytest.fixture
def seeded_month(bureau_a, bureau_b):
    """2,500 finished requests over November 2026 across every bureau (A and B among them), plus
    rows the report must leave out: unfinished ones, and ones just outside the month's local days."""
    bureaus = list(Bureau.objects.exclude(slug="audit-office"))
    scenarios = list(Scenario.objects.filter(status=Scenario.Status.ACTIVE))
    seed_requests(first=FIRST, last=LAST, count=SEEDED, bureaus=bureaus, scenarios=scenarios, seed=11)
    # Outside the month by minutes (local time), and not finished: none of these may count.
    seed_requests(first=date(2026, 10, 31), last=date(2026, 10, 31), count=40, bureaus=bureaus,
                  scenarios=scenarios, seed=12)
    seed_requests(first=date(2026, 12, 1), last=date(2026, 12, 1), count=40, bureaus=bureaus,
                  scenarios=scenarios, seed=13)
    lo, _ = day_bounds(FIRST, LAST)
    unfinished = InferenceRequest.objects.filter(created_at__gte=lo).order_by("created_at")[:25]
    InferenceRequest.objects.filter(pk__in=[r.pk for r in unfinished]).update(
        status=InferenceRequest.Status.RUNNING, finished_at=None, total_ms=None
    )
    usage_rebuild(first=date(2026, 10, 1), last=date(2026, 12, 31))
    return MONTH


def month_requests(first=FIRST, last=LAST):
    lo, hi = day_bounds(first, last)
    return InferenceRequest.objects.filter(
        created_at__gte=lo, created_at__lt=hi, status__in=InferenceRequest.TERMINAL
    ).select_related("bureau", "scenario__domain")


def expected_figures(rows, key) -> dict:
    """Figures per group computed the plain way, from request rows."""
    groups: dict = {}
    for r in rows:
        g = groups.setdefault(key(r), {"requests": 0, "succeeded": 0, "failed": 0, "alerts": 0, "compute_ms": 0.0,
                                       "queue_ms": 0.0, "input_bytes": 0, "latencies": []})
        ok = r.status == InferenceRequest.Status.SUCCEEDED
        g["requests"] += 1
        g["succeeded"] += ok
        g["failed"] += not ok
        g["alerts"] += bool(ok and r.alert)
        g["compute_ms"] += r.compute_ms or 0
        g["queue_ms"] += r.queue_ms or 0
        g["input_bytes"] += r.input_bytes
        if ok:
            g["latencies"].append(r.total_ms)
    return groups


def exact_percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the definition the histogram estimates."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def local_day(r) -> date:
    return r.created_at.astimezone(metering_zone()).date()
