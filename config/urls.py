"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from config.source import source
from voting.views import home

urlpatterns = [
    path("", home, name="home"),
    path("api/", include("board.urls")),
    path("api/", include("identity.urls")),
    path("api/", include("voting.urls")),
    path("api/", include("tally.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves its start-up script as a separate file, and our
        # template drops drf-spectacular's inline <style>: both for the CSP.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("healthz", healthz, name="healthz"),
    path("source.tar.gz", source, name="source"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("operations.urls")),  # the officials' dashboard (before the admin)
    path("", include("voting.page_urls")),  # election pages, booth
    path("", include("participation.urls")),  # participatory processes
    path("admin/", admin.site.urls),
]

handler400 = "config.api_errors.handler400"
handler403 = "config.api_errors.handler403"
handler404 = "config.api_errors.handler404"
handler500 = "config.api_errors.handler500"
