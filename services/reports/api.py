"""JSON API for the report figures: ``GET /api/v1/usage/<table>`` with the page's query parameters.

The rows are the very tables the page and the exports show. Auditors see every bureau; a bureau
manager sees their own (another bureau is a 404); others get 403.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from services.core import fields
from services.core.api import InputSerializer, ScopedApiView
from services.core.errors import NotFound
from services.reports.selectors import PERIODS, report_query, usage_report
from services.reports.services import metering_zone
from services.reports.tables import TABLE_KEYS, report_tables


class CodedRegexField(fields.CodedField, serializers.RegexField):
    pass


class CodedDateField(fields.CodedField, serializers.DateField):
    pass


class UsageQuery(InputSerializer):
    """The report's period and filters. Checked here (what the schema shows, a 400 naming the field);
    ``report_query``, which the page and the exports share, turns them into the period."""

    others_allowed = True  # a query string may carry more (the language, a cache buster)

    month = CodedRegexField(r"^\d{4}-(0[1-9]|1[0-2])$", required=False, code="invalid_month",
                            help_text="2026-11 (default: this month)")
    locals()["from"] = CodedDateField(required=False, code="invalid_date",  # a keyword: declared by name
                                      help_text="first day, with `to` instead of `month`")
    to = CodedDateField(required=False, code="invalid_date", help_text="last day (inclusive)")
    period = serializers.ChoiceField(list(PERIODS), required=False, help_text="for the periods table")
    bureau = serializers.CharField(required=False, allow_blank=True,
                                   help_text="bureau slug (auditors; managers: their own)")
    domain = serializers.CharField(required=False, allow_blank=True)
    scenario = serializers.CharField(required=False, allow_blank=True)


TABLE_PARAM = OpenApiParameter("table", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(TABLE_KEYS))


class UsageTableApi(ScopedApiView):
    @extend_schema(operation_id="usage_table", parameters=[TABLE_PARAM, UsageQuery],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, table: str):
        if table not in TABLE_KEYS:
            raise NotFound(f"No usage table {table!r}; there are {', '.join(TABLE_KEYS)}.")
        self.read(UsageQuery, request.query_params)
        today = timezone.now().astimezone(metering_zone()).date()
        query = report_query(request.query_params, today=today)
        report = usage_report(actor=self.actor, **query)
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
