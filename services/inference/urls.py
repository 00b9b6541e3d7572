from django.urls import path

from services.inference import api

urlpatterns = [
    path("requests", api.RequestListCreateApi.as_view(), name="api-requests"),
    path("requests/<uuid:request_id>", api.RequestDetailApi.as_view(), name="api-request-detail"),
    path("requests/<uuid:request_id>/annotated.jpg", api.RequestAnnotatedImageApi.as_view(),
         name="api-request-annotated"),
    path("scenarios/<slug:slug>/model", api.ScenarioModelUploadApi.as_view(), name="api-scenario-model"),
]
