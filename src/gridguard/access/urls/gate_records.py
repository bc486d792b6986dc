"""Pages: a gate's book of visitors and vehicles and its day statistics (A2).

Mounted at "gate-records/" in config/urls.py.
"""

from django.urls import path

from gridguard.access.views import gates as views

app_name = "gate_records"
urlpatterns = [
    path("", views.index, name="index"),
    path("visitors/<int:pk>/out/", views.visitor_out, name="visitor_out"),
    path("<str:code>/", views.day, name="day"),
    path("<str:code>/visitor/", views.visitor, name="visitor"),
    path("<str:code>/vehicle/", views.vehicle, name="vehicle"),
]
