"""How many cores a district needs, from the per-request CPU that bench/throughput.py measured.

    .venv/bin/python bench/scale.py [--results bench/results/throughput.json] [--markdown docs/scale.md]

Reads the measured CPU per input of each process (web, worker, PostgreSQL, Redis, Triton) on the
batch path (cameras submit their frames in batches, from the worker, without the web) and on the
single-request path (complaints and department calls come through the API one by one), adds the cost
of grabbing a frame (docs/cameras.md: decoding one H.264 frame from a kept-open stream), and prints
the cores each part needs for N cameras pulled every T seconds plus M complaints a day, with a chart
(bench/results/scale.png). The assumptions are printed with the table; change them with the flags.
"""

import argparse
import json
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("worker", "postgres", "redis", "web", "triton")
COLOURS = {"worker": (11, 92, 173), "postgres": (60, 160, 90), "redis": (200, 60, 60), "web": (240, 150, 40),
           "triton": (120, 120, 120)}


def per_input(results: dict, case: str, path: str) -> dict[str, float]:
    """CPU ms per input of each part: ``path`` is "batch" or a concurrency ("16")."""
    label = next(k for k in (results["batch"] if path == "batch" else results["results"]) if k.startswith(case))
    row = results["batch"][label] if path == "batch" else results["results"][label][path]
    key = "cpu_ms_per_input" if path == "batch" else "cpu_ms_per_request"
    return {part: float(row[key].get(part, 0.0)) for part in PARTS}


def cores(*, cameras: int, interval_s: float, complaints_per_day: int, camera_cost: dict, complaint_cost: dict,
          grab_ms: float, utilisation: float) -> dict[str, float]:
    """Cores per part at ``utilisation`` (planning headroom: a part is sized to run at most this busy)."""
    frames_per_s = cameras / interval_s
    complaints_per_s = complaints_per_day / 86400
    out = {}
    for part in PARTS:
        # Cameras never pass through the web: a pull submits from the worker, which then does what the
        # API did for the measured batch calls (checks, insert), so that share is the worker's.
        camera_ms = 0.0 if part == "web" else camera_cost[part]
        if part == "worker":
            camera_ms += camera_cost["web"] + grab_ms
        ms = frames_per_s * camera_ms + complaints_per_s * complaint_cost[part]
        out[part] = ms / 1000 / utilisation
    return out


def chart(rows: list[tuple[int, dict]], interval_s: float, path: Path) -> None:
    """Stacked bars: cores per part for each number of cameras at one interval."""
    width, height, left, bottom, top = 900, 460, 70, 60, 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    draw.text((left, 10), f"Cores needed (at 60 % busy) for N cameras pulled every {interval_s:g} s, by part "
              "(Triton on CPU; a GPU takes its share)", fill="black", font=font)
    for j, part in enumerate(PARTS):
        x = left + 130 * j
        draw.rectangle([x, 32, x + 10, 42], fill=COLOURS[part])
        draw.text((x + 15, 30), part, fill="black", font=font)
    top_value = max(sum(c.values()) for _, c in rows) * 1.1
    plot_h = height - bottom - top
    bar_w = (width - left - 40) / len(rows) * 0.6
    for tick in range(0, 6):
        value = top_value * tick / 5
        y = height - bottom - value / top_value * plot_h
        draw.line([(left, y), (width - 20, y)], fill=(225, 225, 225))
        draw.text((10, y - 6), f"{value:.0f}", fill="black", font=font)
    for i, (n, parts) in enumerate(rows):
        x0 = left + (i + 0.2) * (width - left - 40) / len(rows)
        base = height - bottom
        for part in PARTS:
            h = parts[part] / top_value * plot_h
            draw.rectangle([x0, base - h, x0 + bar_w, base], fill=COLOURS[part])
            base -= h
        draw.text((x0, base - 14), f"{sum(parts.values()):.1f}", fill="black", font=font)
        draw.text((x0, height - bottom + 8), f"{n} cameras", fill="black", font=font)
    img.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "throughput.json")
    parser.add_argument("--case", default="detector", help="the model the cameras use (cheap, detector, ocr)")
    parser.add_argument("--cameras", default="100,500,2000,5000")
    parser.add_argument("--intervals", default="5,10,30")
    parser.add_argument("--complaints-per-day", type=int, default=5000)
    parser.add_argument("--grab-ms", type=float, default=31.0,
                        help="worker CPU to decode one frame from a kept-open H.264 stream (docs/cameras.md)")
    parser.add_argument("--utilisation", type=float, default=0.6, help="how busy a part may run (headroom)")
    parser.add_argument("--chart", type=Path, default=ROOT / "bench" / "results" / "scale.png")
    parser.add_argument("--markdown", type=Path, help="replace the table between the markers in this file")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    camera_cost = per_input(results, args.case, "batch")
    complaint_cost = per_input(results, "cheap", "16")  # a complaint is one cheap API request
    lines = [
        f"Per camera frame ({args.case}, batch path, measured): "
        + ", ".join(f"{p} {camera_cost[p]:.1f} ms" for p in PARTS)
        + f"; the web's share is done by the pulling worker; frame grab {args.grab_ms:g} ms (worker).",
        "Per complaint (single API request, measured on the cheap model; routing's encoder adds Triton time): "
        + ", ".join(f"{p} {complaint_cost[p]:.1f} ms" for p in PARTS) + ".",
        f"{args.complaints_per_day} complaints a day; every part sized to run at most "
        f"{args.utilisation:.0%} busy.",
        "",
        "| cameras | every | frames/s | worker | PostgreSQL | Redis | web | Triton (CPU) | total cores |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    chart_rows = []
    for interval in (float(v) for v in args.intervals.split(",")):
        for n in (int(v) for v in args.cameras.split(",")):
            c = cores(cameras=n, interval_s=interval, complaints_per_day=args.complaints_per_day,
                      camera_cost=camera_cost, complaint_cost=complaint_cost, grab_ms=args.grab_ms,
                      utilisation=args.utilisation)
            lines.append(f"| {n} | {interval:g} s | {n / interval:.0f} | " + " | ".join(
                f"{math.ceil(c[p] * 10) / 10:.1f}" for p in ("worker", "postgres", "redis", "web", "triton"))
                + f" | {sum(c.values()):.1f} |")
            if interval == 10:
                chart_rows.append((n, c))
    table = "\n".join(lines)
    print(table)
    if chart_rows:
        chart(chart_rows, 10, args.chart)
        print(f"wrote {args.chart}")
    if args.markdown:
        text = args.markdown.read_text()
        start, end = "<!-- scale-table -->", "<!-- /scale-table -->"
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        args.markdown.write_text(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
