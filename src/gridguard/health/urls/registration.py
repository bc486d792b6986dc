"""Pages: traveller registration (public form and receipt) and the staff lists."""

from django.urls import path

from gridguard.health.views import registration as views

app_name = "travellers"
urlpatterns = [
    path("register/", views.register, name="register"),
    path("receipt/", views.lookup, name="lookup"),
    path("receipt/<str:code>/", views.receipt, name="receipt"),
    path("", views.registrations, name="list"),
    path("unmatched/", views.unmatched, name="unmatched"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("followups/", views.followups, name="followups"),
    path("followups/<int:pk>/close/", views.close, name="close"),
]
