"""Pages: codes."""

from django.urls import URLPattern, path

from gridguard.health.views import codes as views

app_name = "codes"
urlpatterns: list[URLPattern] = [
    path("me/", views.my_code, name="me"),
    path("rules/", views.rules, name="rules"),
    path("rules/<slug:code>/", views.rule_edit, name="rule_edit"),
    path("person/<int:person_id>/", views.person_code, name="person"),
]
