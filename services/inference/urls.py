from django.urls import path

from services.inference import api, views

urlpatterns = [
    path("requests", api.RequestListCreateApi.as_view(), name="api-requests"),
    path("requests/batch", api.RequestBatchApi.as_view(), name="api-requests-batch"),
    path("requests/<uuid:request_id>", api.RequestDetailApi.as_view(), name="api-request-detail"),
    path("requests/<uuid:request_id>/annotated.jpg", api.RequestAnnotatedImageApi.as_view(),
         name="api-request-annotated"),
    path("quota", api.QuotaApi.as_view(), name="api-quota"),
    path("scenarios/<slug:slug>/model", api.ScenarioModelUploadApi.as_view(), name="api-scenario-model"),
]

# Portal pages, mounted at /requests/ in the namespace "requests".
portal_urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/<slug:slug>/", views.request_submit, name="submit"),
    path("<uuid:request_id>/", views.request_detail, name="detail"),
    path("<uuid:request_id>/live", views.request_live, name="live"),
    path("<uuid:request_id>/input", views.request_input, name="input"),
    path("<uuid:request_id>/annotated.jpg", views.request_annotated, name="annotated"),
]

# The system status page, mounted at /system/ in the namespace "system".
system_urlpatterns = [
    path("", views.system_status, name="status"),
]

# The entitlements tab of bureau administration, mounted with the accounts app's pages at /bureau/.
bureau_urlpatterns = [
    path("entitlements/", views.bureau_entitlements, name="entitlements"),
]
