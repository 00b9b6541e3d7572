"""Project-level pages: the landing page and the health probe."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from services.accounts.portal import portal_actor
from services.catalog.selectors import entitlement_list, scenario_list
from services.inference import triton
from services.inference.selectors import inference_request_counts_today, inference_request_list


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
    """The landing page: the caller's bureau at a glance, the catalog by domain, recent requests. A
    user in no bureau still sees the catalog."""
    actor = portal_actor(request)
    scenarios = list(scenario_list())
    domains = {}
    for scenario in scenarios:
        domains.setdefault(scenario.domain, []).append(scenario)
    context = {"actor": actor, "domains": list(domains.items()), "scenario_count": len(scenarios),
               "working_count": sum(s.is_working for s in scenarios), "recent": [], "today": None}
    if actor is not None:
        context["recent"] = inference_request_list(actor=actor)[:8]
        context["today"] = inference_request_counts_today(actor=actor)
        if actor.bureau is not None:
            context["entitled_count"] = entitlement_list(actor=actor, enabled=True).count()
    return render(request, "home.html", context)
