"""Pages: traceback."""

from django.urls import URLPattern, path  # noqa: F401

app_name = "traceback"
urlpatterns: list[URLPattern] = []
