"""Pages: registration."""

from django.urls import URLPattern

app_name = "travellers"
urlpatterns: list[URLPattern] = []
