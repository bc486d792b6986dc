from django.urls import URLPattern, URLResolver, path

from gridguard.tickets.views import reports as views

app_name = "tickets_reports"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.report, name="index"),
    path("export.xlsx", views.export, name="export"),
]
