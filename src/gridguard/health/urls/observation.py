"""Pages: observation (mounted at /observation/)."""

from django.urls import URLPattern, path

from gridguard.health.views import observation as views

app_name = "observation"
urlpatterns: list[URLPattern] = [
    path("", views.order_list, name="list"),
    path("start/", views.start, name="start"),
    path("me/", views.me, name="me"),
    path("me/checkin/", views.my_checkin, name="my_checkin"),
    path("me/errand/", views.my_errand, name="my_errand"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/ack/", views.acknowledge, name="ack"),
    path("errands/", views.errands, name="errands"),
    path("errands/<int:pk>/assign/", views.assign_errand, name="assign"),
    path("errands/<int:pk>/close/", views.close_errand, name="close"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/notice/", views.notice, name="notice"),
    path("<int:pk>/notice/serve/", views.serve_notice, name="serve_notice"),
    path("<int:pk>/commitment/", views.record_commitment, name="commitment"),
    path("<int:pk>/checkin/", views.visit_checkin, name="checkin"),
    path("<int:pk>/breach/", views.report_breach, name="breach"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/errand/", views.request_errand, name="errand"),
]
