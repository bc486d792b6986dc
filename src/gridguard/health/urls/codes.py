"""Pages: codes."""

from django.urls import URLPattern

app_name = "codes"
urlpatterns: list[URLPattern] = []
