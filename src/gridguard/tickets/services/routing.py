"""Dispatch (C1): which department answers a case, by when, and what happens when it does not.

A case goes to the class's default department (taxonomy) at the nearest level at or above
the case's area: a compound's gate complaint to its residents' committee, a price complaint to
the district's market regulator. Deadlines follow urgency (settings.TICKET_DEADLINE_HOURS); a
reminder goes out when most of the time is used (TICKET_REMIND_AT), and a case still
unanswered at its deadline moves to the same department one level up, with a new deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock, notify
from gridguard.core.jobs import every
from gridguard.territory.models import Area
from gridguard.tickets import taxonomy
from gridguard.tickets.models import (
    Case,
    CaseStatus,
    Department,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Urgency,
)

# Reports that put people at risk now get hours, not days.
URGENT = {"S07", "S09", "S22"}
HIGH = {"S01", "S02", "S04", "S05", "S10", "S11", "S12", "S18", "S19", "S23", "S24", "S29", "S30"}
# Where a class's own department is missing, the street's city-operations centre takes it.
FALLBACK = "street_ops"


def urgency_of(subclass: str) -> str:
    """The default urgency of a subclass."""
    if subclass in URGENT:
        return Urgency.URGENT
    if subclass in HIGH:
        return Urgency.HIGH
    return Urgency.NORMAL


def deadline(urgency: str, start: dt.datetime) -> dt.datetime:
    """When a case of this urgency dispatched at `start` must be answered."""
    hours = settings.TICKET_DEADLINE_HOURS.get(urgency, settings.TICKET_DEADLINE_HOURS["normal"])
    return start + dt.timedelta(hours=hours)


class Directory:
    """The active departments by (kind, area path), read for the areas a batch needs: those
    of `paths` and every level above them, in one query; other areas as they are asked for.
    (A city has thousands of departments; a batch needs a few dozen.)"""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self.by_place: dict[tuple[str, str], Department] = {}
        self._read: set[str] = set()
        self.read(paths)

    def read(self, paths: Iterable[str]) -> None:
        """Read the departments of `paths` and the areas above them (once each)."""
        wanted = sorted({a for p in paths for a in Area.paths_above(p)} - self._read)
        for i in range(0, len(wanted), 500):
            for d in Department.objects.filter(
                active=True, area__path__in=wanted[i : i + 500]
            ).select_related("area"):
                self.by_place[(d.kind, d.area.path)] = d
        self._read.update(wanted)

    def nearest(self, kind: str, path: str, *, above: bool = False) -> Department | None:
        """The department of `kind` at `path` or the nearest level above it (strictly above
        when `above`), falling back to the city-operations centre."""
        self.read([path])
        chain = Area.paths_above(path)[1:] if above else Area.paths_above(path)
        for wanted in (kind, FALLBACK):
            for p in chain:
                found = self.by_place.get((wanted, p))
                if found is not None:
                    return found
        return None


def assign(case: Case, confidence: float, now: dt.datetime, directory: Directory) -> bool:
    """Route a new case when the classifier is sure enough and a department is found; else it
    waits in triage. Returns whether it was dispatched. Does not save."""
    if confidence < settings.TICKET_TRIAGE_BELOW:
        return False
    sub = taxonomy.subclass(case.subclass)
    department = directory.nearest(sub.department if sub else FALLBACK, case.area.path)
    if department is None:
        return False
    case.department = department
    case.status = CaseStatus.DISPATCHED
    case.dispatched_at = now
    case.due_at = deadline(case.urgency, now)
    return True


def dispatched_event(case: Case, actor_label: str, now: dt.datetime) -> TicketEvent:
    """The history step of a dispatch."""
    assert case.department is not None
    return TicketEvent(
        case=case,
        kind=TicketEventKind.DISPATCHED,
        at=now,
        actor=actor_label,
        area=case.area,
        detail={
            "department": case.department.name,
            "due_at": case.due_at.isoformat() if case.due_at else None,
        },
    )


def reporter_address(ticket: Ticket) -> str:
    """Where a reporter is told: their phone, else their account; "" when neither is known."""
    if ticket.reporter_phone:
        return ticket.reporter_phone
    if ticket.reporter_id:
        return f"user:{ticket.reporter_id}"
    return ""


def tell_reporters(case: Case, tickets: Iterable[Ticket], actor_label: str) -> int:
    """Send the case's reply to each reporter not told yet; one history step each."""
    now = clock.now()
    told: list[int] = []
    events: list[TicketEvent] = []
    for t in tickets:
        if t.notified_at is not None:
            continue
        to = reporter_address(t)
        if to:
            notify.send(
                to,
                _("Your report %(n)s has been answered: %(r)s") % {"n": t.number, "r": case.reply},
                about=t.number,
            )
        told.append(t.pk)
        events.append(
            TicketEvent(
                case=case,
                ticket=t,
                kind=TicketEventKind.NOTIFIED,
                at=now,
                actor=actor_label,
                area=case.area,
                detail={"to": "phone" if t.reporter_phone else ("account" if to else "none")},
            )
        )
    if told:
        Ticket.objects.filter(pk__in=told).update(notified_at=now)
        TicketEvent.objects.bulk_create(events)
    return len(told)


def answer_late_joiners(actor: Any, tickets: list[Ticket]) -> None:
    """A report joining a case already answered gets that answer at once."""
    label = audit.describe_actor(actor)[1][:150]
    by_case: dict[int, list[Ticket]] = {}
    for t in tickets:
        if t.case.status == CaseStatus.ANSWERED:
            by_case.setdefault(t.case.pk, []).append(t)
    for group in by_case.values():
        tell_reporters(group[0].case, group, label)


def _handlers_told(department: Department | None, text: str, about: str) -> None:
    if department is None:
        return
    for user_id in department.handlers.values_list("pk", flat=True):
        notify.send(f"user:{user_id}", text, about=about)
    if department.phone:
        notify.send(department.phone, text, about=about)


@every(60, "tickets.deadlines")
def remind_and_escalate() -> int:
    """Remind departments of cases near their deadline, escalate those past it. Returns how
    many cases were touched."""
    now = clock.now()
    touched = 0
    due = Case.objects.filter(status=CaseStatus.DISPATCHED, due_at__isnull=False)
    directory: Directory | None = None
    for case in due.filter(due_at__lte=now).select_related("area", "department__area"):
        directory = directory or Directory()
        touched += _escalate(case, now, directory)
    for case in due.filter(reminded_at__isnull=True, due_at__gt=now).select_related("department"):
        start = case.dispatched_at or case.opened_at
        assert case.due_at is not None
        remind_from = start + (case.due_at - start) * settings.TICKET_REMIND_AT
        if now >= remind_from:
            with transaction.atomic():
                Case.objects.filter(pk=case.pk).update(reminded_at=now)
                TicketEvent.objects.create(
                    case=case,
                    kind=TicketEventKind.REMINDED,
                    at=now,
                    actor="system",
                    area_id=case.area_id,
                    detail={"due_at": case.due_at.isoformat()},
                )
            _handlers_told(
                case.department,
                _("Case %(n)s is due at %(t)s.")
                % {"n": case.number, "t": clock.local(case.due_at).strftime("%m-%d %H:%M")},
                case.number,
            )
            touched += 1
    return touched


def _escalate(case: Case, now: dt.datetime, directory: Directory) -> int:
    """Move a case past its deadline to the level above (or keep it where it is when there is
    no level above), with a new deadline; history and audit record it."""
    current = case.department
    start_path = current.area.path if current is not None else case.area.path
    kind = current.kind if current is not None else FALLBACK
    upper = directory.nearest(kind, start_path, above=True)
    with transaction.atomic():
        case.escalation_level += 1
        case.department = upper or current
        case.due_at = deadline(case.urgency, now)
        case.reminded_at = None
        case.save(update_fields=["escalation_level", "department", "due_at", "reminded_at"])
        TicketEvent.objects.create(
            case=case,
            kind=TicketEventKind.ESCALATED,
            at=now,
            actor="system",
            area=case.area,
            detail={
                "level": case.escalation_level,
                "from": current.name if current else "",
                "to": case.department.name if case.department else "",
            },
        )
        audit.record(None, "case.escalate", case, detail={"level": case.escalation_level})
    _handlers_told(
        case.department,
        _("Case %(n)s passed its deadline and was escalated to you.") % {"n": case.number},
        case.number,
    )
    return 1
