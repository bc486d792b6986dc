"""Pages: checkpoints (A3): the list with today's counts, the recording page, the daily counts
per street, and setting checkpoints up."""

from django.urls import path

from gridguard.access.views import checkpoints as views

app_name = "checkpoints"
urlpatterns = [
    path("", views.index, name="index"),
    path("counts/", views.counts, name="counts"),
    path("setup/", views.setup, name="setup"),
    path("<str:code>/", views.record, name="record"),
]
