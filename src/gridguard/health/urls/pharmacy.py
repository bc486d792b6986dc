"""Pages: pharmacy (the pharmacist's page, staff lists, the resident's mask page)."""

from django.urls import path

from gridguard.health.views import pharmacy as views

app_name = "pharmacy"
urlpatterns = [
    path("", views.home, name="home"),
    path("purchase/", views.register, name="register"),
    path("pickup/", views.pickup, name="pickup"),
    path("outlet/", views.outlet, name="outlet"),
    path("purchases/", views.purchases, name="purchases"),
    path("outlets/", views.outlets, name="outlets"),
    path("masks/", views.masks, name="masks"),
    path("masks/reserve/", views.reserve, name="reserve"),
    path("masks/<str:code>/cancel/", views.cancel, name="cancel"),
]
