"""The situation of the district (or of one bureau) at a glance, for the operations centre.

Everything here reads aggregates and the events tables, never the request table: request counts,
alerts and compute come from ``reports.UsageDaily`` (one row per day × bureau × scenario), the rest
from events, reviews and work orders, which grow with alerts rather than with requests.

Who sees what follows the one scoping rule: auditors and platform admins (the operations centre's
staff hold the auditor role in the operations-centre bureau) see the district; a bureau sees its own
requests and compute, the events it is responsible for or raised, and the work orders assigned to or
dispatched by it (``events.selectors.event_scope`` / ``work_order_scope``).
"""

import hashlib
import math
import uuid
from datetime import timedelta
from statistics import median
from types import SimpleNamespace
from urllib.parse import urlencode

from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from services.accounts.models import Bureau
from services.accounts.selectors import Actor, scope_to_actor
from services.catalog.models import Domain, Scenario
from services.events.models import Event, EventReview, WorkOrder
from services.events.selectors import OPEN_STATUS, event_scope, scenario_precision, work_order_scope
from services.reports.charts import echart
from services.reports.models import UsageDaily
from services.reports.selectors import actor_can_see_reports
from services.reports.services import metering_zone
from services.sources.models import Source
from services.sources.views import site_map

# The trends cover this many local days (the 7-day view zooms into the last week of them); closure
# times, confirmation shares, SLA compliance and compute shares cover the same window.
WINDOW_DAYS = 30
RECENT_ALERTS = 10
LOWEST_PRECISION = 6
# Precision from fewer reviews than this says more about chance than about the scenario.
MIN_REVIEWED = 3
# Open events drawn on the map at most (the newest); the counter still counts all of them.
MAP_EVENTS = 400
# One colour per domain, in the domains' own order: the map and the trends use the same ones.
DOMAIN_COLORS = ("#2f6fd1", "#d9480f", "#2b8a3e", "#c2255c", "#7048e8", "#e0a800", "#0c8599")
SEVERITY_RADIUS = {Event.Severity.HIGH: 10, Event.Severity.MEDIUM: 7, Event.Severity.LOW: 5}


def _url(name: str, *args, **query) -> str:
    base = reverse(name, args=args)
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{base}?{urlencode(query)}" if query else base


def _ratio_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _hours_text(hours: float | None) -> str:
    if hours is None:
        return "—"
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def domain_colors() -> dict[int, tuple[Domain, str]]:
    domains = Domain.objects.order_by("order", "slug")
    return {d.pk: (d, DOMAIN_COLORS[i % len(DOMAIN_COLORS)]) for i, d in enumerate(domains)}


def situation(*, actor: Actor, now=None) -> dict:
    """Every figure of the situation view as plain JSON-ready data (the page renders it, the JSON
    endpoint returns it, the live page redraws from it)."""
    now = now or timezone.now()
    zone = metering_zone()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=WINDOW_DAYS - 1)
    since = now - timedelta(days=WINDOW_DAYS)
    district = actor.sees_all_bureaus
    domains = domain_colors()

    usage = scope_to_actor(UsageDaily.objects.filter(day__gte=first, day__lte=today), actor)
    per_day_domain = list(usage.order_by().values("day", "scenario__domain_id").annotate(
        requests=Sum("requests"), alerts=Sum("alerts")))
    events = event_scope(actor)
    orders = work_order_scope(actor)

    today_requests = sum(r["requests"] for r in per_day_domain if r["day"] == today)
    today_alerts = sum(r["alerts"] for r in per_day_domain if r["day"] == today)
    open_events = events.filter(status__in=Event.OPEN).count()
    overdue = orders.filter(status__in=WorkOrder.UNRESOLVED, due_at__lt=now).count()
    closures = [(closed - seen).total_seconds() / 3600 for closed, seen in orders.filter(
        closed_at__gte=since).values_list("closed_at", "event__first_seen_at")]
    closure_h = median(closures) if closures else None
    reviews = EventReview.objects.filter(reviewed_at__gte=since, event__in=events.values("pk")).aggregate(
        confirmed=Count("pk", filter=Q(decision=EventReview.Decision.CONFIRM)), total=Count("pk"))
    confirmed_share = reviews["confirmed"] / reviews["total"] if reviews["total"] else None

    day_text = today.isoformat()
    counters = [
        {"key": "requests_today", "label": _("Requests today"), "value": today_requests,
         "display": f"{today_requests:,}", "url": _url("requests:list", day=day_text),
         "note": _("finished, from the daily aggregates")},
        {"key": "alerts_today", "label": _("Alerts today"), "value": today_alerts, "display": f"{today_alerts:,}",
         "url": _url("requests:list", day=day_text, alert="yes"), "note": _("requests whose rule fired")},
        {"key": "open_events", "label": _("Open events"), "value": open_events, "display": f"{open_events:,}",
         "url": _url("events:queue", view="all", status=OPEN_STATUS), "note": _("awaiting review or action")},
        {"key": "overdue_work_orders", "label": _("Work orders overdue"), "value": overdue, "display": f"{overdue:,}",
         "url": _url("events:board", overdue="1"), "note": _("not resolved by their due time")},
        {"key": "median_closure_h", "label": _("Median alert to closure"),
         "value": round(closure_h, 2) if closure_h is not None else None, "display": _hours_text(closure_h),
         "url": _url("events:queue", view="all", status=Event.Status.CLOSED),
         "note": _("%(n)d closed in %(days)d days") % {"n": len(closures), "days": WINDOW_DAYS}},
        {"key": "confirmed_share", "label": _("Alerts confirmed"),
         "value": round(confirmed_share, 4) if confirmed_share is not None else None,
         "display": _ratio_text(confirmed_share),
         "url": _url("events:queue", view="all", decision=EventReview.Decision.CONFIRM),
         "note": _("%(n)d reviewed in %(days)d days") % {"n": reviews["total"], "days": WINDOW_DAYS}},
    ]

    trends = _trends(per_day_domain, domains, first, today)
    bureaus = _bureau_rows(actor, usage, events, orders, now, since, first, today)
    compute = _compute(actor, usage, first, today, bureaus)
    return {
        "generated_at": timezone.localtime(now).isoformat(),
        "scope": {"district": district, "bureau": None if district or actor.bureau is None else actor.bureau.slug},
        "window_days": WINDOW_DAYS,
        "counters": counters,
        "trends": trends,
        "bureaus": bureaus,
        "compute": compute,
        "lowest_precision": _lowest_precision(since),
        "recent_alerts": _recent_alerts(events, domains),
        "map": _map(actor, events, domains),
        "charts": {
            "alerts": _trend_chart(trends, "alerts", _("Alerts per day by domain")),
            "requests": _trend_chart(trends, "requests", _("Requests per day by domain")),
            "compute": echart("pie", _("Share of platform compute, last %(days)d days") % {"days": WINDOW_DAYS},
                              [s["label"] for s in compute["slices"]],
                              [{"name": _("Compute (s)"), "data": [s["compute_s"] for s in compute["slices"]],
                                "links": [s["url"] for s in compute["slices"]]}],
                              x_title=_("Bureau"), unit="s"),
        },
    }


def _trends(rows, domains, first, today) -> dict:
    days = [(first + timedelta(days=i)) for i in range(WINDOW_DAYS)]
    index = {d: i for i, d in enumerate(days)}
    series = {}
    for row in rows:
        domain_id = row["scenario__domain_id"]
        if domain_id not in series:
            series[domain_id] = {"requests": [0] * len(days), "alerts": [0] * len(days)}
        i = index[row["day"]]
        series[domain_id]["requests"][i] += row["requests"]
        series[domain_id]["alerts"][i] += row["alerts"]
    out = []
    for domain_id, (domain, color) in domains.items():
        figures = series.get(domain_id, {"requests": [0] * len(days), "alerts": [0] * len(days)})
        out.append({"slug": domain.slug, "name": domain.name, "color": color, **figures,
                    "requests_7d": sum(figures["requests"][-7:]), "alerts_7d": sum(figures["alerts"][-7:]),
                    "requests_30d": sum(figures["requests"]), "alerts_30d": sum(figures["alerts"])})
    return {"days": [d.isoformat() for d in days], "domains": out}


def _trend_chart(trends: dict, measure: str, title: str) -> dict:
    """Stacked bars per day and domain; a bar opens that day's requests of that domain."""
    days = trends["days"]
    extra = {"alert": "yes"} if measure == "alerts" else {}
    return echart("bar", title, [d[5:] for d in days], [
        {"name": d["name"], "data": d[measure], "color": d["color"], "stack": measure,
         "links": [_url("requests:list", day=day, domain=d["slug"], **extra) for day in days]}
        for d in trends["domains"]
    ], x_title=_("Day"), zoom=True,
        windows=({"days": 7, "label": _("7 days")}, {"days": WINDOW_DAYS, "label": _("30 days")}))


def _bureau_rows(actor, usage, events, orders, now, since, first, today) -> list[dict]:
    """Per bureau: its review backlog, open work orders (overdue among them), SLA compliance (work
    orders resolved in the window by their due time) and compute. A bureau sees its own row only."""
    own = None if actor.sees_all_bureaus else actor.bureau
    ev = events.filter(status__in=Event.OPEN)
    wo_open = orders.filter(status__in=WorkOrder.UNRESOLVED)
    wo_done = orders.filter(resolved_at__gte=since)
    if own is not None:
        ev, wo_open, wo_done = ev.filter(bureau=own), wo_open.filter(assignee_bureau=own), wo_done.filter(
            assignee_bureau=own)
    backlog = {r["bureau_id"]: r for r in ev.order_by().values("bureau_id").annotate(
        awaiting=Count("pk", filter=Q(status=Event.Status.NEW)), open=Count("pk"))}
    pending = {r["assignee_bureau_id"]: r for r in wo_open.order_by().values("assignee_bureau_id").annotate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))}
    done = {r["assignee_bureau_id"]: r for r in wo_done.order_by().values("assignee_bureau_id").annotate(
        resolved=Count("pk"), on_time=Count("pk", filter=Q(resolved_at__lte=F("due_at"))))}
    compute = {r["bureau_id"]: r["compute_ms"] or 0.0 for r in usage.order_by().values("bureau_id").annotate(
        compute_ms=Sum("compute_ms"))}
    platform_ms = UsageDaily.objects.filter(day__gte=first, day__lte=today).aggregate(t=Sum("compute_ms"))["t"] or 0
    ids = set(backlog) | set(pending) | set(done) | set(compute)
    if own is not None:
        ids = {own.pk}
    reports = actor_can_see_reports(actor)
    span = {"from": first.isoformat(), "to": today.isoformat()}
    rows = []
    for bureau in Bureau.objects.filter(pk__in=ids):
        b, p, d = backlog.get(bureau.pk, {}), pending.get(bureau.pk, {}), done.get(bureau.pk, {})
        resolved, on_time = d.get("resolved", 0), d.get("on_time", 0)
        ms = compute.get(bureau.pk, 0.0)
        rows.append({
            "slug": bureau.slug, "name": bureau.name,
            "awaiting_review": b.get("awaiting", 0), "open_events": b.get("open", 0),
            "open_work_orders": p.get("open", 0), "overdue": p.get("overdue", 0),
            "resolved": resolved, "on_time": on_time, "sla": round(on_time / resolved, 4) if resolved else None,
            "sla_display": _ratio_text(on_time / resolved if resolved else None),
            "compute_s": round(ms / 1000, 3), "compute_share": round(ms / platform_ms, 4) if platform_ms else None,
            "compute_share_display": _ratio_text(ms / platform_ms if platform_ms else None),
            "urls": {
                "awaiting_review": _url("events:queue", view="all", status=Event.Status.NEW, bureau=bureau.slug),
                "open_events": _url("events:queue", view="all", status=OPEN_STATUS, bureau=bureau.slug),
                "open_work_orders": _url("events:board", bureau=bureau.slug),
                "overdue": _url("events:board", bureau=bureau.slug, overdue="1"),
                "sla": _url("events:board", bureau=bureau.slug),
                "compute": _url("reports:usage", bureau=bureau.slug, **span) if reports
                else _url("requests:list", bureau=bureau.slug if actor.sees_all_bureaus else ""),
            },
        })
    rows.sort(key=lambda r: (-r["overdue"], -r["awaiting_review"], -r["open_work_orders"], r["slug"]))
    return rows


def _compute(actor, usage, first, today, bureaus: list[dict]) -> dict:
    """Shares of the platform's compute in the window. A bureau sees its own share beside one slice
    for all other bureaus together (the platform total is public in the reports as well)."""
    platform_ms = UsageDaily.objects.filter(day__gte=first, day__lte=today).aggregate(t=Sum("compute_ms"))["t"] or 0
    slices = [{"label": r["name"], "slug": r["slug"], "compute_s": r["compute_s"], "share": r["compute_share"],
               "url": r["urls"]["compute"]} for r in sorted(bureaus, key=lambda r: -r["compute_s"]) if r["compute_s"]]
    if not actor.sees_all_bureaus:
        rest = platform_ms / 1000 - sum(s["compute_s"] for s in slices)
        if rest > 0.0005:
            slices.append({"label": _("Other bureaus"), "slug": "", "compute_s": round(rest, 3),
                           "share": round(rest * 1000 / platform_ms, 4), "url": None})
    return {"platform_s": round(platform_ms / 1000, 3), "slices": slices}


def _lowest_precision(since) -> list[dict]:
    """Scenarios whose alerts the bureaus dismissed most often in the window (measured precision,
    the same platform-wide figure as on each scenario's page)."""
    measured = [(sid, p) for sid, p in scenario_precision(since=since).items() if p.reviewed >= MIN_REVIEWED]
    measured.sort(key=lambda item: (item[1].value, -item[1].reviewed))
    chosen = measured[:LOWEST_PRECISION]
    scenarios = Scenario.objects.in_bulk([sid for sid, _p in chosen])
    return [{"slug": scenarios[sid].slug, "name": scenarios[sid].name, "confirmed": p.confirmed,
             "dismissed": p.dismissed, "reviewed": p.reviewed, "precision": round(p.value, 4),
             "precision_display": _ratio_text(p.value),
             "url": _url("events:queue", view="all", scenario=scenarios[sid].slug,
                         decision=EventReview.Decision.DISMISS)}
            for sid, p in chosen]


def _event_row(event: Event, domains) -> dict:
    domain, color = domains.get(event.scenario.domain_id, (None, "#6c757d"))
    return {
        "id": str(event.pk), "scenario": event.scenario.slug, "scenario_name": event.scenario.name,
        "domain": domain.slug if domain else "", "domain_name": domain.name if domain else "", "color": color,
        "severity": event.severity, "severity_label": str(event.get_severity_display()),
        "status": event.status, "status_label": str(event.get_status_display()),
        "source": event.source, "bureau": event.bureau.slug, "bureau_name": event.bureau.name,
        "summary": event.summary[:120], "last_seen_at": timezone.localtime(event.last_seen_at).isoformat(),
        "last_seen_display": timezone.localtime(event.last_seen_at).strftime("%m-%d %H:%M:%S"),
        "url": reverse("events:detail", args=[event.pk]),
    }


def _recent_alerts(events, domains) -> list[dict]:
    rows = events.select_related("scenario", "bureau").order_by("-last_seen_at")[:RECENT_ALERTS]
    return [_event_row(e, domains) for e in rows]


def _map(actor, events, domains) -> dict:
    """Sources with coordinates and the open events raised at them, placed with the sources map's own
    projection (services.sources.views.site_map: no tiles). An event routed to this bureau from
    another bureau's camera is placed at that camera, which is drawn as a place, not as a source."""
    own = list(scope_to_actor(Source.objects.all(), actor).filter(latitude__isnull=False, longitude__isnull=False)
               .values("id", "name", "status", "latitude", "longitude"))
    open_events = list(events.filter(status__in=Event.OPEN).select_related("scenario", "bureau")
                       .order_by("-last_seen_at")[:MAP_EVENTS])
    source_ids = {}
    for event in open_events:
        if event.source.startswith("source:"):
            source_ids.setdefault(event.source[7:], []).append(event)
    known = {str(s["id"]) for s in own}
    valid = [sid for sid in source_ids if sid not in known and _is_uuid(sid)]
    places = list(Source.objects.filter(pk__in=valid, latitude__isnull=False, longitude__isnull=False)
                  .values("id", "name", "status", "latitude", "longitude"))
    points = [SimpleNamespace(**s, own=True) for s in own] + [
        SimpleNamespace(**{**s, "name": "", "status": "place"}, own=False) for s in places]
    frame = site_map(points)
    sources, placed, where = [], [], {}
    if frame is not None:
        for marker in frame["markers"]:
            point = marker["source"]
            where[str(point.id)] = (marker["x"], marker["y"], float(point.latitude), float(point.longitude))
            if point.own:
                sources.append({"id": str(point.id), "name": point.name, "status": point.status,
                                "x": marker["x"], "y": marker["y"], "label_x": marker["label_x"],
                                "anchor": marker["anchor"], "latitude": float(point.latitude),
                                "longitude": float(point.longitude),
                                "url": reverse("sources:detail", args=[point.id])})
        for sid, at_source in source_ids.items():
            if sid not in where:
                continue
            x, y, lat, lng = where[sid]
            for i, event in enumerate(at_source):
                # Several open events at one camera sit on a small ring around it, newest first.
                angle = 2 * math.pi * i / max(len(at_source), 1)
                ring = 0 if len(at_source) == 1 else 12 + 4 * (i // 8)
                row = _event_row(event, domains)
                row.update(source_id=sid, latitude=lat, longitude=lng,
                           x=round(x + ring * math.cos(angle), 1), y=round(y + ring * math.sin(angle), 1),
                           r=SEVERITY_RADIUS.get(event.severity, 7))
                placed.append(row)
        frame = {k: v for k, v in frame.items() if k != "markers"}
    # Changes whenever anything drawn changes: the live page fetches the map again only then.
    key = hashlib.sha256(repr((sorted((s["id"], s["status"], s["x"], s["y"]) for s in sources),
                               sorted((e["id"], e["status"], e["x"], e["y"]) for e in placed))).encode()
                         ).hexdigest()[:16]
    return {"key": key, "frame": frame, "sources": sources, "events": placed,
            "unplaced_events": len(open_events) - len(placed),
            "legend": [{"slug": d.slug, "name": d.name, "color": c} for d, c in domains.values()]}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
