"""Extra reads for the ticket pages: list filters, one case as the list would show it, a
ticket of a case, a resident's own tickets, and whether an actor answers for a case. Built on
selectors.cases, so every read stays scoped the same way."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import covers
from gridguard.tickets.models import Case, CaseStatus, Channel, Ticket
from gridguard.tickets.selectors import cases

MAX_QUERY = 40


def filter_cases(
    qs: QuerySet[Case],
    *,
    status: str = "",
    subclass: str = "",
    channel: str = "",
    q: str = "",
) -> QuerySet[Case]:
    """Narrow an already scoped list of cases: by status, subclass, the channel of any of its
    tickets, and a case or ticket number (or part of one). Unknown values are ignored."""
    if status in CaseStatus.values:
        qs = qs.filter(status=status)
    if subclass:
        qs = qs.filter(subclass=subclass)
    if channel in Channel.values:
        qs = qs.filter(pk__in=Ticket.objects.filter(channel=channel).values("case_id"))
    q = q.strip().upper()[:MAX_QUERY]
    if q:
        qs = qs.filter(
            Q(number__contains=q)
            | Q(pk__in=Ticket.objects.filter(number__contains=q).values("case_id"))
        )
    return qs


def visible_case(actor: Any, number: str) -> Case:
    """One case by number as the actor's case list would show it: Case.DoesNotExist when
    there is none, OutOfScope when it lies outside the actor's territory or (for a department
    handler) belongs to another department."""
    case = cases.case_for(actor, number)
    if not cases.cases_visible_to(actor).filter(pk=case.pk).exists():
        raise OutOfScope()
    return case


def ticket_in_case(actor: Any, case: Case, number: str) -> Ticket | None:
    """A ticket of this case by its number (None when the case has no such ticket)."""
    if not covers(actor, case.area.path):
        raise OutOfScope()
    number = number.strip().upper()[:MAX_QUERY]
    if not number:
        return None
    return Ticket.objects.select_related("case__area").filter(case=case, number=number).first()


def tickets_reported_by(user: Any) -> QuerySet[Ticket]:
    """The tickets a logged-in resident filed themselves, newest first."""
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return Ticket.objects.none()
    return (
        Ticket.objects.filter(reporter_id=user.pk)
        .select_related("case")
        .order_by("-received_at", "-pk")
    )


def answers_for(actor: Any, case: Case) -> bool:
    """Whether the actor may answer the case: an operator with triage rights over its area,
    or a handler of the department it is dispatched to (as services.handling decides)."""
    if actor.can_at("tickets.triage", case.area.path):
        return True
    department = case.department
    pk = getattr(actor, "pk", None)
    if department is None or pk is None or not actor.can("tickets.handle"):
        return False
    return department.handlers.filter(pk=pk).exists()
