"""Portal pages of the situation view: the desk layout (``/ops/``), the command-room wall
(``/ops/wall/``, 1920×1080, dark, nothing to click) and the map as a fragment that the live page
fetches again when what it shows has changed. Both pages poll ``/api/v1/ops/situation``
(static/js/ops.js) and redraw from it, so there is one source of figures."""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from services.accounts.portal import portal_view
from services.ops.selectors import WINDOW_DAYS, situation

# How often the live pages ask for new figures; a dropped connection backs off up to a minute.
POLL_SECONDS = 5


def _context(actor, data: dict) -> dict:
    return {
        "data": data, "counters": data["counters"], "map": data["map"], "charts": data["charts"],
        "district": data["scope"]["district"], "window_days": WINDOW_DAYS,
        "poll_url": reverse("api-ops-situation"), "map_url": reverse("ops:map"), "poll_seconds": POLL_SECONDS,
        "scope_bureau": actor.bureau if not data["scope"]["district"] else None,
    }


@require_GET
@portal_view()
def situation_page(request, actor):
    return render(request, "ops/situation.html", _context(actor, situation(actor=actor)))


@require_GET
@portal_view()
def wall_page(request, actor):
    return render(request, "ops/wall.html", _context(actor, situation(actor=actor)))


@require_GET
@portal_view()
def map_fragment(request, actor):
    data = situation(actor=actor)
    return render(request, "ops/_map.html", {"map": data["map"]})
