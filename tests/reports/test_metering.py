"""Metering: each finished request counts once, whether by signal, catch-up or rebuild."""

import io
import random
from datetime import date, datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from bench.synthetic import seed_requests
from services.accounts.models import Bureau, Membership
from services.accounts.selectors import Actor
from services.catalog.models import Scenario
from services.inference import inputs
from services.inference.models import InferenceRequest
from services.inference.services import inference_request_execute, inference_request_submit
from services.reports import metering
from services.reports.models import MeteredRequest, UsageDaily
from services.reports.services import metering_zone, usage_meter_missed, usage_rebuild
from tests.reports.conftest import exact_percentile
from tests.signals import finished_heard

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 10)


def _snapshot() -> dict:
    fields = ("requests", "succeeded", "failed", "alerts", "input_bytes", "latency_hist", "compute_ms", "queue_ms",
              "latency_ms")
    return {(u["day"], u["bureau_id"], u["scenario_id"]): u for u in UsageDaily.objects.values(
        "day", "bureau_id", "scenario_id", *fields)}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        for name in ("requests", "succeeded", "failed", "alerts", "input_bytes", "latency_hist"):
            assert a[key][name] == b[key][name], (key, name)
        for name in ("compute_ms", "queue_ms", "latency_ms"):
            assert a[key][name] == pytest.approx(b[key][name], rel=1e-9)


def _seed(count: int, seed: int = 3, first: date = DAY, last: date = DAY) -> list:
    seed_requests(first=first, last=last, count=count, bureaus=list(Bureau.objects.all()),
                  scenarios=list(Scenario.objects.filter(status=Scenario.Status.ACTIVE)), seed=seed)
    return list(InferenceRequest.objects.values_list("id", flat=True))


def test_percentile_lies_in_the_exact_values_bucket():
    rng = random.Random(5)
    values = [rng.lognormvariate(4.5, 1.2) for _ in range(5000)]
    hist = metering.empty()
    for v in values:
        hist[metering.bucket_of(v)] += 1
    for q in (0.01, 0.5, 0.9, 0.95, 0.99, 1.0):
        estimate, exact = metering.percentile(hist, q), exact_percentile(values, q)
        assert metering.bucket_of(estimate) == metering.bucket_of(exact)
    assert metering.percentile(metering.empty(), 0.5) is None
    assert metering.bucket_of(0.5) == 0 and metering.bucket_of(5_000_000) == metering.BUCKETS - 1


def test_signal_counts_each_request_once(bureau_a, bureau_b):
    ids = _seed(300)
    for request_id in ids:
        finished_heard(request_id)
    once = _snapshot()
    for request_id in ids[:50]:  # a second signal for the same request
        finished_heard(request_id)
    assert _snapshot() == once
    assert MeteredRequest.objects.count() == 300
    assert sum(u["requests"] for u in once.values()) == 300
    # The incremental path and the rebuild from rows agree exactly.
    usage_rebuild(first=DAY, last=DAY)
    _assert_same(_snapshot(), once)
    call_command("rebuild_usage", "--from", str(DAY), "--to", str(DAY), "--check", stdout=io.StringIO())


def test_unfinished_requests_are_not_counted_until_they_finish(bureau_a):
    ids = _seed(5)
    InferenceRequest.objects.filter(pk=ids[0]).update(status=InferenceRequest.Status.RUNNING)
    finished_heard(ids[0])
    assert not MeteredRequest.objects.exists() and not UsageDaily.objects.exists()
    InferenceRequest.objects.filter(pk=ids[0]).update(status=InferenceRequest.Status.SUCCEEDED)
    finished_heard(ids[0])
    assert UsageDaily.objects.get().requests == 1


def test_a_signal_after_a_rebuild_does_not_count_again(bureau_a):
    ids = _seed(40)
    usage_rebuild(first=DAY, last=DAY)
    before = _snapshot()
    for request_id in ids:
        finished_heard(request_id)
    assert _snapshot() == before


def test_check_finds_drifted_aggregates(bureau_a):
    _seed(30)
    usage_rebuild(first=DAY, last=DAY)
    row = UsageDaily.objects.first()
    UsageDaily.objects.filter(pk=row.pk).update(requests=row.requests + 1)
    with pytest.raises(CommandError, match="differences"):
        call_command("rebuild_usage", "--from", str(DAY), "--to", str(DAY), "--check", stdout=io.StringIO())
    assert UsageDaily.objects.get(pk=row.pk).requests == row.requests + 1  # --check changes nothing
    call_command("rebuild_usage", "--from", str(DAY), "--to", str(DAY), stdout=io.StringIO())
    key = {"day": row.day, "bureau": row.bureau_id, "scenario": row.scenario_id}
    assert UsageDaily.objects.get(**key).requests == row.requests


def test_catch_up_counts_what_no_signal_counted(bureau_a):
    today = timezone.now().astimezone(metering_zone()).date()
    ids = _seed(20, first=today, last=today)
    # Requests seeded "today" may lie in the future by a few hours; the catch-up looks back 2 days.
    assert usage_meter_missed() == len(ids)
    assert usage_meter_missed() == 0
    assert sum(UsageDaily.objects.values_list("requests", flat=True)) == len(ids)


def test_days_are_local_days(bureau_a, catalog):
    zone = metering_zone()
    scenario = Scenario.objects.filter(status=Scenario.Status.ACTIVE).first()
    late = datetime(2026, 11, 30, 23, 50, tzinfo=zone)  # 15:50 UTC on the 30th
    early = datetime(2026, 12, 1, 0, 10, tzinfo=zone)  # 16:10 UTC on the 30th
    ids = []
    for at in (late, early):
        request = InferenceRequest.objects.create(
            bureau=bureau_a, scenario=scenario, input_kind=scenario.input_kind, input_sha256="0" * 64,
            status=InferenceRequest.Status.SUCCEEDED, total_ms=100.0, compute_ms=10.0, queue_ms=5.0,
        )
        InferenceRequest.objects.filter(pk=request.pk).update(created_at=at, captured_at=at)
        ids.append(request.pk)
    finished_heard(ids[0])
    finished_heard(ids[1])
    assert sorted(UsageDaily.objects.values_list("day", flat=True)) == [date(2026, 11, 30), date(2026, 12, 1)]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(out, "JPEG")
    return out.getvalue()


def test_a_request_finished_by_the_real_service_is_metered(
    bureau_a, operator_a, settings, django_capture_on_commit_callbacks
):
    """Through inference's own code: a request whose Triton stays unavailable ends FAILED, and the
    requests_finished signal it sends after commit is what counts it."""
    settings.TRITON_URL = "127.0.0.1:9"  # nothing listens there
    settings.TRITON_TIMEOUT_SECONDS = 2.0
    actor = Actor(bureau=bureau_a, role=Membership.Role.OPERATOR, user=operator_a)
    with django_capture_on_commit_callbacks(execute=True):
        request, _ = inference_request_submit(
            actor=actor, scenario_slug="crowd-gathering", checked=inputs.check_image(_jpeg()), params=None,
        )
    InferenceRequest.objects.filter(pk=request.pk).update(attempts=settings.CITYAI_TASK_MAX_RETRIES)
    with django_capture_on_commit_callbacks(execute=True):
        inference_request_execute(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == InferenceRequest.Status.FAILED
    usage = UsageDaily.objects.get(bureau=bureau_a)
    assert (usage.requests, usage.failed, usage.succeeded) == (1, 1, 0)
    assert MeteredRequest.objects.filter(request=request).exists()
    assert usage.day == request.created_at.astimezone(metering_zone()).date()
