"""Pages: the person registry."""

from django.urls import URLPattern, path

from gridguard.people import views

app_name = "people"
urlpatterns: list[URLPattern] = [
    path("", views.person_list, name="list"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/edit/", views.person_edit, name="edit"),
    path("<int:pk>/household/", views.settle, name="settle"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/<int:pk>/decide/", views.decide, name="decide"),
    path("merges/", views.merge_history, name="merges"),
    path("merges/<int:pk>/undo/", views.undo_merge, name="undo"),
]
