from django.contrib.auth import views as auth_views
from django.urls import path

from gridguard.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("otp/verify/", views.otp_verify, name="otp_verify"),
    path("otp/setup/", views.otp_setup, name="otp_setup"),
    path("home/", views.home, name="home"),
]
