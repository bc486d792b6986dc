"""Pages: entry passes (mounted at /passes/). Static segments come before `<pass_id>`."""

from django.urls import URLPattern, path

from gridguard.access.views import passes as views

app_name = "passes"
urlpatterns: list[URLPattern] = [
    path("", views.pass_list, name="list"),
    path("new/", views.issue, name="issue"),
    path("requests/", views.requests_queue, name="requests"),
    path("me/", views.my_passes, name="me"),
    path("me/<slug:pass_id>/", views.my_pass, name="my_pass"),
    path("me/<slug:pass_id>/display/", views.my_pass_display, name="my_pass_display"),
    path("<slug:pass_id>/", views.detail, name="detail"),
    path("<slug:pass_id>/revoke/", views.revoke, name="revoke"),
    path("<slug:pass_id>/decide/", views.decide, name="decide"),
    path("<slug:pass_id>/card/", views.card, name="card"),
]
