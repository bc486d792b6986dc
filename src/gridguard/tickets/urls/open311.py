"""Open311 GeoReport v2 (mounted at /open311/v2/): JSON only; `.xml` answers 400."""

from django.urls import URLPattern, URLResolver, path, re_path

from gridguard.tickets import open311

app_name = "tickets_open311"
urlpatterns: list[URLPattern | URLResolver] = [
    path("openapi.json", open311.openapi, name="openapi"),
    re_path(r"^services\.(?P<fmt>[A-Za-z0-9]+)$", open311.services, name="services"),
    re_path(r"^requests\.(?P<fmt>[A-Za-z0-9]+)$", open311.requests, name="requests"),
    re_path(
        r"^requests/(?P<request_id>[^/]+)\.(?P<fmt>[A-Za-z0-9]+)$",
        open311.request_detail,
        name="request",
    ),
]
