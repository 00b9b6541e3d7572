"""Synthetic finished requests with realistic spreads, for the report tests and the benchmark.

Never for a production database: the rows look like real requests. The shapes follow what the
platform sees: office-hours peaks and quiet weekends, a few busy bureaus and many small ones,
popular and rare scenarios, log-normal queue waits and compute times by input kind (images cost
far more GPU than text or sensor series), a few percent of failures of typed kinds, and alerts at
scenario-specific rates.
"""

import hashlib
import math
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from services.accounts.models import Bureau
from services.catalog.models import Scenario
from services.inference.models import InferenceRequest
from services.reports.services import metering_zone

# Relative load per local hour: night trough, morning and afternoon office peaks.
HOUR_WEIGHTS = (
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.9, 1.6, 2.0, 2.1, 1.8,
    1.1, 1.4, 1.9, 2.0, 1.9, 1.5, 1.0, 0.8, 0.6, 0.45, 0.3, 0.2,
)
WEEKEND_FACTOR = 0.55
COMPUTE_MEDIAN_MS = {"image": 45.0, "text": 12.0, "series": 3.0, "audio": 25.0}
BYTES_MEDIAN = {"image": 350_000, "text": 600, "series": 8_000, "audio": 300_000}
FAILURES = (  # (error code, share of failures)
    ("invalid_input", 0.5), ("inference_unavailable", 0.25), ("model_rejected", 0.15), ("timeout", 0.1),
)


def _weights_zipf(n: int, s: float) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


def _stable_fraction(text: str) -> float:
    """A per-name number in [0, 1) that does not depend on the random seed."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 2**32


def synthetic_requests(
    *,
    first: date,
    last: date,
    count: int,
    bureaus: Sequence[Bureau],
    scenarios: Sequence[Scenario],
    seed: int = 2026,
    source_prefix: str = "cam",
) -> Iterator[InferenceRequest]:
    """Yield ``count`` unsaved, finished requests created between ``first`` and ``last`` (local days)."""
    rng = random.Random(seed)
    zone = metering_zone()
    scenarios = [s for s in scenarios if s.status == Scenario.Status.ACTIVE] or list(scenarios)
    bureau_list = list(bureaus)
    rng.shuffle(bureau_list)
    bureau_weights = _weights_zipf(len(bureau_list), 0.8)
    # Each bureau runs a subset of the scenarios, some much more than others.
    uses: dict[str, tuple[list[Scenario], list[float]]] = {}
    for bureau in bureau_list:
        own = [s for s in scenarios if s.owner_bureau_id == bureau.pk]
        others = [s for s in scenarios if s.owner_bureau_id != bureau.pk and rng.random() < 0.6]
        chosen = own + others or scenarios[:1]
        rng.shuffle(chosen)
        uses[bureau.slug] = (chosen, _weights_zipf(len(chosen), 1.1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    day_weights = [WEEKEND_FACTOR if d.weekday() >= 5 else 1.0 for d in days]
    sources = [f"{source_prefix}-{i:03d}" for i in range(60)]

    for _ in range(count):
        bureau = rng.choices(bureau_list, bureau_weights)[0]
        chosen, weights = uses[bureau.slug]
        scenario = rng.choices(chosen, weights)[0]
        day = rng.choices(days, day_weights)[0]
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        created = datetime.combine(day, time(hour), tzinfo=zone) + timedelta(seconds=rng.uniform(0, 3600))
        kind = scenario.input_kind
        busy = HOUR_WEIGHTS[hour] / 2.1  # queues grow at peak hours
        queue_ms = rng.lognormvariate(math.log(25 + 60 * busy), 0.9)
        if rng.random() < 0.01:
            queue_ms += rng.uniform(2_000, 20_000)  # a backlog burst
        failed = rng.random() < 0.02 + 0.06 * _stable_fraction("fail" + scenario.slug)
        models = scenario.model_names or ["classical"]
        compute_ms = sum(rng.lognormvariate(math.log(COMPUTE_MEDIAN_MS.get(kind, 20.0)), 0.35) for _ in models)
        overhead_ms = rng.lognormvariate(math.log(15), 0.5)
        input_bytes = int(min(10_000_000, rng.lognormvariate(math.log(BYTES_MEDIAN.get(kind, 5_000)), 0.7)))
        error_code = ""
        if failed:
            error_code = rng.choices([c for c, _ in FAILURES], [w for _, w in FAILURES])[0]
            if error_code == "invalid_input":
                compute_ms, overhead_ms = 0.0, rng.uniform(1, 20)
            elif error_code == "inference_unavailable":
                compute_ms, overhead_ms = 0.0, rng.uniform(20_000, 90_000)  # retried with backoff
            elif error_code == "timeout":
                overhead_ms = 120_000.0
        total_ms = queue_ms + compute_ms + overhead_ms
        started = created + timedelta(milliseconds=queue_ms)
        finished = created + timedelta(milliseconds=total_ms)
        alert = None if failed else rng.random() < 0.05 + 0.3 * _stable_fraction("alert" + scenario.slug)
        share = [rng.random() + 0.5 for _ in models]
        calls = [
            {"model": m, "version": "1", "compute_ms": round(compute_ms * w / sum(share), 3),
             "wall_ms": round(compute_ms * w / sum(share) * 1.15, 3)}
            for m, w in zip(models, share, strict=True)
        ] if compute_ms else []
        yield InferenceRequest(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            bureau=bureau,
            scenario=scenario,
            source=rng.choice(sources),
            input_kind=kind,
            input_sha256=f"{rng.getrandbits(256):064x}",
            input_bytes=input_bytes,
            status=InferenceRequest.Status.FAILED if failed else InferenceRequest.Status.SUCCEEDED,
            tier="normal",
            attempts=1 if error_code != "inference_unavailable" else 5,
            created_at=created,
            started_at=started,
            finished_at=finished,
            queue_ms=queue_ms,
            compute_ms=compute_ms,
            total_ms=total_ms,
            model_calls=calls,
            result=None if failed else {"summary": "synthetic", "alert": alert},
            alert=alert,
            error_code=error_code,
            error_message=f"synthetic {error_code}" if failed else "",
        )


@contextmanager
def _keep_given_created_at():
    """``created_at`` is ``auto_now_add``; bulk_create would overwrite the synthetic times with now."""
    field = InferenceRequest._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def seed_requests(*, batch_size: int = 5000, **kwargs) -> int:
    """Insert ``synthetic_requests(**kwargs)`` in batches; returns how many rows were written."""
    written, batch = 0, []
    with _keep_given_created_at():
        for request in synthetic_requests(**kwargs):
            batch.append(request)
            if len(batch) >= batch_size:
                InferenceRequest.objects.bulk_create(batch)
                written += len(batch)
                batch = []
        if batch:
            InferenceRequest.objects.bulk_create(batch)
            written += len(batch)
    return written
