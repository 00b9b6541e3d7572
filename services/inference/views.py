"""Portal pages for requests: submit from a scenario page, follow progress, read results; and the
system status page for platform admins and auditors.

Every read goes through ``inference_request_list`` / ``inference_request_get`` (the bureau-scoping
selectors), so another bureau's request is a 404 here exactly as in the API.
"""

import json
import re
from urllib.parse import urlencode

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from services.accounts.portal import MANAGE_ROLES, SUBMIT_ROLES, SYSTEM_ROLES, portal_view
from services.accounts.selectors import bureau_filter_choices
from services.catalog.selectors import domain_list, scenario_get, scenario_list
from services.catalog.views import example_path, scenario_context
from services.core.errors import ApplicationError
from services.core.filters import local_day
from services.core.pagination import CappedPaginator
from services.inference import forms, system
from services.inference.access import inference_request_check_raw_input
from services.inference.audit import inference_request_viewed
from services.inference.models import InferenceRequest
from services.inference.selectors import (
    entitlement_usage_list,
    inference_request_counts_today,
    inference_request_get,
    inference_request_in_flight,
    inference_request_list,
)
from services.inference.services import inference_request_submit

Status = InferenceRequest.Status
PAGE_SIZE = 20
# Result keys shown in their own sections; the rest are listed as plain facts.
_SHOWN_KEYS = {"alert", "summary", "objects", "lines", "text", "matched_keywords", "entities", "places",
               "fields", "pipeline_ms", "image", "candidates", "runner_ups", "scores", "nearest_exemplar",
               "count_by_class"}


@portal_view(*SUBMIT_ROLES)
@require_POST
def request_submit(request, actor, slug):
    """Submit the try-it form as the logged-in user; on a refusal, show the form again with why."""
    scenario = scenario_get(slug=slug)
    form = {key: request.POST.get(key, "") for key in ("params", "source", "text", "series", "file_charset")}
    try:
        if request.POST.get("use_example"):
            path = example_path(scenario)
            if path is None:
                raise ApplicationError("This scenario has no example input.", code="missing_input")
            checked = forms.read_example(scenario, path)
        else:
            checked = forms.read_input(scenario, request.POST, request.FILES)
        obj, _created = inference_request_submit(
            actor=actor,
            scenario_slug=scenario.slug,
            checked=checked,
            params=forms.parse_params(form["params"]),
            source=form["source"],
        )
    except ApplicationError as exc:
        context = scenario_context(actor, scenario)
        context.update(form=form, errors=forms.form_errors(exc))
        return render(request, "catalog/scenario.html", context, status=exc.status)
    return redirect("requests:detail", request_id=obj.id)


@portal_view()
def request_list(request, actor):
    filters = {name: request.GET.get(name, "").strip()[:100]
               for name in ("scenario", "status", "alert", "bureau", "domain", "day")}
    # ``day``: requests submitted on that local day (the situation view links "today's requests" here).
    day = local_day(filters["day"]) if filters["day"] else None
    if day is None:
        filters["day"] = ""
    qs = inference_request_list(
        actor=actor, scenario=filters["scenario"], status=filters["status"], domain=filters["domain"], day=day,
        alert={"yes": True, "no": False}.get(filters["alert"]),
        bureau=filters["bureau"] if actor.sees_all_bureaus else None,
    )
    return render(request, "inference/request_list.html", {
        "page": CappedPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "filtered": any(filters.values()),
        "scenarios": scenario_list(),
        "statuses": Status.choices,
        "bureaus": bureau_filter_choices(actor=actor),
        "domains": domain_list(),
        "today": inference_request_counts_today(actor=actor),
    })


def highlight(text: str, terms) -> str:
    """The text, escaped, with every occurrence of the terms marked (longest first)."""
    words = sorted({t.strip() for t in terms if isinstance(t, str) and t.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words))
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped


def _terms(result: dict) -> list[str]:
    terms = list(result.get("matched_keywords") or [])
    entities = result.get("entities")
    if isinstance(entities, dict):
        for values in entities.values():
            if isinstance(values, list):
                terms += [v if isinstance(v, str) else v.get("text", "") for v in values if isinstance(v, str | dict)]
    terms += [t for t in result.get("shared_entities") or [] if isinstance(t, str)]
    return terms


def _facts(result: dict) -> list[tuple[str, str]]:
    facts = []
    for key, value in result.items():
        if key in _SHOWN_KEYS:
            continue
        if isinstance(value, dict | list):
            if not value:
                continue
            value = json.dumps(value, ensure_ascii=False)
            if len(value) > 160:
                continue
        facts.append((key, "—" if value is None else str(value)))
    return facts


def request_context(obj: InferenceRequest, *, show_raw: bool = True) -> dict:
    """Everything the request page shows; also rendered alone as the polled progress fragment.

    ``show_raw`` False (auditors) leaves out the submitted text, series and images."""
    result = obj.result or {}
    terms = _terms(result)
    steps = [
        ("submitted", True, False),
        ("queued", obj.status != Status.QUEUED, obj.status == Status.QUEUED),
        ("running", obj.is_terminal, obj.status == Status.RUNNING),
        ("finished", obj.is_terminal, False),
    ]
    lines = []
    for line in result.get("lines") or []:
        if isinstance(line, dict) and isinstance(line.get("text"), str):
            lines.append({"html": highlight(line["text"], terms), "matched": bool(line.get("matched"))})
    entities = result.get("entities") if isinstance(result.get("entities"), dict) else {}
    return {
        "req": obj,
        "result": result,
        "steps": steps,
        "objects": [o for o in (result.get("objects") or []) if isinstance(o, dict)][:100],
        "lines": lines,
        "result_text": highlight(result["text"], terms) if isinstance(result.get("text"), str) and not lines else "",
        "show_raw": show_raw,
        "input_text": highlight(obj.input_data, terms) if show_raw and isinstance(obj.input_data, str) else "",
        "input_series": json.dumps(obj.input_data, ensure_ascii=False)[:4000]
        if show_raw and obj.input_kind == "series" and obj.input_data is not None else "",
        "entities": {k: v for k, v in entities.items() if v},
        "fields": {
            key: ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
            for key, value in (result.get("fields") or {}).items()
        } if isinstance(result.get("fields"), dict) else {},
        "facts": _facts(result),
        "result_json": json.dumps(result, ensure_ascii=False, indent=2) if result else "",
        "params_json": json.dumps(obj.params, ensure_ascii=False, indent=2),
        "retrying": obj.status == Status.QUEUED and obj.error_code == "retrying",
    }


@portal_view()
def request_detail(request, actor, request_id):
    obj = inference_request_get(actor=actor, request_id=request_id)
    inference_request_viewed(actor=actor, request=obj)
    return render(request, "inference/request_detail.html", request_context(obj, show_raw=actor.sees_raw_inputs))


@portal_view()
def request_live(request, actor, request_id):
    """The part of the request page that changes while it runs; htmx polls it until it is final."""
    obj = inference_request_get(actor=actor, request_id=request_id)
    inference_request_viewed(actor=actor, request=obj)  # the poll that turns final shows the result
    return render(request, "inference/_request_body.html", request_context(obj, show_raw=actor.sees_raw_inputs))


def _raw_file(actor, request_id, part: str):
    """The submitted file (``input``) or the annotated image of a request: the bureau's own bytes, so
    never an auditor's, and every read is recorded."""
    obj = inference_request_get(actor=actor, request_id=request_id)
    inference_request_check_raw_input(actor=actor)
    if part == "input":
        file, content_type = obj.input_file, obj.input_content_type or "application/octet-stream"
    else:
        file, content_type = obj.annotated_image, "image/jpeg"
    if not file:
        raise Http404
    inference_request_viewed(actor=actor, request=obj, part=part)
    return FileResponse(file.open("rb"), content_type=content_type)


@portal_view()
def request_input(request, actor, request_id):
    return _raw_file(actor, request_id, "input")


@portal_view()
def request_annotated(request, actor, request_id):
    return _raw_file(actor, request_id, "annotated_image")


@portal_view(*SYSTEM_ROLES)
def system_status(request, actor):
    """Triton and per-model readiness, queue depth per tier, workers online, and work in flight."""
    return render(request, "inference/system_status.html", {
        "triton": system.triton_status(),
        "queues": system.queue_depths(),
        "workers": system.workers_online(),
        "in_flight": inference_request_in_flight(actor=actor),
        "checked_at": timezone.now(),
    })


@portal_view(*MANAGE_ROLES, needs_bureau=True)
def bureau_entitlements(request, actor):
    """The bureau's entitlements with quota use today and compute this month (read-only here;
    platform admins change them in Django admin)."""
    return render(request, "accounts/bureau_entitlements.html", {
        "rows": entitlement_usage_list(actor=actor, bureau=actor.bureau), "tab": "entitlements",
    })
