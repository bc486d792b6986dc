"""Pages: checkpoints."""

from django.urls import URLPattern, path  # noqa: F401

app_name = "checkpoints"
urlpatterns: list[URLPattern] = []
