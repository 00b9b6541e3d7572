"""Project-level pages: the landing page and the health probe."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from services.accounts.portal import portal_actor
from services.catalog.selectors import scenario_list
from services.inference import triton
from services.inference.selectors import inference_request_list


def health(request):
    """Liveness of the pieces a request needs: 200 only when the database and Triton answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
        checks["database"] = f"error: {type(exc).__name__}"
    checks["triton"] = "ok" if triton.server_ready() else "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)


@login_required
def home(request):
    """The landing page: the caller's bureau at a glance, the catalog by domain, recent requests."""
    actor = portal_actor(request)
    scenarios = list(scenario_list())
    domains = {}
    for scenario in scenarios:
        domains.setdefault(scenario.domain, []).append(scenario)
    context = {"actor": actor, "domains": list(domains.items()), "scenario_count": len(scenarios),
               "working_count": sum(s.is_working for s in scenarios), "recent": [], "today": None}
    if actor is not None:
        scoped = inference_request_list(actor=actor)
        day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        context["recent"] = scoped.order_by("-created_at")[:8]
        context["today"] = scoped.filter(created_at__gte=day).aggregate(
            total=Count("id"),
            alerts=Count("id", filter=Q(alert=True)),
            waiting=Count("id", filter=Q(status__in=("queued", "running"))),
        )
        if actor.bureau is not None:
            context["entitled_count"] = actor.bureau.entitlements.filter(enabled=True).count()
    return render(request, "home.html", context)
