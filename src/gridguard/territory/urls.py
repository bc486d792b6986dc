from django.urls import path

from gridguard.territory import duty_views, export_views, views

app_name = "territory"
urlpatterns = [
    path("duty/", views.my_duty, name="my_duty"),
    path("duty/plan/", duty_views.plan, name="duty_plan"),
    path("duty/hours/", duty_views.hours, name="duty_hours"),
    path("duty/<int:shift_id>/<str:action>/", views.clock_in_out, name="clock"),
    path("responsible/<int:pk>/", views.responsible, name="responsible"),
    path("<str:code>/places/<str:kind>/", views.places, name="places"),
    path("export/<str:code>.<str:fmt>", export_views.export_area, name="export"),
    path("<str:code>/", views.area, name="area"),
]
