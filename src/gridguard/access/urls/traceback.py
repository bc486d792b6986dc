"""Pages: trace-back (A4), mounted at /traceback/."""

from django.urls import URLPattern, path

from gridguard.access.views import traceback as views

app_name = "traceback"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/export.<str:fmt>", views.export, name="export"),
    path("<int:pk>/followups/", views.followups, name="followups"),
]
