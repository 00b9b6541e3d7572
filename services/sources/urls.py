from django.urls import path

from services.sources import api as api_views

# JSON API, mounted under /api/v1/.
api = [
    path("sources", api_views.SourceListCreateApi.as_view(), name="api-sources"),
    path("sources/<uuid:source_id>", api_views.SourceDetailApi.as_view(), name="api-source-detail"),
    path("sources/<uuid:source_id>/zones", api_views.SourceZonesApi.as_view(), name="api-source-zones"),
    path("sources/<uuid:source_id>/device-key", api_views.SourceDeviceKeyApi.as_view(), name="api-source-device-key"),
    path("sources/<uuid:source_id>/bindings", api_views.SourceBindingsApi.as_view(), name="api-source-bindings"),
    path("sources/<uuid:source_id>/frame.jpg", api_views.SourceFrameApi.as_view(), name="api-source-frame"),
    path("bindings/<uuid:binding_id>", api_views.BindingDetailApi.as_view(), name="api-binding-detail"),
    path("devices/push", api_views.DevicePushApi.as_view(), name="api-device-push"),
]
urlpatterns = api

# Portal pages (sources list, map, source page), mounted at /sources/ by the portal.
portal_urlpatterns = []
