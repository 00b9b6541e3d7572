"""Portal pages: the usage report with its exports, and the audit log viewer.

The audit viewer lives here, not in the audit app, because deciding who may read it needs roles
(accounts), and the audit app sits below accounts.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from services.accounts.portal import SYSTEM_ROLES, portal_view
from services.accounts.selectors import Actor
from services.audit.models import AuditEntry
from services.audit.selectors import audit_check_latest, audit_entry_list, audit_head
from services.audit.services import audit_chain_check
from services.core.errors import ApplicationError, NotFound, PermissionDenied
from services.core.pagination import CappedPaginator
from services.reports.charts import report_chart_specs
from services.reports.exports import OUTCOMES_NOTE, csv_bytes, report_meta, xlsx_bytes
from services.reports.selectors import (
    actor_can_see_reports,
    report_filter_choices,
    report_query,
    usage_report,
)
from services.reports.services import day_bounds, metering_zone, usage_export_record
from services.reports.tables import TABLE_KEYS, report_tables
from services.reports.templatetags.reports_tags import cell


def _today():
    return timezone.now().astimezone(metering_zone()).date()


# The page lists the bureau × scenario pairs nearest their quota; the exports hold all of them.
PAGE_QUOTA_ROWS = 30


def _page_table(table) -> dict:
    """Cells formatted once in Python (a few thousand template filter calls cost more than the
    figures themselves); long tables are cut, the exports keep every row."""
    limit = PAGE_QUOTA_ROWS if table.key == "quota" else None
    rows = table.rows[:limit] if limit else table.rows
    numeric = [c.kind != "text" for c in table.columns]
    return {
        "table": table,
        "rows": [[(cell(v, c.kind), n) for v, c, n in zip(row, table.columns, numeric, strict=True)] for row in rows],
        "hidden": len(table.rows) - len(rows),
    }


def _date_param(params, name: str):
    try:
        return parse_date(params.get(name) or "")
    except ValueError:
        return None


def _bureau_slug(actor: Actor) -> str:
    return actor.bureau.slug if actor.bureau else ""


def _requested_report(request, actor: Actor):
    """The report the query string asks for, or the message of a malformed query (the caller's 400);
    another bureau's figures stay a 404 and a forbidden role a 403."""
    try:
        query = report_query(request.GET, today=_today())
        return query, usage_report(actor=actor, **query), ""
    except (NotFound, PermissionDenied):
        raise
    except ApplicationError as exc:
        return None, None, exc.message


@require_GET
@portal_view(allowed=actor_can_see_reports)
def usage_page(request, actor: Actor):
    choices = report_filter_choices(actor)
    query, report, error = _requested_report(request, actor)
    if error:
        return render(request, "reports/usage.html", {"error": error, "choices": choices, "params": request.GET},
                      status=400)
    tables = report_tables(report)
    charts = report_chart_specs(report)
    export_query = request.GET.urlencode()
    return render(request, "reports/usage.html", {
        "report": report,
        "tables": {key: _page_table(table) for key, table in tables.items()},
        "table_order": ("bureaus", "scenarios", "domains", "periods"),
        "charts": charts,
        "choices": choices,
        "params": request.GET,
        "query": query,
        "export_query": export_query,
        "outcomes_note": OUTCOMES_NOTE,
        "sees_all": actor.sees_all_bureaus,
    })


@require_GET
@portal_view(allowed=actor_can_see_reports)
def usage_export(request, actor: Actor, fmt: str):
    query, report, error = _requested_report(request, actor)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    tables = report_tables(report)
    stem = f"cityai-usage-{query['first']}-{query['last']}"
    if fmt == "csv":
        table = request.GET.get("table") or "scenarios"
        if table not in TABLE_KEYS:
            raise Http404
        body, content_type, filename = csv_bytes(tables[table]), "text/csv; charset=utf-8", f"{stem}-{table}.csv"
    else:
        table = "all"
        head = audit_head()
        meta = report_meta(report, generated_at=timezone.now().astimezone(metering_zone()),
                           audit_head=(head.seq, head.hash) if head else None)
        body = xlsx_bytes(tables, meta)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        filename = f"{stem}.xlsx"
    usage_export_record(actor_label=actor.label, bureau=_bureau_slug(actor), fmt=fmt, query=query, table=table)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
@portal_view(*SYSTEM_ROLES)
def audit_page(request, actor: Actor):
    if request.method == "POST":
        check = audit_chain_check(by=actor.label)
        if check.ok:
            messages.success(request, _("The audit chain verifies: %(n)s entries.") % {"n": check.entries})
        else:
            messages.error(request, _("The audit chain is broken at entry #%(seq)s.") % {"seq": check.first_broken_seq})
        return redirect("reports:audit")
    params = request.GET
    since, until = _date_param(params, "since"), _date_param(params, "until")
    entries = audit_entry_list(
        action=params.get("action") or None,
        actor=params.get("actor") or None,
        bureau=params.get("bureau") or None,
        object_type=params.get("object_type") or None,
        object_id=params.get("object_id") or None,
        since=day_bounds(since, since)[0] if since else None,
        until=day_bounds(until, until)[1] if until else None,
    )
    page = CappedPaginator(entries, 100).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(request, "reports/audit.html", {
        "page": page,
        "params": params,
        "page_query": query.urlencode(),
        "actions": AuditEntry.Action.choices,
        "check": audit_check_latest(),
        "head": audit_head(),
    })
