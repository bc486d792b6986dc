"""Pages: observation."""

from django.urls import URLPattern

app_name = "observation"
urlpatterns: list[URLPattern] = []
