"""Pages: gate (the volunteer's scan page)."""

from django.urls import path

from gridguard.access.views import gate as views

app_name = "gate"
urlpatterns = [
    path("", views.gate_list, name="list"),
    path("sw.js", views.service_worker, name="sw"),
    path("<str:gate_code>/", views.scan, name="scan"),
]
