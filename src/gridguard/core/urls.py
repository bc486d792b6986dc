from django.urls import path

from gridguard.core import views

app_name = "core"
urlpatterns = [path("", views.audit_page, name="audit")]
