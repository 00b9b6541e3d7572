from django.urls import path  # noqa: F401  (the API routes arrive with api.py)

# JSON API, mounted under /api/v1/.
api = []
urlpatterns = api

# Portal pages (sources list, map, source page), mounted at /sources/ by the portal.
portal_urlpatterns = []
