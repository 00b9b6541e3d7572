"""``GET /api/v1/ops/situation``: the situation view's figures as JSON, for the live page and for
anyone's own wall screen. Scoped like every read: a bureau gets its own situation, auditors and
platform admins the district's."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from services.core.api import ScopedApiView
from services.ops.selectors import situation


class CounterOutput(serializers.Serializer):
    key = serializers.ChoiceField(choices=["requests_today", "alerts_today", "open_events", "overdue_work_orders",
                                           "median_closure_h", "confirmed_share"])
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="Hours for median_closure_h, 0..1 for confirmed_share.")
    display = serializers.CharField()
    url = serializers.CharField(help_text="The portal list behind the number, already filtered.")
    note = serializers.CharField()


class TrendDomainOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    color = serializers.CharField()
    requests = serializers.ListField(child=serializers.IntegerField(), help_text="One per day in trends.days.")
    alerts = serializers.ListField(child=serializers.IntegerField())
    requests_7d = serializers.IntegerField()
    alerts_7d = serializers.IntegerField()
    requests_30d = serializers.IntegerField()
    alerts_30d = serializers.IntegerField()


class TrendsOutput(serializers.Serializer):
    days = serializers.ListField(child=serializers.DateField())
    domains = TrendDomainOutput(many=True)


class BureauRowOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    awaiting_review = serializers.IntegerField()
    open_events = serializers.IntegerField()
    open_work_orders = serializers.IntegerField()
    overdue = serializers.IntegerField()
    resolved = serializers.IntegerField(help_text="Work orders resolved in the window.")
    on_time = serializers.IntegerField(help_text="Of those, resolved by their due time.")
    sla = serializers.FloatField(allow_null=True, help_text="on_time / resolved.")
    sla_display = serializers.CharField()
    compute_s = serializers.FloatField()
    compute_share = serializers.FloatField(allow_null=True)
    compute_share_display = serializers.CharField()
    urls = serializers.DictField(child=serializers.CharField())


class ComputeSliceOutput(serializers.Serializer):
    label = serializers.CharField()
    slug = serializers.CharField()
    compute_s = serializers.FloatField()
    share = serializers.FloatField(allow_null=True)
    url = serializers.CharField(allow_null=True)


class ComputeOutput(serializers.Serializer):
    platform_s = serializers.FloatField()
    slices = ComputeSliceOutput(many=True)


class PrecisionOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    confirmed = serializers.IntegerField()
    dismissed = serializers.IntegerField()
    reviewed = serializers.IntegerField()
    precision = serializers.FloatField()
    precision_display = serializers.CharField()
    url = serializers.CharField()


class SituationEventOutput(serializers.Serializer):
    """Named apart from the events app's ``EventOutput``: one schema component name, one shape."""

    id = serializers.UUIDField()
    scenario = serializers.CharField()
    scenario_name = serializers.CharField()
    domain = serializers.CharField()
    domain_name = serializers.CharField()
    color = serializers.CharField()
    severity = serializers.CharField()
    severity_label = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    source = serializers.CharField()
    bureau = serializers.CharField()
    bureau_name = serializers.CharField()
    summary = serializers.CharField()
    last_seen_at = serializers.DateTimeField()
    last_seen_display = serializers.CharField()
    url = serializers.CharField()


class MapPlaceOutput(serializers.Serializer):
    """Where a marker stands: on the earth (WGS-84) and on the map drawing."""

    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    x = serializers.FloatField(help_text="Position on the map drawing (map.frame), as the portal draws it.")
    y = serializers.FloatField()


class MapEventOutput(SituationEventOutput, MapPlaceOutput):
    source_id = serializers.UUIDField()
    r = serializers.IntegerField(help_text="Marker radius: larger for higher severity.")


class MapSourceOutput(MapPlaceOutput):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField()
    url = serializers.CharField()


class MapOutput(serializers.Serializer):
    key = serializers.CharField(help_text="Changes whenever anything on the map changes.")
    sources = MapSourceOutput(many=True)
    events = MapEventOutput(many=True)
    unplaced_events = serializers.IntegerField(help_text="Open events without a source that has coordinates.")
    legend = serializers.ListField(child=serializers.DictField())


class ScopeOutput(serializers.Serializer):
    district = serializers.BooleanField()
    bureau = serializers.CharField(allow_null=True)


class SituationOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    scope = ScopeOutput()
    window_days = serializers.IntegerField()
    counters = CounterOutput(many=True)
    trends = TrendsOutput()
    bureaus = BureauRowOutput(many=True)
    compute = ComputeOutput()
    lowest_precision = PrecisionOutput(many=True)
    recent_alerts = SituationEventOutput(many=True)
    map = MapOutput()
    charts = serializers.DictField(child=serializers.DictField(), help_text="Chart specs ready to draw.")


class SituationApi(ScopedApiView):
    @extend_schema(operation_id="ops_situation", responses=SituationOutput,
                   description="Live counters, trends by domain, per-bureau backlog, SLA and compute share, "
                               "lowest-precision scenarios, recent alerts and the map, read from daily "
                               "aggregates and the events tables. Scoped to the caller.")
    def get(self, request):
        data = situation(actor=self.actor)
        response = Response(SituationOutput(data).data)
        response["Cache-Control"] = "no-store"
        return response
