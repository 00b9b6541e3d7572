"""Read-only catalog API: the scenarios a caller can run, with their params schema."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from services.catalog.models import Scenario
from services.catalog.selectors import scenario_get, scenario_search
from services.core import fields
from services.core.api import InputSerializer, ScopedApiView


class ScenarioOutput(serializers.ModelSerializer):
    domain = fields.RelatedSlugField()
    owner_bureau = fields.RelatedSlugField()
    models = serializers.JSONField(source="model_names", read_only=True)

    class Meta:
        model = Scenario
        fields = [
            "slug", "domain", "name_zh", "name_en", "description_zh", "description_en", "method_zh", "method_en",
            "owner_bureau", "input_kind", "pipeline", "models", "params_schema", "status",
        ]


class ScenarioListQuery(InputSerializer):
    others_allowed = True  # the paginator's limit and offset
    domain = serializers.CharField(required=False, allow_blank=True, default="", help_text="Domain slug")
    status = serializers.ChoiceField(Scenario.Status.choices, required=False, allow_blank=True, default="")


class ScenarioListApi(ScopedApiView):
    @extend_schema(operation_id="scenarios_list", parameters=[ScenarioListQuery], responses=ScenarioOutput(many=True))
    def get(self, request):
        query = self.read(ScenarioListQuery, request.query_params)
        return Response(ScenarioOutput(scenario_search(**query), many=True).data)


class ScenarioDetailApi(ScopedApiView):
    @extend_schema(operation_id="scenarios_read", responses=ScenarioOutput)
    def get(self, request, slug):
        return Response(ScenarioOutput(scenario_get(slug=slug)).data)
