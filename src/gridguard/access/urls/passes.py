"""Pages: passes."""

from django.urls import URLPattern, path  # noqa: F401

app_name = "passes"
urlpatterns: list[URLPattern] = []
