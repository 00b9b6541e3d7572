from django.urls import path

from services.sources import api as api_views
from services.sources import views

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

# Portal pages (sources list, map, source page), mounted at /sources/ in the namespace "sources".
portal_urlpatterns = [
    path("", views.source_list, name="list"),
    path("new/", views.source_create_view, name="create"),
    path("<uuid:source_id>/", views.source_detail, name="detail"),
    path("<uuid:source_id>/edit/", views.source_edit, name="edit"),
    path("<uuid:source_id>/frame.jpg", views.source_frame, name="frame"),
    path("<uuid:source_id>/zones/", views.source_zones, name="zones"),
    path("<uuid:source_id>/key/", views.source_key, name="key"),
    path("<uuid:source_id>/key/revoke/", views.source_key_revoke, name="key-revoke"),
    path("<uuid:source_id>/bindings/", views.binding_add, name="binding-add"),
    path("<uuid:source_id>/bindings/<uuid:binding_id>/", views.binding_edit, name="binding-edit"),
    path("<uuid:source_id>/bindings/<uuid:binding_id>/remove/", views.binding_remove, name="binding-remove"),
]
