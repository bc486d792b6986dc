"""Reads of cases and tickets (C1): scoped to the actor's territory, reporters' phones
masked unless the role needs them, and every read of a case's reporters audited."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from gridguard.core import audit
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.masking import phone_for
from gridguard.core.scoping import covers
from gridguard.territory.models import Area
from gridguard.tickets.models import Case, CaseStatus, Department, Ticket, TicketEvent

VIEW = "tickets.view"


def _need(actor: Any, permission: str = VIEW) -> None:
    if not actor.can(permission):
        raise NotPermitted()


def cases_visible_to(actor: Any) -> QuerySet[Case]:
    """Cases in the actor's territory, newest report first. Department handlers who hold no
    wider ticket role see the cases of their departments."""
    _need(actor)
    qs = Case.objects.visible_to(actor).select_related("area", "department")
    if not (actor.can("tickets.triage") or actor.can("tickets.report")) and actor.can(
        "tickets.handle"
    ):
        mine = Q(department__handlers=actor)
        if actor.can("tickets.view"):
            # A committee worker also sees what happens in their own area.
            qs = qs.filter(mine | Q(department__isnull=True) | Q(department__kind="committee"))
        else:
            qs = qs.filter(mine)
    return qs.order_by("-last_reported_at", "-pk")


def tickets_visible_to(actor: Any) -> QuerySet[Ticket]:
    """Tickets of the cases the actor may see (a ticket is read with its case)."""
    case_ids = cases_visible_to(actor).order_by().values("pk")
    return Ticket.objects.filter(case_id__in=case_ids).select_related(
        "case", "case__department", "area"
    )


def triage_queue(actor: Any) -> QuerySet[Case]:
    """Cases waiting for an operator: unsure classification, no department, or a place that
    was not found, oldest first."""
    _need(actor, "tickets.triage")
    return (
        Case.objects.visible_to(actor)
        .filter(Q(status=CaseStatus.TRIAGE) | Q(place_matched=False, status=CaseStatus.DISPATCHED))
        .select_related("area", "department")
        .order_by("opened_at", "pk")
    )


def department_queue(actor: Any) -> QuerySet[Case]:
    """Dispatched cases of the departments the actor handles, nearest deadline first."""
    _need(actor, "tickets.handle")
    return (
        Case.objects.visible_to(actor)
        .filter(department__handlers=actor, status=CaseStatus.DISPATCHED)
        .select_related("area", "department")
        .order_by("due_at", "pk")
    )


def case_for(actor: Any, number: str) -> Case:
    """One case by number; OutOfScope when it lies outside the actor's territory."""
    _need(actor)
    case = Case.objects.select_related("area", "department").filter(number=number).first()
    if case is None:
        raise Case.DoesNotExist(number)
    if not covers(actor, case.area.path):
        raise OutOfScope()
    return case


def tickets_of(actor: Any, case: Case) -> list[dict[str, Any]]:
    """The reports on a case with their reporters (phones masked unless the role reveals
    them); the read is audited, as it shows personal data."""
    _need(actor)
    if not covers(actor, case.area.path):
        raise OutOfScope()
    rows = []
    shown: set[str] = set()
    for t in Ticket.objects.filter(case=case).order_by("received_at", "pk"):
        if t.reporter_phone:
            shown.add("reporter_phone")
        if t.reporter_name:
            shown.add("reporter_name")
        rows.append(
            {
                "ticket": t,
                "phone": phone_for(actor, t.reporter_phone) if t.reporter_phone else "",
            }
        )
    audit.record_read(actor, case, fields=shown)
    return rows


def history_of(actor: Any, case: Case) -> QuerySet[TicketEvent]:
    """A case's history, in order."""
    _need(actor)
    if not covers(actor, case.area.path):
        raise OutOfScope()
    return TicketEvent.objects.filter(case=case).select_related("ticket").order_by("at", "pk")


def ticket_by_reference(number: str) -> Ticket | None:
    """A ticket by its number, for its reporter's follow-up page (the caller checks the
    reporter's proof: their account or the signed link)."""
    return Ticket.objects.select_related("case").filter(number=number).first()


def departments_serving(case: Case) -> QuerySet[Department]:
    """The departments an operator may dispatch `case` to: those of its area and every level
    above it, nearest first."""
    return (
        Department.objects.filter(area__path__in=Area.paths_above(case.area.path))
        .select_related("area")
        .order_by("-area__depth", "kind", "name")
    )
