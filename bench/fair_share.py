"""Fair sharing under a flood: the p50 queue wait of bureau B's normal requests on an idle system and
while bureau A floods 500 bulk requests, measured in the same run, interleaved over rounds.

    createdb -h 127.0.0.1 -U postgres cityai_fair_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cityai_fair_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/fair_share.py [--flood 500] [--probes 15] [--rounds 2] [--layout reserved]

A real Triton (object_detector only), real Celery workers (tests/processes.py) and the real API (DRF's
test client in this process, real commits; the workers are separate processes on the same database
and broker). Both bureaus run the crowd-gathering scenario (NanoDet through Triton) on the same image;
A is entitled at tier bulk, B at normal. Each round: B sends ``--probes`` requests one after another
on an idle system (``?wait=30``, each waits for its result), then A submits ``--flood`` requests as
fast as the API takes them and B probes again while A's backlog is waiting. What is left of A's
backlog after the probes is then cancelled (rows marked failed, bulk queue purged) so rounds stay short.

``--layout reserved`` (the deployment docs/fair-sharing.md recommends): one worker consumes
high,normal,bulk and one consumes high,normal only, one process slot each. ``--layout shared``: one
worker with two slots on all three queues (strict priority order), for comparison.

Prints both p50s and their ratio (target ≤ 2×) per round and the median over rounds; writes
bench/results/fair_share.json. Writes into the configured database and flushes the configured Redis
db: never point it at production.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cityai_fair_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("CITYAI_MAX_QUEUED_PER_BUREAU", "100000")
os.environ.setdefault("DJANGO_MEDIA_ROOT", str(ROOT / "var" / "bench-fair" / "media"))

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from services.accounts.models import ApiClient  # noqa: E402
from services.accounts.services import api_client_create, bureau_upsert  # noqa: E402
from services.catalog.models import Entitlement, Scenario  # noqa: E402
from services.catalog.services import entitlement_upsert  # noqa: E402
from services.inference.models import InferenceRequest  # noqa: E402
from services.inference.tritonserver import LocalTritonServer, free_port  # noqa: E402
from tests.processes import WorkerProcess  # noqa: E402

SLUG = "crowd-gathering"
IMAGE = ROOT / "services" / "catalog" / "data" / "examples" / "crowd.jpg"
URL = "/api/v1/requests"


def api_client(bureau, name: str) -> APIClient:
    client_row, key = api_client_create(bureau=bureau, name=f"{name} {time.time():.0f}")
    ApiClient.objects.filter(pk=client_row.pk).update(rate_limit_per_minute=0)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def submit(client: APIClient, image: bytes, wait: bool) -> dict:
    upload = SimpleUploadedFile("crowd.jpg", image, content_type="image/jpeg")
    response = client.post(f"{URL}?wait=30" if wait else URL, {"scenario": SLUG, "image": upload},
                           format="multipart")
    if response.status_code not in (200, 202):
        raise RuntimeError(f"submit failed: {response.status_code} {response.content[:300]!r}")
    return response.json()


def probe(client: APIClient, image: bytes, count: int) -> list[float]:
    """B's requests one after another; the queue wait of each, from its own row."""
    waits = []
    for _ in range(count):
        body = submit(client, image, wait=True)
        if body["status"] != "succeeded":
            raise RuntimeError(f"probe did not finish: {body['status']} {body.get('error')}")
        if body["tier"] != "normal":
            raise RuntimeError(f"probe ran as {body['tier']}")
        waits.append(body["timings"]["queue_ms"])
    return waits


def cancel_backlog(bureau, broker: redis.Redis) -> int:
    """End a round: cancel what is left of the flood (the bench's own rows, never real work)."""
    broker.delete("bulk")
    # One conditional update: a worker's claim (QUEUED → RUNNING) and this cannot both win a row.
    count = InferenceRequest.objects.filter(bureau=bureau, status=InferenceRequest.Status.QUEUED).update(
        status=InferenceRequest.Status.FAILED, error_code="cancelled", error_message="bench: flood cancelled",
        finished_at=timezone.now())
    while InferenceRequest.objects.filter(bureau=bureau, status=InferenceRequest.Status.RUNNING).exists():
        time.sleep(0.2)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=500, help="bulk requests bureau A submits per round")
    parser.add_argument("--probes", type=int, default=15, help="normal requests bureau B sends per phase")
    parser.add_argument("--rounds", type=int, default=2, help="idle/flood pairs; medians are reported")
    parser.add_argument("--layout", choices=["reserved", "shared"], default="reserved")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fair_share.json")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    settings.TRITON_BYOM_REPOSITORY = ROOT / "var" / "bench-fair" / "byom"
    settings.TRITON_BYOM_REPOSITORY.mkdir(parents=True, exist_ok=True)
    scenario = Scenario.objects.get(slug=SLUG)
    # An interrupted earlier run may have left its flood waiting; the workers' start-up reaper would
    # run it ahead of this run's work, so it is cancelled first.
    InferenceRequest.objects.filter(
        bureau__slug__startswith="bench-", status__in=[InferenceRequest.Status.QUEUED, InferenceRequest.Status.RUNNING]
    ).update(status=InferenceRequest.Status.FAILED, error_code="cancelled", error_message="bench: stale",
             finished_at=timezone.now(), claim_token=None, lease_expires_at=None)
    run = time.strftime("%Y%m%d%H%M%S")  # fresh bureaus per run: earlier rows may carry events
    flooder = bureau_upsert(slug=f"bench-flood-a-{run}", name_zh="甲局（压测）", name_en="Bureau A (bench)")
    prober = bureau_upsert(slug=f"bench-probe-b-{run}", name_zh="乙局（压测）", name_en="Bureau B (bench)")
    entitlement_upsert(bureau=flooder, scenario=scenario, daily_quota=10_000_000, tier=Entitlement.Tier.BULK,
                       monthly_compute_budget_s=10_000_000)
    entitlement_upsert(bureau=prober, scenario=scenario, daily_quota=10_000_000, tier=Entitlement.Tier.NORMAL,
                       monthly_compute_budget_s=10_000_000)
    client_a, client_b = api_client(flooder, "flood"), api_client(prober, "probe")
    image = IMAGE.read_bytes()

    log_dir = ROOT / "var" / "bench-fair"
    server = LocalTritonServer(settings.TRITON_MODEL_REPOSITORY, models=["object_detector"],
                               http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                               log_path=log_dir / "triton.log")
    workers: list[WorkerProcess] = []
    with server:
        settings.TRITON_URL = server.grpc_url
        try:
            if args.layout == "reserved":
                workers.append(WorkerProcess(server.grpc_url, log_dir / "worker-all.log", concurrency=1).start())
                workers.append(WorkerProcess(server.grpc_url, log_dir / "worker-interactive.log", concurrency=1,
                                             queues="high,normal").start())
            else:
                workers.append(WorkerProcess(server.grpc_url, log_dir / "worker-shared.log", concurrency=2).start())
            probe(client_b, image, 3)  # warm up: model, connections, imports
            rounds = []
            for n in range(args.rounds):
                idle = probe(client_b, image, args.probes)
                t0 = time.perf_counter()
                for _ in range(args.flood):
                    submit(client_a, image, wait=False)
                flood_submit_s = time.perf_counter() - t0
                backlog_before = InferenceRequest.objects.filter(
                    bureau=flooder, status=InferenceRequest.Status.QUEUED).count()
                flooded = probe(client_b, image, args.probes)
                backlog_after = InferenceRequest.objects.filter(
                    bureau=flooder, status=InferenceRequest.Status.QUEUED).count()
                done_a = InferenceRequest.objects.filter(
                    bureau=flooder, status=InferenceRequest.Status.SUCCEEDED).count()
                cancelled = cancel_backlog(flooder, broker)
                row = {
                    "round": n + 1,
                    "idle_p50_ms": statistics.median(idle),
                    "flood_p50_ms": statistics.median(flooded),
                    "ratio": statistics.median(flooded) / statistics.median(idle),
                    "idle_waits_ms": [round(w, 1) for w in idle],
                    "flood_waits_ms": [round(w, 1) for w in flooded],
                    "flood_submit_s": round(flood_submit_s, 2),
                    "a_backlog_before_probes": backlog_before,
                    "a_backlog_after_probes": backlog_after,
                    "a_succeeded_so_far": done_a,
                    "a_cancelled": cancelled,
                }
                rounds.append(row)
                print(f"round {n + 1}: B idle p50 {row['idle_p50_ms']:.1f} ms, under A's flood "
                      f"{row['flood_p50_ms']:.1f} ms, ratio {row['ratio']:.2f}× "
                      f"(A's backlog {backlog_before} → {backlog_after} during B's probes)", flush=True)
        finally:
            for worker in workers:
                worker.stop()
    broker.flushdb()
    summary = {
        "layout": args.layout,
        "flood": args.flood,
        "probes": args.probes,
        "rounds": rounds,
        "median_idle_p50_ms": statistics.median(r["idle_p50_ms"] for r in rounds),
        "median_flood_p50_ms": statistics.median(r["flood_p50_ms"] for r in rounds),
        "median_ratio": statistics.median(r["ratio"] for r in rounds),
        "target_ratio": 2.0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"median over {len(rounds)} rounds ({args.layout}): idle p50 {summary['median_idle_p50_ms']:.1f} ms, "
          f"flood p50 {summary['median_flood_p50_ms']:.1f} ms, ratio {summary['median_ratio']:.2f}× "
          f"(target ≤ 2×); wrote {args.out}")


if __name__ == "__main__":
    main()
