"""The demo city's citizen tickets: departments with handlers, four weeks of tickets from every
channel taken in through the intake, repeats merged across channels, cases handled."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count
from django.test import Client

from gridguard.accounts.models import User
from gridguard.accounts.roles import Role
from gridguard.core import audit, clock
from gridguard.territory.models import Area
from gridguard.tickets import taxonomy
from gridguard.tickets.models import (
    Case,
    CaseStatus,
    Channel,
    Department,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketReport,
)
from tests.demo.test_demo import _demo

pytestmark = pytest.mark.django_db


def test_tickets_from_every_channel_merged_and_handled() -> None:
    printed = _demo("--seed", "7", "--people", "20")
    now = clock.now()

    # Departments of every kind the taxonomy names, each with a handler.
    district = Area.objects.get(kind="district")
    at_district = set(Department.objects.filter(area=district).values_list("kind", flat=True))
    assert at_district == set(taxonomy.departments()) - {"committee"}
    committees = Area.objects.filter(kind__in=["committee", "village"])
    assert Department.objects.filter(kind="committee").count() == committees.count()
    streets = Area.objects.filter(kind__in=["street", "township"])
    assert Department.objects.filter(kind="street_ops", area__in=streets).count() == (
        streets.count()
    )
    assert not Department.objects.filter(handlers__isnull=True).exists()

    # The new logins are printed and hold their roles.
    operator = User.objects.get(username="hotline_12345")
    handler = User.objects.get(username="ops_handler")
    assert operator.role_bindings.get().role == Role.HOTLINE_OPERATOR
    assert handler.role_bindings.get().role == Role.DEPARTMENT_HANDLER
    assert Department.objects.filter(kind="street_ops", handlers=handler).exists()
    for username in ("hotline_12345", "ops_handler"):
        assert username in printed

    # Tickets from all five channels over the last four weeks, each reference once a channel.
    tickets = Ticket.objects.all()
    assert set(tickets.values_list("channel", flat=True)) == set(Channel.values)
    refs = list(tickets.values_list("channel", "channel_ref"))
    assert len(refs) == len(set(refs)) >= 100
    assert tickets.filter(received_at__lt=now - dt.timedelta(days=20)).exists()
    assert not tickets.filter(received_at__gt=now).exists()
    assert not tickets.filter(received_at__lt=now - dt.timedelta(days=29)).exists()
    # All through the intake: every ticket has its "received" step.
    received = TicketEvent.objects.filter(kind=TicketEventKind.RECEIVED)
    assert received.values("ticket").distinct().count() == tickets.count()

    # Repeats of one clue through other channels were merged into one case.
    merged = Case.objects.annotate(n=Count("tickets__channel", distinct=True)).filter(n__gte=2)
    assert merged.exists()
    case = merged.first()
    assert case is not None and case.ticket_count == case.tickets.count() >= 2
    assert case.tickets.filter(merge_score__isnull=False).exists()

    # Cases moved along: answered (with the reply sent), rated, closed, and some overdue.
    handled = Case.objects.filter(status__in=[CaseStatus.ANSWERED, CaseStatus.CLOSED])
    assert handled.exists() and not handled.filter(reply="").exists()
    assert Case.objects.filter(status=CaseStatus.CLOSED).exists()
    assert tickets.filter(rating__isnull=False).exists()
    assert Case.objects.filter(status=CaseStatus.DISPATCHED, due_at__lt=now).exists()
    assert TicketReport.objects.filter(date=clock.today() - dt.timedelta(days=1)).exists()
    # The resident's own web report is on their "my tickets" page.
    assert tickets.filter(reporter__username="resident", channel=Channel.WEB).exists()
    assert audit.verify().ok

    # The pages show it: the operator's cases and report, the handler's queue.
    client = Client()
    client.force_login(operator)
    assert case.number in client.get("/tickets/", {"q": case.number}).content.decode()
    assert client.get("/tickets/report/").status_code == 200
    page = client.get(f"/tickets/cases/{case.number}/").content.decode()
    assert all(t.number in page for t in case.tickets.all())
    client.force_login(handler)
    queue = Case.objects.filter(department__handlers=handler, status=CaseStatus.DISPATCHED)
    answer = client.get("/tickets/queue/")
    assert answer.status_code == 200
    assert all(c.number in answer.content.decode() for c in queue)
