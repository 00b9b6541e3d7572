"""JSON API for the report figures: ``GET /api/v1/usage/<table>`` with the page's query parameters.

The rows are the very tables the page and the exports show. Auditors see every bureau; a bureau
manager sees their own (another bureau is a 404); others get 403.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from services.accounts.selectors import actor_from_request
from services.core.errors import NotFound
from services.reports.selectors import report_query, usage_report
from services.reports.services import metering_zone
from services.reports.tables import TABLE_KEYS, report_tables

QUERY_PARAMS = [
    OpenApiParameter("table", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(TABLE_KEYS)),
    OpenApiParameter("month", OpenApiTypes.STR, description="2026-11 (default: this month)"),
    OpenApiParameter("from", OpenApiTypes.DATE, description="first day, with `to` instead of `month`"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="last day (inclusive)"),
    OpenApiParameter("period", OpenApiTypes.STR, enum=["day", "month"], description="for the periods table"),
    OpenApiParameter("bureau", OpenApiTypes.STR, description="bureau slug (auditors; managers: their own)"),
    OpenApiParameter("domain", OpenApiTypes.STR),
    OpenApiParameter("scenario", OpenApiTypes.STR),
]


class UsageTableApi(APIView):
    @extend_schema(operation_id="usage_table", parameters=QUERY_PARAMS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, table: str):
        if table not in TABLE_KEYS:
            raise NotFound(f"No usage table {table!r}; there are {', '.join(TABLE_KEYS)}.")
        actor = actor_from_request(request)
        today = timezone.now().astimezone(metering_zone()).date()
        query = report_query(request.query_params, today=today)
        report = usage_report(actor=actor, **query)
        result = report_tables(report)[table]
        return Response({
            "table": table,
            "from": report.first,
            "to": report.last,
            "period": report.period,
            "filters": {
                "bureau": report.bureau.slug if report.bureau else None,
                "domain": report.domain.slug if report.domain else None,
                "scenario": report.scenario.slug if report.scenario else None,
            },
            "platform_compute_s": round(report.platform_compute_ms / 1000, 3),
            "event_outcomes": [
                {"scenario": o.scenario.slug, "confirmed": o.figures.confirmed, "dismissed": o.figures.dismissed,
                 "precision": o.figures.precision, "work_orders": o.figures.work_orders,
                 "resolved": o.figures.resolved, "closed": o.figures.closed, "overdue": o.figures.overdue,
                 "mean_response_h": o.figures.mean_response_h, "median_response_h": o.figures.median_response_h}
                for o in report.outcomes
            ],
            "columns": [{"key": c.key, "title": str(c.title), "kind": c.kind} for c in result.columns],
            "rows": result.as_dicts(),
        })
