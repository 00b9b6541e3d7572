from django.urls import path

from services.catalog import api, views

urlpatterns = [
    path("scenarios", api.ScenarioListApi.as_view(), name="api-scenarios"),
    path("scenarios/<slug:slug>", api.ScenarioDetailApi.as_view(), name="api-scenario-detail"),
]

# Portal pages, mounted at /catalog/ in the namespace "catalog".
portal_urlpatterns = [
    path("", views.catalog_list, name="list"),
    path("models/<str:name>/licence/", views.model_licence, name="model-licence"),
    path("<slug:slug>/", views.scenario_detail, name="scenario"),
    path("<slug:slug>/example", views.scenario_example, name="example"),
]
