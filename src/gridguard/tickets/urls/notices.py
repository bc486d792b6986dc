from django.urls import URLPattern, URLResolver, path

from gridguard.tickets.views import notices as views

app_name = "tickets_notices"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("<int:pk>/withdraw/", views.withdraw_notice, name="withdraw"),
    path("answers/<int:pk>/withdraw/", views.withdraw_answer, name="withdraw_answer"),
    path("for/<str:code>/", views.for_place, name="for_place"),
]
