"""URL map: pages per app, the API under /api/v1/, admin, language switch."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from gridguard.config.api import api

urlpatterns = [
    # First: devices call the API thousands of times a second, and Django tries the patterns
    # in order.
    path("api/v1/", api.urls),
    path("", RedirectView.as_view(pattern_name="accounts:home", permanent=False)),
    path("accounts/", include("gridguard.accounts.urls")),
    path("territory/", include("gridguard.territory.urls")),
    path("audit/", include("gridguard.core.urls")),
    path("people/", include("gridguard.people.urls")),
    path("travellers/", include("gridguard.health.urls.registration")),
    path("observation/", include("gridguard.health.urls.observation")),
    path("codes/", include("gridguard.health.urls.codes")),
    path("pharmacy/", include("gridguard.health.urls.pharmacy")),
    path("passes/", include("gridguard.access.urls.passes")),
    path("gate/", include("gridguard.access.urls.gate")),
    path("gate-records/", include("gridguard.access.urls.gate_records")),
    path("checkpoints/", include("gridguard.access.urls.checkpoints")),
    path("traceback/", include("gridguard.access.urls.traceback")),
    path("tickets/report/", include("gridguard.tickets.urls.reports")),
    path("tickets/", include("gridguard.tickets.urls.pages")),
    path("notices/", include("gridguard.tickets.urls.notices")),
    path("open311/v2/", include("gridguard.tickets.urls.open311")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
