from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cityai import views
from services.accounts import urls as accounts_urls
from services.accounts.login import ThrottledAuthenticationForm
from services.catalog import urls as catalog_urls
from services.core.api import api_not_found
from services.events import urls as events_urls
from services.inference import urls as inference_urls
from services.ops import urls as ops_urls
from services.reports import urls as reports_urls
from services.sources import urls as sources_urls
from services.webhooks import urls as webhooks_urls

api_v1 = [
    path("", include("services.catalog.urls")),
    path("", include("services.inference.urls")),
    path("", include("services.reports.urls")),
    path("", include("services.events.urls")),
    path("", include("services.webhooks.urls")),
    path("", include("services.sources.urls")),
    path("", include("services.ops.urls")),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script from this URL (?script): no inline script, as the CSP asks.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("<path:rest>", api_not_found),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html",
                                                authentication_form=ThrottledAuthenticationForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health", views.health, name="health"),
    # Portal pages, one namespace per part of the portal.
    path("catalog/", include((catalog_urls.portal_urlpatterns, "catalog"))),
    path("requests/", include((inference_urls.portal_urlpatterns, "requests"))),
    path("bureau/", include((accounts_urls.portal_urlpatterns + inference_urls.bureau_urlpatterns
                                   + webhooks_urls.bureau_urlpatterns, "bureau"))),
    path("system/", include((inference_urls.system_urlpatterns, "system"))),
    path("reports/", include((reports_urls.portal_urlpatterns, "reports"))),
    path("events/", include((events_urls.portal_urlpatterns, "events"))),
    path("sources/", include((sources_urls.portal_urlpatterns, "sources"))),
    path("ops/", include((ops_urls.portal_urlpatterns, "ops"))),
    path("", views.home, name="home"),
]
