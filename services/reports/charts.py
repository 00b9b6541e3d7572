"""Charts as SVG drawn on the server: the page shows them without any JavaScript, and the monthly
report writes the very same drawing to a file. Two shapes cover the reports: bars over time
(stacked series) and horizontal bars for a ranking."""

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

PALETTE = ("#1b4f9c", "#c0392b", "#2e8b57", "#d68910", "#7d3c98", "#17a2b8", "#6c757d")
FONT = '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif'


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    color: str


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title, {chr(34): "&quot;"})}" font-family=\'{FONT}\' font-size="12">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def column_chart(title: str, labels: list[str], series: list[Series], *, width: int = 760,
                 height: int = 280) -> str:
    """Stacked columns, one per label (a day or a month), with a legend."""
    left, right, top, bottom = 56, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    y_max = _nice_max(max(totals, default=0))
    body = [f'<text x="{left}" y="18" font-size="14" font-weight="600" fill="#1c2733">{escape(title)}</text>']
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3ea"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5a6675">{_number(value)}</text>')
    n = max(1, len(labels))
    slot = plot_w / n
    bar = max(1.0, slot * 0.72)
    every = max(1, math.ceil(n / 16))
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        base = top + plot_h
        for s in series:
            h = plot_h * s.values[i] / y_max if y_max else 0
            if h > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.color}">'
                    f"<title>{escape(label)} · {escape(s.name)}: {_number(s.values[i])}</title></rect>"
                )
            base -= h
        if i % every == 0:
            body.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                        f'fill="#5a6675">{escape(label)}</text>')
    lx = left
    for s in series:
        body.append(f'<rect x="{lx}" y="{height - 16}" width="10" height="10" fill="{s.color}"/>')
        body.append(f'<text x="{lx + 14}" y="{height - 7}" fill="#1c2733">{escape(s.name)}</text>')
        lx += 24 + 13 * len(s.name)
    return _svg(width, height, title, body)


def bar_chart(title: str, labels: list[str], values: list[float], value_texts: list[str] | None = None, *,
              color: str = PALETTE[0], width: int = 560, limit: int = 15) -> str:
    """Horizontal bars for a ranking (largest first), the first ``limit`` of them."""
    pairs = sorted(zip(labels, values, value_texts or [_number(v) for v in values], strict=True),
                   key=lambda p: -p[1])[:limit]
    row_h, top, left, right = 24, 34, 190, 120
    height = top + row_h * max(1, len(pairs)) + 10
    plot_w = width - left - right
    v_max = max((v for _, v, _ in pairs), default=0) or 1
    body = [f'<text x="0" y="18" font-size="14" font-weight="600" fill="#1c2733">{escape(title)}</text>']
    for i, (label, value, text) in enumerate(pairs):
        y = top + row_h * i
        w = plot_w * value / v_max
        short = label if len(label) <= 14 else label[:13] + "…"
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" fill="#1c2733">'
                    f"<title>{escape(label)}</title>{escape(short)}</text>")
        body.append(f'<rect x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{color}"/>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" fill="#5a6675">{escape(text)}</text>')
    if not pairs:
        body.append(f'<text x="{left}" y="{top + 15}" fill="#5a6675">—</text>')
    return _svg(width, height, title, body)


def report_charts(report) -> dict[str, str]:
    """The report page's three charts: requests over time, compute share by bureau, p95 latency by
    scenario. ``report`` is a ``selectors.UsageReport``."""
    from django.utils.translation import gettext as _

    labels = [f.key[5:] if report.period == "day" else f.key for f in report.by_period]
    return {
        "requests": column_chart(
            _("Requests per day") if report.period == "day" else _("Requests per month"),
            labels,
            [Series(_("Succeeded"), [f.succeeded for f in report.by_period], PALETTE[0]),
             Series(_("Failed"), [f.failed for f in report.by_period], PALETTE[1])],
        ),
        "compute": bar_chart(
            _("Compute seconds by bureau (share of platform compute)"),
            [f.label for f in report.by_bureau],
            [f.compute_s for f in report.by_bureau],
            [f"{f.compute_s:,.1f} s · {f.compute_share:.1%}" if f.compute_share is not None else f"{f.compute_s:,.1f} s"
             for f in report.by_bureau],
            color=PALETTE[2],
        ),
        "latency": bar_chart(
            _("Latency p95 by scenario (ms)"),
            [f.label for f in report.by_scenario if f.p95_ms is not None],
            [f.p95_ms for f in report.by_scenario if f.p95_ms is not None],
            color=PALETTE[3],
        ),
    }


# --- Interactive charts (ECharts in the page) -------------------------------------------------------
# The page draws charts in the browser with ECharts (static/vendor/echarts, via static/js/charts.js):
# tooltips, legends, zoom on time ranges and a click-through to the rows behind a bar. A chart is a
# plain JSON spec, so a JSON endpoint can hand the same spec to a live page; every spec carries its
# figures as a table too, shown under the chart for screen readers and for copying. The exports above
# keep drawing static SVG.


def echart(kind: str, title: str, x: list[str], series: list[dict], *, unit: str = "", x_title: str = "",
           zoom: bool = False, windows: tuple = (), percent: bool = False, window_end: int | None = None) -> dict:
    """A chart spec for static/js/charts.js. ``kind``: bar (stacked when series share a ``stack``),
    line, hbar (a ranking) or pie (one series). A series is ``{"name", "data", "color"}`` with optional
    ``"stack"`` and ``"links"`` (one URL or None per point: a click on the point opens it).
    ``windows``: ``({"days": 7, "label": "7 days"}, …)`` buttons that zoom a time axis to its last days
    (up to the category ``window_end``, e.g. today in a month that has days still to come)."""
    spec = {
        "kind": kind, "title": str(title), "x": [str(v) for v in x], "unit": str(unit), "zoom": zoom,
        "percent": percent, "window_end": window_end,
        "windows": [{"days": w["days"], "label": str(w["label"])} for w in windows],
        "series": [{"name": str(s["name"]), "data": list(s["data"]),
                    "color": s.get("color") or PALETTE[i % len(PALETTE)],
                    "stack": s.get("stack"), "links": s.get("links")} for i, s in enumerate(series)],
    }
    spec["table"] = chart_table(spec, x_title=x_title)
    return spec


def chart_table(spec: dict, *, x_title: str = "") -> dict:
    """The figures of a chart as a table: one row per category, one column per series."""
    head = [x_title or "", *(s["name"] for s in spec["series"])]
    rows = []
    for i, label in enumerate(spec["x"]):
        values = [s["data"][i] if i < len(s["data"]) else None for s in spec["series"]]
        rows.append([label, *(_cell(v, spec["percent"]) for v in values)])
    return {"head": head, "rows": rows}


def _cell(value, percent: bool) -> str:
    if value is None:
        return "—"
    if percent:
        return f"{value * 100:.1f}%"
    return _number(value) if value < 10_000 else f"{value:,.0f}"


def report_chart_specs(report) -> dict[str, dict]:
    """The report page's charts, interactive: requests over time (zoomable; a day opens that day's
    requests), compute seconds by bureau (a bar opens that bureau's report) and p95 latency by
    scenario. The monthly export draws the same figures as SVG (``report_charts``)."""
    from urllib.parse import urlencode

    from django.urls import reverse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    daily = report.period == "day"
    labels = [f.key for f in report.by_period]
    today = timezone.localdate().isoformat()
    window_end = labels.index(today) if daily and today in labels else None
    day_links = None
    if daily:
        base = reverse("requests:list")
        day_links = [f"{base}?{urlencode({'day': f.key})}" for f in report.by_period]
    report_url = reverse("reports:usage")
    span = {"from": report.first.isoformat(), "to": report.last.isoformat()}
    by_bureau = sorted(report.by_bureau, key=lambda f: -f.compute_ms)[:15]
    by_latency = sorted((f for f in report.by_scenario if f.p95_ms is not None), key=lambda f: -f.p95_ms)[:15]
    return {
        "requests": echart(
            "bar", _("Requests per day") if daily else _("Requests per month"), labels,
            [{"name": _("Succeeded"), "data": [f.succeeded for f in report.by_period], "color": PALETTE[0],
              "stack": "requests", "links": day_links},
             {"name": _("Failed"), "data": [f.failed for f in report.by_period], "color": PALETTE[1],
              "stack": "requests", "links": day_links},
             {"name": _("Alerts"), "data": [f.alerts for f in report.by_period], "color": PALETTE[3]}],
            x_title=_("Day") if daily else _("Month"), zoom=len(labels) > 7,
            windows=({"days": 7, "label": _("Last 7 days")}, {"days": 366, "label": _("Whole period")})
            if daily else (),
            window_end=window_end,
        ),
        "compute": echart(
            "hbar", _("Compute seconds by bureau (share of platform compute)"), [f.label for f in by_bureau],
            [{"name": _("Compute (s)"), "data": [round(f.compute_s, 3) for f in by_bureau], "color": PALETTE[2],
              "links": [f"{report_url}?{urlencode({**span, 'bureau': f.key})}" for f in by_bureau]}],
            unit="s", x_title=_("Bureau"),
        ),
        "latency": echart(
            "hbar", _("Latency p95 by scenario (ms)"), [f.label for f in by_latency],
            [{"name": _("Latency p95 (ms)"), "data": [round(f.p95_ms, 1) for f in by_latency], "color": PALETTE[3],
              "links": [f"{report_url}?{urlencode({**span, 'scenario': f.key})}" for f in by_latency]}],
            unit="ms", x_title=_("Scenario"),
        ),
    }
