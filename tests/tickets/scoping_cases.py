"""Scoping cases for tickets: departments, cases, tickets, history, corrections, notices."""

from __future__ import annotations

import datetime as dt

from django.db import models

from gridguard.core import clock
from gridguard.tickets.models import (
    Answer,
    Case,
    Correction,
    Department,
    Notice,
    Ticket,
    TicketEvent,
    TicketReport,
)
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader


def _department(city: City, side: str) -> Department:
    return Department.objects.get_or_create(
        area=city[f"street_{side}"], kind="street_ops", defaults={"name": f"城运中心{side}"}
    )[0]


def _case(city: City, side: str) -> Case:
    now = clock.now()
    return Case.objects.create(
        number=f"CSCOPE{side.upper()}{Case.objects.count():04d}",
        subclass="S01",
        area=city[f"compound_{side}1"],
        opened_at=now,
        last_reported_at=now,
        ticket_count=1,
    )


def _ticket(city: City, side: str) -> Ticket:
    case = _case(city, side)
    return Ticket.objects.create(
        number=f"TSCOPE{side.upper()}{Ticket.objects.count():04d}",
        channel="12345",
        channel_ref=f"S-{side}-{Ticket.objects.count()}",
        received_at=clock.now(),
        text="小区门口没人查出入证",
        area=case.area,
        subclass="S01",
        confidence=0.9,
        case=case,
        reporter_phone="13800138000",
    )


def _event(city: City, side: str) -> TicketEvent:
    case = _case(city, side)
    return TicketEvent.objects.create(case=case, kind="received", area=case.area)


def _correction(city: City, side: str) -> Correction:
    t = _ticket(city, side)
    return Correction.objects.create(
        ticket=t,
        area=t.area,
        text=t.text,
        predicted="S04",
        confidence=0.3,
        corrected="S01",
        corrected_by="op",
    )


def _notice(city: City, side: str) -> Notice:
    return Notice.objects.create(area=city[f"street_{side}"], title="通知", body="请戴口罩")


def _answer(city: City, side: str) -> Answer:
    return Answer.objects.create(
        area=city[f"street_{side}"], question="在哪买口罩", answer="预约", subclasses=["S20"]
    )


def _report(city: City, side: str) -> TicketReport:
    return TicketReport.objects.create(
        area=city[f"street_{side}"], date=dt.date(2020, 2, 14), data={}
    )


ROW_MAKERS: dict[type[models.Model], object] = {
    Department: _department,
    Case: _case,
    Ticket: _ticket,
    TicketEvent: _event,
    Correction: _correction,
    Notice: _notice,
    Answer: _answer,
    TicketReport: _report,
}

READERS: dict[type[models.Model], list[Reader]] = {
    Department: [ADMIN],
    Case: [ADMIN],
    Ticket: [ADMIN],
    TicketEvent: [ADMIN],
    Correction: [ADMIN],
    Notice: [ADMIN],
    Answer: [ADMIN],
    TicketReport: [ADMIN],
}
