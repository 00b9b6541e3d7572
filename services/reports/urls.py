from django.urls import path

from services.reports import api, views

# JSON API, mounted under /api/v1/.
urlpatterns = [
    path("usage/<str:table>", api.UsageTableApi.as_view(), name="api-usage"),
]

# Portal pages, mounted at /reports/ in the namespace "reports".
portal_urlpatterns = [
    path("", views.usage_page, name="usage"),
    path("export.csv", views.usage_export, {"fmt": "csv"}, name="export-csv"),
    path("export.xlsx", views.usage_export, {"fmt": "xlsx"}, name="export-xlsx"),
    path("audit/", views.audit_page, name="audit"),
]
