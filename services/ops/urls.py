from django.urls import path

from services.ops import api, views

# JSON API, mounted under /api/v1/.
urlpatterns = [
    path("ops/situation", api.SituationApi.as_view(), name="api-ops-situation"),
]

# Portal pages, mounted at /ops/ in the namespace "ops".
portal_urlpatterns = [
    path("", views.situation_page, name="situation"),
    path("wall/", views.wall_page, name="wall"),
    path("map/", views.map_fragment, name="map"),
]
