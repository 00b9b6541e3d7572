"""Portal pages of live sources: the list with a site map, a source's page (last frame, zones, health,
bindings, recent requests and events, device key) and the forms that change them.

Everyone in a bureau reads its sources; only its managers (and platform admins who belong to it)
change them, as in the services, which check again. Another bureau's source, its frame and its
bindings answer 404 exactly like a missing id. The last frame is an input like a submitted image,
so auditors see the source's health and results but not the frame.

The map is drawn on the server as SVG from the sources' WGS-84 coordinates: no tile server, no
network, nothing for the CSP to allow.
"""

import json
import math
from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from services.accounts.portal import MANAGE_ROLES, portal_view
from services.inference.access import inference_request_check_raw_input
from services.sources import selectors, services
from services.sources.forms import BindingForm, SourceForm, ZonesForm
from services.sources.grabbers import masked_url
from services.sources.models import Source


def _source_for_change(actor, source_id) -> Source:
    """The source a manager is about to change; readers of it get 403, everyone else 404."""
    source = selectors.source_get(actor=actor, source_id=source_id)
    if not services.can_write(actor, source):
        raise DjangoPermissionDenied
    return source


# --- The site map -----------------------------------------------------------------------------------

MAP_WIDTH, MAP_HEIGHT = 960, 440
# Room around the plot: latitude labels on the left, longitude labels below, scale bar and north above.
MAP_LEFT, MAP_RIGHT, MAP_TOP, MAP_BOTTOM = 84, 24, 40, 34
_NICE_DEGREES = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
_NICE_METRES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000)
_METRES_PER_DEGREE = 111_320
# A lone camera still gets a map about 300 m across, not one infinitely zoomed in.
_MIN_SPAN_DEGREES = 0.003
# Share of the plot left free around the outermost sources, so no marker sits on the frame.
_MARGIN = 1.4


def _nice(values, target: float) -> float:
    return next((v for v in values if v >= target), values[-1])


def _degree_label(value: float, step: float, positive: str, negative: str) -> str:
    decimals = max(0, -math.floor(math.log10(step)))
    return f"{abs(value):.{decimals}f}°{positive if value >= 0 else negative}"


def site_map(sources) -> dict | None:
    """Place the sources with coordinates on an equirectangular plot (longitude scaled by the cosine of
    the latitude, which is true to scale over a district), with a graticule and a scale bar."""
    placed = [s for s in sources if s.latitude is not None and s.longitude is not None]
    if not placed:
        return None
    lats = [float(s.latitude) for s in placed]
    lngs = [float(s.longitude) for s in placed]
    lat_mid = (min(lats) + max(lats)) / 2
    shrink = max(math.cos(math.radians(lat_mid)), 0.05)
    lat_span = max(max(lats) - min(lats), _MIN_SPAN_DEGREES) * _MARGIN
    lng_span = max((max(lngs) - min(lngs)) * shrink, _MIN_SPAN_DEGREES) * _MARGIN
    left, top = MAP_LEFT, MAP_TOP
    right, bottom = MAP_WIDTH - MAP_RIGHT, MAP_HEIGHT - MAP_BOTTOM
    plot_w, plot_h = right - left, bottom - top
    scale = min(plot_w / lng_span, plot_h / lat_span)  # pixels per degree of latitude
    centre_lat, centre_lng = lat_mid, (min(lngs) + max(lngs)) / 2
    mid_x, mid_y = left + plot_w / 2, top + plot_h / 2

    def x_of(lng: float) -> float:
        return mid_x + (lng - centre_lng) * shrink * scale

    def y_of(lat: float) -> float:
        return mid_y - (lat - centre_lat) * scale

    lat_lo, lat_hi = centre_lat - (plot_h / 2) / scale, centre_lat + (plot_h / 2) / scale
    lng_lo = centre_lng - (plot_w / 2) / (shrink * scale)
    lng_hi = centre_lng + (plot_w / 2) / (shrink * scale)

    lat_step = _nice(_NICE_DEGREES, 80 / scale)
    lng_step = _nice(_NICE_DEGREES, 130 / (shrink * scale))
    parallels = []
    value = math.ceil(lat_lo / lat_step) * lat_step
    while value <= lat_hi:
        parallels.append({"y": round(y_of(value), 1), "label": _degree_label(value, lat_step, "N", "S")})
        value += lat_step
    meridians = []
    value = math.ceil(lng_lo / lng_step) * lng_step
    while value <= lng_hi:
        meridians.append({"x": round(x_of(value), 1), "label": _degree_label(value, lng_step, "E", "W")})
        value += lng_step

    metres_per_px = _METRES_PER_DEGREE / scale
    metres = _nice(_NICE_METRES, 120 * metres_per_px)
    markers = []
    for s in placed:
        x, y = x_of(float(s.longitude)), y_of(float(s.latitude))
        # Labels go left of markers in the right third, so they stay inside the plot.
        flip = x > left + plot_w * 2 / 3
        markers.append({"source": s, "x": round(x, 1), "y": round(y, 1),
                        "label_x": round(x - 12 if flip else x + 12, 1), "anchor": "end" if flip else "start"})
    # Draw offline sources last, so a problem is never hidden under a healthy neighbour.
    order = {Source.Status.OFFLINE: 2, Source.Status.UNKNOWN: 1}
    markers.sort(key=lambda m: order.get(m["source"].status, 0))
    return {
        "width": MAP_WIDTH, "height": MAP_HEIGHT,
        "left": left, "top": top, "right": right, "bottom": bottom, "plot_w": plot_w, "plot_h": plot_h,
        "tick_x": left - 6, "tick_y": bottom + 20,
        "parallels": parallels, "meridians": meridians, "markers": markers,
        "scale_px": round(metres / metres_per_px, 1),
        "scale_label": f"{metres // 1000} km" if metres >= 1000 else f"{metres} m",
        "scale_x": left, "scale_y": top - 12, "north_x": right - 10, "north_y": top - 22,
        "unplaced": 0,
    }


def zone_shapes(zones) -> list[dict]:
    """Zones as the page draws them without script: SVG points in the 0..1 box, a label at the centre."""
    shapes = []
    for zone in zones or []:
        polygon = [p for p in zone.get("polygon") or [] if isinstance(p, list | tuple) and len(p) == 2]
        if not polygon:
            continue
        shapes.append({
            "name": zone.get("name", ""),
            "points": " ".join(f"{float(x):.4f},{float(y):.4f}" for x, y in polygon),
            "left": round(100 * sum(float(p[0]) for p in polygon) / len(polygon), 2),
            "top": round(100 * sum(float(p[1]) for p in polygon) / len(polygon), 2),
            "count": len(polygon),
        })
    return shapes


# --- Pages ----------------------------------------------------------------------------------------


@portal_view()
def source_list(request, actor):
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    sources = list(selectors.source_list(actor=actor, status=status if status in Source.Status.values else None,
                                         kind=kind if kind in Source.Kind.values else None))
    plot = site_map(sources)
    if plot is not None:
        plot["unplaced"] = sum(1 for s in sources if s.latitude is None or s.longitude is None)
    counts = {row["status"]: row["n"] for row in
              selectors.source_list(actor=actor).order_by().values("status").annotate(n=Count("pk"))}
    return render(request, "sources/list.html", {
        "sources": sources,
        "map": plot,
        "status": status,
        "kind": kind,
        "statuses": Source.Status.choices,
        "kinds": Source.Kind.choices,
        "counts": {value: counts.get(value, 0) for value in Source.Status.values},
        "can_create": actor.bureau is not None and actor.role in MANAGE_ROLES,
    })


@portal_view(*MANAGE_ROLES, needs_bureau=True)
def source_create_view(request, actor):
    form = SourceForm(request.POST or None, initial={"kind": Source.Kind.CAMERA, "mode": Source.Mode.PULL})
    source = form.submit(partial(services.source_create, actor=actor)) if form.is_bound else None
    if source is not None:
        messages.success(request, _("Source “%(name)s” added. Draw its zones and bind scenarios below.")
                         % {"name": source.name})
        return redirect("sources:detail", source_id=source.pk)
    return render(request, "sources/form.html", {"form": form, "source": None}, status=400 if form.is_bound else 200)


@portal_view(*MANAGE_ROLES)
def source_edit(request, actor, source_id):
    source = _source_for_change(actor, source_id)
    form = SourceForm(request.POST or None, initial=SourceForm.initial_for(source), editing=True)
    if form.is_bound and form.submit(partial(services.source_update, actor=actor, source=source), source=source):
        messages.success(request, _("Source saved."))
        return redirect("sources:detail", source_id=source.pk)
    return render(request, "sources/form.html", {"form": form, "source": source}, status=400 if form.is_bound else 200)


def _detail_context(actor, source: Source, **extra) -> dict:
    can_manage = services.can_write(actor, source)
    bindings = list(selectors.binding_list(source=source))
    for binding in bindings:
        binding.params_text = json.dumps(binding.params, ensure_ascii=False, sort_keys=True) if binding.params else ""
    show_frame = actor.sees_raw_inputs and bool(source.last_frame)
    context = {
        "source": source,
        "url_shown": masked_url(source.url),
        "can_manage": can_manage,
        "bindings": bindings,
        "binding_form": BindingForm(source=source) if can_manage else None,
        "show_frame": show_frame,
        "frame_hidden_for_auditor": not actor.sees_raw_inputs and bool(source.last_frame),
        "frame_version": int(source.last_seen_at.timestamp()) if source.last_seen_at else 0,
        "zones_json": json.dumps(source.zones or [], ensure_ascii=False),
        "zone_shapes": zone_shapes(source.zones),
        "recent_requests": selectors.source_recent_requests(source=source, limit=20),
        "recent_events": selectors.source_recent_events(source=source, limit=20),
        "new_key": None,
    }
    context.update(extra)
    return context


@portal_view()
def source_detail(request, actor, source_id):
    source = selectors.source_get(actor=actor, source_id=source_id)
    return render(request, "sources/detail.html", _detail_context(actor, source))


@portal_view()
def source_frame(request, actor, source_id):
    source = selectors.source_get(actor=actor, source_id=source_id)
    inference_request_check_raw_input(actor=actor)
    frame = selectors.source_frame_open(source=source)
    if frame is None:
        raise Http404
    response = FileResponse(frame, content_type="image/jpeg")
    # The file is overwritten by every pull, and it is a bureau's camera image: no shared caches.
    response["Cache-Control"] = "private, no-cache"
    return response


@portal_view(*MANAGE_ROLES)
@require_POST
def source_zones(request, actor, source_id):
    """Save the zone editor's polygons; a refusal re-renders the page with the drawing kept."""
    source = _source_for_change(actor, source_id)
    form = ZonesForm(request.POST)
    if form.submit(partial(services.source_zones_set, actor=actor, source=source)):
        messages.success(request, _("Zones saved (%(count)d).") % {"count": len(form.drawn)})
        return redirect(f"{source_url(source)}#zones")
    source.refresh_from_db()
    # Keep what was drawn (when it could be read at all) so the manager can fix it rather than redraw.
    kept = {} if form.drawn is None else {"zones_json": json.dumps(form.drawn, ensure_ascii=False)}
    context = _detail_context(actor, source, zones_error=next(iter(form.errors.values()))[0], **kept)
    return render(request, "sources/detail.html", context, status=400)


def source_url(source: Source) -> str:
    return reverse("sources:detail", args=[source.pk])


@portal_view(*MANAGE_ROLES)
@require_POST
def source_key(request, actor, source_id):
    """Issue (or replace) the device key of a pushing source; the key exists only in this response."""
    source, key = services.source_device_key_issue(actor=actor, source=_source_for_change(actor, source_id))
    response = render(request, "sources/detail.html", _detail_context(actor, source, new_key=key))
    response["Cache-Control"] = "no-store"
    return response


@portal_view(*MANAGE_ROLES)
@require_POST
def source_key_revoke(request, actor, source_id):
    source = services.source_device_key_revoke(actor=actor, source=_source_for_change(actor, source_id))
    messages.success(request, _("The device key is revoked; the device can no longer push."))
    return redirect("sources:detail", source_id=source.pk)


@portal_view(*MANAGE_ROLES)
@require_POST
def binding_add(request, actor, source_id):
    source = _source_for_change(actor, source_id)
    form = BindingForm(request.POST, source=source)
    binding = form.submit(partial(services.binding_create, actor=actor, source=source))
    if binding is None:
        return render(request, "sources/detail.html", _detail_context(actor, source, binding_form=form), status=400)
    messages.success(request, _("“%(scenario)s” now runs on this source every %(interval)d s.")
                     % {"scenario": binding.scenario.name, "interval": binding.interval_s})
    return redirect(f"{source_url(source)}#bindings")


@portal_view(*MANAGE_ROLES)
def binding_edit(request, actor, source_id, binding_id):
    source = _source_for_change(actor, source_id)
    binding = selectors.source_binding_get(source=source, binding_id=binding_id)
    form = BindingForm(request.POST or None, source=source, binding=binding, initial=BindingForm.initial_for(binding))
    if form.is_bound and form.submit(partial(services.binding_update, actor=actor, binding=binding)):
        messages.success(request, _("Binding saved."))
        return redirect(f"{source_url(source)}#bindings")
    return render(request, "sources/binding_form.html", {"form": form, "source": source, "binding": binding},
                  status=400 if form.is_bound else 200)


@portal_view(*MANAGE_ROLES)
@require_POST
def binding_remove(request, actor, source_id, binding_id):
    source = _source_for_change(actor, source_id)
    binding = selectors.source_binding_get(source=source, binding_id=binding_id)
    services.binding_delete(actor=actor, binding=binding)
    messages.success(request, _("“%(scenario)s” no longer runs on this source.") % {"scenario": binding.scenario.name})
    return redirect(f"{source_url(source)}#bindings")
