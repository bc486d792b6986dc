"""Pages: the resident's ticket form and follow-up, the operators' cases, triage and the
departments' queue (mounted at /tickets/)."""

from django.urls import URLPattern, URLResolver, path

from gridguard.tickets.views import cases, pages

app_name = "tickets"
urlpatterns: list[URLPattern | URLResolver] = [
    path("new/", pages.new, name="new"),
    path("t/<str:number>/<str:signature>/", pages.follow, name="follow"),
    path("mine/", pages.mine, name="mine"),
    path("", cases.index, name="index"),
    path("triage/", cases.triage_queue, name="triage"),
    path("queue/", cases.department_queue, name="queue"),
    path("cases/<str:number>/", cases.detail, name="case"),
    path("cases/<str:number>/triage/", cases.triage, name="case_triage"),
    path("cases/<str:number>/answer/", cases.answer, name="case_answer"),
    path("cases/<str:number>/close/", cases.close, name="case_close"),
    path("cases/<str:number>/split/", cases.split, name="case_split"),
    path("cases/<str:number>/join/", cases.join, name="case_join"),
]
