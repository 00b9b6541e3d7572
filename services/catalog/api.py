"""Read-only catalog API: the scenarios a caller can run, with their params schema."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from services.catalog.models import Scenario
from services.catalog.selectors import scenario_get, scenario_list


class ScenarioOutput(serializers.ModelSerializer):
    domain = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner_bureau = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    models = serializers.JSONField(source="model_names", read_only=True)

    class Meta:
        model = Scenario
        fields = [
            "slug", "domain", "name_zh", "name_en", "description_zh", "description_en", "method_zh", "method_en",
            "owner_bureau", "input_kind", "pipeline", "models", "params_schema", "status",
        ]


class ScenarioListApi(APIView):
    @extend_schema(
        operation_id="scenarios_list",
        parameters=[OpenApiParameter("domain", str), OpenApiParameter("status", str)],
        responses=ScenarioOutput(many=True),
    )
    def get(self, request):
        qs = scenario_list()
        if request.query_params.get("domain"):
            qs = qs.filter(domain__slug=request.query_params["domain"])
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response(ScenarioOutput(qs, many=True).data)


class ScenarioDetailApi(APIView):
    @extend_schema(operation_id="scenarios_read", responses=ScenarioOutput)
    def get(self, request, slug):
        return Response(ScenarioOutput(scenario_get(slug=slug)).data)
