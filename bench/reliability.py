"""Reliability under faults, with counts: N requests submitted at concurrency C while one fault
happens, then every accepted request is followed to its end. Also sweeps the hostile-input classes.

    .venv/bin/python bench/reliability.py                       # all faults, 1,000 requests each
    .venv/bin/python bench/reliability.py --faults redis --count 200 --concurrency 16
    .venv/bin/python bench/reliability.py --markdown docs/reliability.md   # rewrite the doc's table

Real processes only: its own ``redis-server`` on a free port (broker and counters; the machine's Redis
on 6379 is never touched), its own Triton (signal_analytics only) on free ports, two real Celery worker
processes (tests/processes.py), the real API (DRF's client in this process, one thread per concurrent
caller, real commits) on PostgreSQL (``DATABASE_URL``, default database cityai_reliability, migrated
here; it is written to: never point it at production).

Faults:
- ``triton``: the Triton server is killed (SIGKILL to its process group) a third of the way through
  the submissions, kept down ``--triton-outage`` seconds (30), and started again on the same ports.
- ``redis``: the broker is killed (SIGKILL, no persistence: every queued and unacknowledged message is
  gone) a third of the way through, kept down ``--redis-outage`` seconds, and restarted empty.
- ``postgres``: every other connection to the database (workers' and the API threads') is terminated
  with ``pg_terminate_backend`` three times, two seconds apart, during the load.
- ``worker``: one of the two workers is SIGKILLed mid-load and started again.

The recovery settings are shortened as in tests/inference/test_worker_crash.py (claim lease 11 s,
broker visibility 15 s); the reaper (``inference_requests_requeue_stale``, beat's job in production)
runs every 5 s here. A request is *lost* if it was accepted (202) and, at the end, is not SUCCEEDED or
FAILED; ``lost`` must be 0. Writes bench/results/reliability.json; with ``--markdown`` replaces the
table between the markers in that file.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.inference.tritonserver import LocalTritonServer, free_port  # noqa: E402

RECOVERY_ENV = {
    "TRITON_TIMEOUT_SECONDS": "5",
    "CELERY_TASK_SOFT_TIME_LIMIT": "7",
    "CELERY_TASK_TIME_LIMIT": "9",
    "CITYAI_CLAIM_LEASE_SECONDS": "11",
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "15",
    "CITYAI_DRAIN_MAX_SECONDS": "3",  # at most half the soft limit (inference.E002)
    "CITYAI_TASK_MAX_RETRIES": "5",
    "CITYAI_TASK_RETRY_BACKOFF_SECONDS": "2",
    "CITYAI_MAX_QUEUED_PER_BUREAU": "1000000",
    "DATABASE_CONN_MAX_AGE": "60",
}
SCENARIO = "environmental-noise-monitoring"
SERIES = [48.5, 50.1, 52.3, 49.9, 68.0, 51.2, 47.7, 50.4]
TABLE_START = "<!-- reliability-table:start -->"
TABLE_END = "<!-- reliability-table:end -->"


class RedisServer:
    """A throwaway redis-server on a free loopback port, without persistence, restartable on that port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True,
                                  check=False)
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def setup_django(redis_url: str, media: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityai.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cityai_reliability")
    for name, value in RECOVERY_ENV.items():
        os.environ.setdefault(name, value)
    os.environ["CELERY_BROKER_URL"] = redis_url
    os.environ["CITYAI_REDIS_URL"] = redis_url
    os.environ["DJANGO_MEDIA_ROOT"] = str(media)
    os.environ["TRITON_BYOM_REPOSITORY"] = str(media.parent / "byom")
    _ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    if "postgresql" not in cfg["ENGINE"]:
        raise SystemExit("bench/reliability.py needs PostgreSQL (DATABASE_URL)")
    conninfo = {"host": cfg["HOST"] or "127.0.0.1", "port": cfg["PORT"] or 5432, "user": cfg["USER"],
                "password": cfg["PASSWORD"] or None, "dbname": "postgres"}
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v is not None}, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def make_client():
    from services.accounts.models import ApiClient
    from services.accounts.services import api_client_create, bureau_upsert
    from services.catalog.models import Scenario
    from services.catalog.services import catalog_load, entitlement_upsert

    catalog_load()
    bureau = bureau_upsert(slug="reliability-bench", name_zh="可靠性测试局", name_en="Reliability bench")
    for scenario in Scenario.objects.filter(status=Scenario.Status.ACTIVE):
        entitlement_upsert(bureau=bureau, scenario=scenario, daily_quota=10_000_000)
    client, key = api_client_create(bureau=bureau, name=f"reliability {time.time_ns()}")
    ApiClient.objects.filter(pk=client.pk).update(rate_limit_per_minute=0)
    return bureau, key


def submit_all(key: str, count: int, concurrency: int, on_progress, label: str) -> tuple[list[str], dict]:
    """Submit ``count`` requests from ``concurrency`` threads; returns accepted ids and refusal counts."""
    from django.db import close_old_connections, connections
    from rest_framework.test import APIClient

    accepted: list[str] = []
    refused: dict[str, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def one(index: int) -> None:
        close_old_connections()  # a connection the fault killed is dropped here and opened again
        if not hasattr(local, "client"):
            local.client = APIClient()
            local.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        try:
            response = local.client.post(
                "/api/v1/requests", {"scenario": SCENARIO, "series": SERIES, "source": f"meter-{index % 50}"},
                format="json", HTTP_IDEMPOTENCY_KEY=f"rel-{label}-{index}",
            )
            outcome = response.status_code
        except Exception as exc:  # the test client re-raises what the view raised
            outcome = type(exc).__name__
            connections.close_all()
        with lock:
            if outcome == 202:
                accepted.append(response.json()["id"])
            else:
                refused[str(outcome)] = refused.get(str(outcome), 0) + 1
            done = len(accepted) + sum(refused.values())
        on_progress(done)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
        for _ in range(concurrency):  # close each thread's connection
            pool.submit(connections.close_all)
    return accepted, refused


def follow(ids: list[str], timeout: float) -> dict:
    """Wait until every accepted request is terminal (running the reaper every 5 s), then count."""
    from django.db import close_old_connections
    from django.db.models import Count

    from services.inference.models import InferenceRequest
    from services.inference.services import inference_requests_requeue_stale

    deadline = time.monotonic() + timeout
    next_reap = 0.0
    while True:
        close_old_connections()
        try:
            rows = InferenceRequest.objects.filter(pk__in=ids)
            open_count = rows.exclude(status__in=["succeeded", "failed"]).count()
            if open_count == 0 or time.monotonic() > deadline:
                break
            if time.monotonic() > next_reap:
                inference_requests_requeue_stale()
                next_reap = time.monotonic() + 5
        except Exception as exc:
            print(f"  (follow: {type(exc).__name__}: {exc})", file=sys.stderr)
        time.sleep(1)
    by_status = dict(rows.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    errors = dict(rows.filter(status="failed").values_list("error_code").annotate(n=Count("id"))
                  .values_list("error_code", "n"))
    attempts = list(rows.values_list("attempts", flat=True))
    return {"by_status": by_status, "failed_codes": errors, "max_attempts": max(attempts, default=0),
            "found": rows.count()}


def _running_count() -> int:
    from services.inference.models import InferenceRequest

    return InferenceRequest.objects.filter(status="running").count()


def run_fault(fault: str, *, key: str, count: int, concurrency: int, triton: LocalTritonServer,
              redis_server: RedisServer, workers: list, args) -> dict:
    import psycopg
    from django.conf import settings

    triggered = threading.Event()
    in_effect = threading.Event()  # the rest of the submissions wait for the fault to be in effect
    fault_log: list[str] = []
    fault_thread: threading.Thread | None = None

    def inject() -> None:
        t0 = time.monotonic()
        if fault == "triton":
            # SIGKILL to the server's whole process group (its python-backend stubs too): a SIGTERM lets
            # Triton drain and keep answering for a while, which would hide the outage.
            os.killpg(triton.pid, signal.SIGKILL)
            triton.stop()
            fault_log.append("Triton killed")
            in_effect.set()
            time.sleep(args.triton_outage)
            triton.start()
            triton.wait_ready()
            fault_log.append(f"Triton back after {time.monotonic() - t0:.0f} s")
        elif fault == "redis":
            redis_server.kill()
            fault_log.append("Redis killed")
            in_effect.set()
            time.sleep(args.redis_outage)
            redis_server.start()
            fault_log.append(f"Redis back (empty) after {time.monotonic() - t0:.0f} s")
        elif fault == "postgres":
            db = settings.DATABASES["default"]
            with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                                 password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True) as conn:
                for _ in range(3):
                    killed = conn.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    ).fetchone()[0]
                    fault_log.append(f"terminated {killed} connections")
                    in_effect.set()
                    time.sleep(2)
        elif fault == "worker":
            running = _running_count()
            workers[0].kill()
            fault_log.append(f"worker SIGKILLed ({running} requests running)")
            in_effect.set()
            time.sleep(2)
            workers[0].start()
            fault_log.append(f"worker restarted after {time.monotonic() - t0:.0f} s")

    def on_progress(done: int) -> None:
        nonlocal fault_thread
        if done >= count // 3 and not triggered.is_set():
            triggered.set()
            fault_thread = threading.Thread(target=inject, daemon=True)
            fault_thread.start()
        if triggered.is_set():
            in_effect.wait(60)

    t0 = time.monotonic()
    accepted, refused = submit_all(key, count, concurrency, on_progress, label=f"{fault}-{time.time_ns()}")
    submit_s = time.monotonic() - t0
    if fault_thread is not None:
        fault_thread.join()
    counts = follow(accepted, timeout=args.timeout)
    by_status = counts["by_status"]
    succeeded, failed = by_status.get("succeeded", 0), by_status.get("failed", 0)
    return {
        "fault": fault, "submitted": count, "concurrency": concurrency, "accepted": len(accepted),
        "refused": refused, "completed": succeeded, "failed": failed,
        "lost": len(accepted) - succeeded - failed, "not_found": len(accepted) - counts["found"],
        "failed_codes": counts["failed_codes"], "max_attempts": counts["max_attempts"],
        "submit_seconds": round(submit_s, 1), "total_seconds": round(time.monotonic() - t0, 1),
        "fault_log": fault_log,
    }


def hostile_sweep(key: str) -> list[dict]:
    """Every class of hostile input from the test corpus, through the real API: status classes seen,
    rows and stored files left behind by refusals."""
    from django.conf import settings
    from rest_framework.test import APIClient

    from services.inference.models import InferenceRequest
    from tests.security import test_hostile_inputs as corpus

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    img, text = corpus.IMAGE_SCENARIO, corpus.TEXT_SCENARIO
    jpeg = corpus.jpeg_bytes()

    def form(data: bytes, name: str):
        return {"multipart": {"scenario": img, "image": corpus.upload(data, name)}}

    surrogate = corpus.LONE_SURROGATE
    classes = {
        "zero bytes": [form(b"", "x.png"), {"raw": b""}],
        "truncated JPEG": [form(jpeg[: len(jpeg) // 2], "t.jpg"), form(jpeg[:20], "t.jpg")],
        "PNG decompression bomb": [form(corpus.png_bomb(30000, 30000), "b.png"), form(corpus.png_bomb(7000, 7000),
                                                                                      "b.png")],
        "wrong MIME type": [{"raw": b"scenario: x", "content_type": ct} for ct in ("text/plain", "application/xml")]
        + [form(b"%PDF-1.4 not an image", "x.pdf")],
        "over the size limit": [{"body": {"scenario": img, "image_base64": "A" * (settings.CITYAI_MAX_UPLOAD_BYTES
                                                                                    * 4 // 3 + 100)}},
                                {"body": {"scenario": text, "text": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}}],
        "malformed JSON": [{"raw": raw} for raw in (b'{"scenario": ', b"[1, 2", b"\xff\xfe{", b"[]", b"42")],
        "unknown scenario": [{"body": {"scenario": s, "series": corpus.SERIES}}
                             for s in ("no-such", "a" * 10_000)],
        "params violating the schema": [{"body": {**corpus.SERIES_BODY, "params": p}}
                                        for p in ({"period": "midnight"}, {"x": 1}, [1], 3, "night")],
        "very long text": [{"body": {"scenario": text, "text": "投诉" * settings.CITYAI_MAX_TEXT_CHARS}},
                           {"body": {**corpus.SERIES_BODY, "source": "s" * 5000}}],
        "odd Unicode (RTL, combining, lone surrogates)": [
            {"body": {**corpus.SERIES_BODY, "params": {"period": v}}} for v in corpus.ODD_UNICODE.values()
        ] + [{"raw": json.dumps({"scenario": text, "text": "a@S@"}).replace("@S@", surrogate).encode()},
             {"raw": json.dumps({"scenario": "x@S@", "series": [1]}).replace("@S@", surrogate).encode()}],
        "injection strings (scenario, params)": [{"body": {"scenario": v, "series": corpus.SERIES}}
                                                 for v in corpus.INJECTIONS]
        + [{"body": {**corpus.SERIES_BODY, "params": {"period": v}}} for v in corpus.INJECTIONS],
    }
    rows = []
    for name, cases in classes.items():
        seen: dict[str, int] = {}
        before_rows, before_files = InferenceRequest.objects.count(), corpus.stored_files()
        for case in cases:
            if "multipart" in case:
                response = client.post("/api/v1/requests", case["multipart"], format="multipart")
            elif "raw" in case:
                response = client.generic("POST", "/api/v1/requests", case["raw"],
                                          content_type=case.get("content_type", "application/json"))
            else:
                response = client.generic("POST", "/api/v1/requests", json.dumps(case["body"]),
                                          content_type="application/json")
            klass = f"{response.status_code // 100}xx"
            seen[klass] = seen.get(klass, 0) + 1
            is_json = response["Content-Type"].startswith("application/json")
            seen["json errors"] = seen.get("json errors", 0) + int(is_json and "error" in response.json())
        rows.append({"class": name, "tried": len(cases), "4xx": seen.get("4xx", 0), "5xx": seen.get("5xx", 0),
                     "json_errors": seen.get("json errors", 0),
                     "rows_left": InferenceRequest.objects.count() - before_rows,
                     "files_left": corpus.stored_files() - before_files})
    return rows


def markdown(results: list[dict], hostile: list[dict], command: str) -> str:
    lines = [TABLE_START, "", f"Produced by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             "", "| fault | what was tried | accepted | completed | failed | lost |", "|---|---|--:|--:|--:|--:|"]
    for r in results:
        refusals = ", ".join(f"{k}: {v}" for k, v in r["refused"].items())
        refused = f"; refused {sum(r['refused'].values())} ({refusals})" if r["refused"] else ""
        failures = ", ".join(f"{k} ×{v}" for k, v in r["failed_codes"].items())
        codes = f"; failed as {failures}" if r["failed_codes"] else ""
        tried = (f"{r['submitted']} requests at concurrency {r['concurrency']}; {'; '.join(r['fault_log'])}"
                 f"{refused}{codes}; max attempts {r['max_attempts']}; all ended in {r['total_seconds']} s")
        lines.append(f"| {r['fault']} | {tried} | {r['accepted']} | {r['completed']} | {r['failed']} | {r['lost']} |")
    lines += ["", "| input class | tried | 4xx JSON errors | 5xx | rows left | files left |",
              "|---|--:|--:|--:|--:|--:|"]
    for h in hostile:
        lines.append(f"| {h['class']} | {h['tried']} | {h['json_errors']} | {h['5xx']} | {h['rows_left']} "
                     f"| {h['files_left']} |")
    lines += ["", TABLE_END]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default="triton,redis,postgres,worker")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--triton-outage", type=float, default=30.0)
    parser.add_argument("--redis-outage", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every request to end")
    parser.add_argument("--no-hostile", action="store_true")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "reliability.json"))
    parser.add_argument("--markdown", help="a file whose reliability table to replace")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cityai-reliability-"))
    (work / "media").mkdir()
    redis_server = RedisServer(work)
    redis_server.start()
    triton = LocalTritonServer(ROOT / "model_repository", models=["signal_analytics"],
                               extra_repositories=[work / "byom"], http_port=free_port(), grpc_port=free_port(),
                               metrics_port=free_port(), log_path=work / "tritonserver.log")
    workers = []
    try:
        setup_django(redis_server.url, work / "media")
        from django.conf import settings

        from tests.processes import WorkerProcess

        triton.start()
        triton.wait_ready()
        settings.TRITON_URL = triton.grpc_url
        _, key = make_client()
        workers = [WorkerProcess(triton.grpc_url, work / f"worker-{i}.log", concurrency=1).start() for i in range(2)]
        results = []
        for fault in [f for f in args.faults.split(",") if f]:
            print(f"==> {fault}: {args.count} requests at concurrency {args.concurrency}", flush=True)
            result = run_fault(fault, key=key, count=args.count, concurrency=args.concurrency, triton=triton,
                               redis_server=redis_server, workers=workers, args=args)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
        hostile = [] if args.no_hostile else hostile_sweep(key)
        for row in hostile:
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        for worker in workers:
            worker.stop()
        triton.stop()
        redis_server.kill()
    command = "python bench/reliability.py " + " ".join(sys.argv[1:])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"faults": results, "hostile": hostile, "command": command}, indent=2,
                                          ensure_ascii=False))
    if args.markdown:
        doc = Path(args.markdown)
        text = doc.read_text()
        start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
        doc.write_text(text[:start] + markdown(results, hostile, command.strip()) + text[end:])
    bad = [r["fault"] for r in results if r["lost"]] + [h["class"] for h in hostile if h["5xx"] or h["rows_left"]]
    if bad:
        print(f"FAILED: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
