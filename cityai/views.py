"""Project-level pages: the landing page and the health probe."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from services.accounts.models import Membership
from services.accounts.selectors import Actor
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
    membership = Membership.objects.select_related("bureau").filter(user=request.user).first()
    actor = Actor(bureau=membership.bureau, role=membership.role, user=request.user) if membership else None
    recent = inference_request_list(actor=actor)[:20] if actor else []
    return render(
        request,
        "home.html",
        {"membership": membership, "scenarios": scenario_list(), "recent": recent},
    )
