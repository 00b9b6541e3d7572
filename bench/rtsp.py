"""RTSP cameras: a session opened per pull versus a stream kept open, for 1, 8 and 32 cameras.

    .venv/bin/python bench/rtsp.py                          # 1, 8, 32 cameras; writes bench/results/rtsp.json
    .venv/bin/python bench/rtsp.py --cameras 1,8 --seconds 20 --interval 5

GStreamer's RTSP server (tests/sources/rtspserver.py, Debian packages installed by ``bin/setup --test``)
plays a camera's sub-stream on 127.0.0.1: H.264, 640×360, 15 fps, a key frame a second, 800 kbit/s.
Every camera is its own RTSP session on one shared stream, so the server encodes once and the
client's cost per camera is what a worker host pays per real camera.

- **open per pull**: each camera's thread calls ``grabbers.grab`` (OPTIONS/DESCRIBE/SETUP/PLAY, stream
  analysis, the wait for a key frame, one decode) ``--pulls`` times in a row.
- **kept open**: a ``StreamReader`` per camera decodes the stream all the time; each camera is pulled
  every ``--interval`` seconds (staggered) for ``--seconds``; a pull is ``reader.frame()`` (the next
  decoded frame, as JPEG).

Reported per camera count: pull latency p50/p95 (s), client CPU per pull (ms) and the client CPU a
camera costs at the pull interval, as a share of one core — for open-per-pull the per-pull CPU divided
by the interval, for kept-open the measured CPU of the whole window. CPU is this process's (user +
system, all threads: ffmpeg decodes in them); the server's CPU is reported beside it. The machine is
noisy and shared: quote medians of several runs before acting on small differences.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.sources.grabbers import Limits, SourceUnavailable, grab  # noqa: E402
from services.sources.streams import StreamReader  # noqa: E402
from tests.sources.rtspserver import RtspServer  # noqa: E402

STREAM = {"width": 640, "height": 360, "fps": 15, "gop": 15, "bitrate": 800}
LIMITS = Limits(timeout_s=15)


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def open_per_pull(url: str, cameras: int, pulls: int) -> dict:
    latencies, errors = [], []

    def camera() -> None:
        for _ in range(pulls):
            started = time.perf_counter()
            try:
                grab(url, limits=LIMITS)
                latencies.append(time.perf_counter() - started)
            except SourceUnavailable as exc:
                errors.append(exc.message)

    before = cpu()
    with ThreadPoolExecutor(cameras) as pool:
        for future in [pool.submit(camera) for _ in range(cameras)]:
            future.result()
    used = cpu() - before
    return {"latencies": latencies, "errors": errors, "cpu_per_pull_ms": 1000 * used / max(1, len(latencies))}


def kept_open(url: str, cameras: int, seconds: float, interval: float) -> dict:
    readers = [StreamReader(url, limits=LIMITS, idle_s=3600).start() for _ in range(cameras)]
    for reader in readers:  # warm up: every session open and decoding
        reader.frame(max_age_s=60, timeout_s=60)
    latencies, errors, lags = [], [], []
    stop = time.monotonic() + seconds

    def camera(index: int, reader: StreamReader) -> None:
        time.sleep(interval * index / cameras)  # staggered, as the beat spreads pulls
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                reader.frame(max_age_s=interval)
                latencies.append(time.perf_counter() - started)
                lags.append(reader.last_lag_s)
            except SourceUnavailable as exc:
                errors.append(exc.message)
            time.sleep(max(0.0, interval - (time.perf_counter() - started)))

    before, wall = cpu(), time.monotonic()
    threads = [threading.Thread(target=camera, args=(i, r)) for i, r in enumerate(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used, wall = cpu() - before, time.monotonic() - wall
    opens = sum(r.opens for r in readers)
    for reader in readers:
        reader.close(wait=10)
    return {"latencies": latencies, "errors": errors, "cpu_per_pull_ms": 1000 * used / max(1, len(latencies)),
            "core_share_per_camera": used / wall / cameras, "opens": opens, "max_lag_s": max(lags, default=0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", default="1,8,32")
    parser.add_argument("--pulls", type=int, default=2, help="pulls per camera, open per pull")
    parser.add_argument("--seconds", type=float, default=30, help="kept-open window")
    parser.add_argument("--interval", type=float, default=5, help="seconds between pulls of one camera")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "rtsp.json"))
    args = parser.parse_args()

    server = RtspServer({"/cam": STREAM}).start()
    url = server.url("/cam")
    rows = []
    try:
        grab(url, limits=LIMITS)  # the shared stream is up before anything is timed
        for cameras in [int(c) for c in args.cameras.split(",")]:
            srv = server_cpu(server._proc.pid)
            per_pull = open_per_pull(url, cameras, args.pulls)
            kept = kept_open(url, cameras, args.seconds, args.interval)
            srv = server_cpu(server._proc.pid) - srv
            row = {
                "cameras": cameras, "interval_s": args.interval,
                "open_per_pull": {"p50_s": statistics.median(per_pull["latencies"] or [float("nan")]),
                                  "p95_s": quantile(per_pull["latencies"], 0.95),
                                  "cpu_per_pull_ms": per_pull["cpu_per_pull_ms"],
                                  "core_share_per_camera": per_pull["cpu_per_pull_ms"] / 1000 / args.interval,
                                  "pulls": len(per_pull["latencies"]), "errors": len(per_pull["errors"])},
                "kept_open": {"p50_s": statistics.median(kept["latencies"] or [float("nan")]),
                              "p95_s": quantile(kept["latencies"], 0.95),
                              "cpu_per_pull_ms": kept["cpu_per_pull_ms"],
                              "core_share_per_camera": kept["core_share_per_camera"],
                              "pulls": len(kept["latencies"]), "errors": len(kept["errors"]),
                              "sessions_opened": kept["opens"], "max_lag_s": kept["max_lag_s"]},
                "server_cpu_s": srv,
            }
            rows.append(row)
            print_row(row)
    finally:
        server.stop()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"stream": STREAM, "cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(f"\nwrote {args.out}")


def print_row(row: dict) -> None:
    if not getattr(print_row, "header", False):
        print("| cameras | mode | pull p50 s | pull p95 s | CPU ms/pull | core share per camera @ "
              f"{row['interval_s']:g} s | pulls | errors |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print_row.header = True
    for mode in ("open_per_pull", "kept_open"):
        m = row[mode]
        print(f"| {row['cameras']} | {mode.replace('_', ' ')} | {m['p50_s']:.2f} | {m['p95_s']:.2f} | "
              f"{m['cpu_per_pull_ms']:.0f} | {100 * m['core_share_per_camera']:.1f} % | {m['pulls']} | {m['errors']} |",
              flush=True)


if __name__ == "__main__":
    main()
