from django.urls import path

from services.catalog import api

urlpatterns = [
    path("scenarios", api.ScenarioListApi.as_view(), name="api-scenarios"),
    path("scenarios/<slug:slug>", api.ScenarioDetailApi.as_view(), name="api-scenario-detail"),
]
