"""Pages: gate."""

from django.urls import URLPattern, path  # noqa: F401

app_name = "gate"
urlpatterns: list[URLPattern] = []
