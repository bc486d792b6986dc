"""Handling a case (C1): triage, answer, rating, closing, and operators' split and join.

Every step is one transaction, one history step on the case and one audit row. An operator's
subclass for a ticket is also kept as a correction, the classifier's training data.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gridguard.access.services.inputs import parse_text
from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.core.scoping import require_permission_at
from gridguard.tickets import taxonomy
from gridguard.tickets.models import (
    OPEN_STATUSES,
    Case,
    CaseKey,
    CaseStatus,
    ClassifiedBy,
    Correction,
    Department,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Urgency,
)
from gridguard.tickets.services import routing
from gridguard.tickets.services.intake import new_code

MAX_REPLY = 4000


def _label(actor: Any) -> str:
    return audit.describe_actor(actor)[1][:150]


def _step(case: Case, kind: str, actor: Any, ticket: Ticket | None = None, **detail: Any) -> None:
    TicketEvent.objects.create(
        case=case,
        ticket=ticket,
        kind=kind,
        at=clock.now(),
        actor=_label(actor),
        area_id=case.area_id,
        detail=detail,
    )


def _check_subclass(value: Any) -> str:
    code = str(value or "").strip().upper()
    if taxonomy.subclass(code) is None:
        raise InvalidInput.one("subclass", "unknown", _("Choose one of the 32 subclasses."))
    return code


def _locked(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("area", "department")
        .get(pk=case.pk)
    )


def triage(
    actor: Any,
    case: Case,
    *,
    subclass: Any,
    urgency: Any = None,
    department: Department | None = None,
) -> Case:
    """An operator's decision on a case: its subclass (kept as a correction for every ticket
    the classifier read otherwise), its urgency, and dispatch to the class's department (or
    the one chosen). Permission tickets.triage over the case's area."""
    require_permission_at(actor, "tickets.triage", case.area)
    code = _check_subclass(subclass)
    level = str(urgency or "").strip() or routing.urgency_of(code)
    if level not in Urgency.values:
        raise InvalidInput.one("urgency", "invalid", _("Choose urgent, high or normal."))
    if department is not None and not case.area.path.startswith(department.area.path):
        raise InvalidInput.one(
            "department", "out_of_area", _("This department does not serve the case's area.")
        )
    now = clock.now()
    with transaction.atomic():
        case = _locked(case)
        if case.status == CaseStatus.CLOSED:
            raise InvalidInput.one(None, "closed", _("This case is closed."))
        for t in case.tickets.exclude(subclass=code, classified_by=ClassifiedBy.OPERATOR):
            Correction.objects.create(
                ticket=t,
                area_id=t.area_id,
                text=t.text,
                predicted=t.subclass,
                confidence=t.confidence,
                corrected=code,
                corrected_by=_label(actor),
                corrected_at=now,
            )
        case.tickets.update(subclass=code, classified_by=ClassifiedBy.OPERATOR)
        before = case.subclass
        case.subclass, case.urgency = code, level
        _step(case, TicketEventKind.TRIAGED, actor, subclass=code, before=before, urgency=level)
        chosen = department or routing.Directory().nearest(
            taxonomy.subclass(code).department,  # type: ignore[union-attr]
            case.area.path,
        )
        if case.status in (CaseStatus.TRIAGE, CaseStatus.DISPATCHED) and chosen is not None:
            case.department = chosen
            case.status = CaseStatus.DISPATCHED
            case.dispatched_at = now
            case.due_at = routing.deadline(level, now)
            case.reminded_at = None
            TicketEvent.objects.bulk_create([routing.dispatched_event(case, _label(actor), now)])
        case.save()
        audit.record(actor, "case.triage", case, detail={"subclass": code, "before": before})
    return case


def _may_answer(actor: Any, case: Case) -> None:
    """Handlers of the case's department answer it; operators with triage rights may too."""
    if actor.can_at("tickets.triage", case.area.path):
        return
    department = case.department
    if (
        department is not None
        and actor.can("tickets.handle")
        and department.handlers.filter(pk=getattr(actor, "pk", 0) or 0).exists()
    ):
        return
    raise NotPermitted()


def answer(actor: Any, case: Case, *, reply: Any) -> Case:
    """The department's answer: the case is answered and every reporter on it is told."""
    text, errors = parse_text(
        reply, "reply", MAX_REPLY, required=True, message=_("Write the answer.")
    )
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        case = _locked(case)
        _may_answer(actor, case)
        if case.status not in (CaseStatus.DISPATCHED, CaseStatus.ANSWERED):
            raise InvalidInput.one(
                None, "not_dispatched", _("Only a dispatched case can be answered.")
            )
        case.reply, case.replied_at, case.replied_by = text, clock.now(), _label(actor)
        case.status = CaseStatus.ANSWERED
        case.save(update_fields=["reply", "replied_at", "replied_by", "status"])
        _step(case, TicketEventKind.ANSWERED, actor, reply=text[:200])
        # Everyone is told the new answer, also those told an earlier one.
        case.tickets.update(notified_at=None)
        routing.tell_reporters(case, list(case.tickets.all()), _label(actor))
        audit.record(actor, "case.answer", case)
    return case


def rate(ticket: Ticket, *, rating: Any, comment: Any = "", actor: Any = None) -> Ticket:
    """The reporter's rating of the answer (1-5) with an optional comment. The caller has
    proved the actor is the reporter (their account, or the follow-up link's signature)."""
    try:
        stars = int(str(rating).strip())
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise InvalidInput.one("rating", "invalid", _("Choose from 1 to 5 stars."))
    note, errors = parse_text(comment, "comment", 500, required=False)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().select_related("case").get(pk=ticket.pk)
        if ticket.case.status not in (CaseStatus.ANSWERED, CaseStatus.CLOSED):
            raise InvalidInput.one("rating", "not_answered", _("There is no answer to rate yet."))
        ticket.rating, ticket.rating_comment, ticket.rated_at = stars, note, clock.now()
        ticket.save(update_fields=["rating", "rating_comment", "rated_at"])
        _step(ticket.case, TicketEventKind.RATED, actor or "reporter", ticket, rating=stars)
        audit.record(actor, "ticket.rate", ticket, detail={"rating": stars})
    return ticket


def close(actor: Any, case: Case) -> Case:
    """Close an answered case (an operator's decision; it no longer takes repeats)."""
    require_permission_at(actor, "tickets.triage", case.area)
    with transaction.atomic():
        case = _locked(case)
        if case.status != CaseStatus.ANSWERED:
            raise InvalidInput.one(None, "not_answered", _("Only an answered case can be closed."))
        case.status, case.closed_at = CaseStatus.CLOSED, clock.now()
        case.save(update_fields=["status", "closed_at"])
        _step(case, TicketEventKind.CLOSED, actor)
        audit.record(actor, "case.close", case)
    return case


def split(actor: Any, ticket: Ticket) -> Case:
    """Take a wrongly merged ticket out of its case into a new case of its own, dispatched
    like a new ticket."""
    require_permission_at(actor, "tickets.triage", ticket.case.area)
    now = clock.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().select_related("case__area").get(pk=ticket.pk)
        old = ticket.case
        if old.ticket_count <= 1:
            raise InvalidInput.one(None, "alone", _("This ticket is the only one in its case."))
        case = Case(
            number=new_code("C"),
            subclass=ticket.subclass,
            urgency=routing.urgency_of(ticket.subclass),
            status=CaseStatus.TRIAGE,
            place_text=ticket.place_text,
            place_matched=ticket.place_matched,
            area=ticket.area,
            opened_at=ticket.received_at,
            last_reported_at=ticket.received_at,
            ticket_count=1,
        )
        routing.assign(case, 1.0, now, routing.Directory())
        case.save()
        Ticket.objects.filter(pk=ticket.pk).update(case=case, merge_score=None, notified_at=None)
        Case.objects.filter(pk=old.pk).update(ticket_count=F("ticket_count") - 1)
        for k in CaseKey.objects.filter(case=old).values_list("key", flat=True):
            CaseKey.objects.get_or_create(case=case, key=k, defaults={"last_at": now})
        _step(old, TicketEventKind.SPLIT, actor, ticket, into=case.number)
        _step(case, TicketEventKind.SPLIT, actor, ticket, out_of=old.number)
        if case.status == CaseStatus.DISPATCHED:
            TicketEvent.objects.bulk_create([routing.dispatched_event(case, _label(actor), now)])
        audit.record(actor, "ticket.split", ticket, detail={"from": old.number, "to": case.number})
    return case


def join(actor: Any, ticket: Ticket, case: Case) -> Case:
    """Put a ticket the merging missed into the case it repeats. A case left without tickets
    is closed, pointing to the one it went into. The reporter gets the case's answer if it
    has one."""
    require_permission_at(actor, "tickets.triage", ticket.case.area)
    require_permission_at(actor, "tickets.triage", case.area)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().select_related("case").get(pk=ticket.pk)
        case = _locked(case)
        old = ticket.case
        if old.pk == case.pk:
            raise InvalidInput.one("case", "same", _("The ticket is already in this case."))
        if case.status not in OPEN_STATUSES:
            raise InvalidInput.one("case", "closed", _("A closed case takes no more tickets."))
        Ticket.objects.filter(pk=ticket.pk).update(case=case, merge_score=1.0)
        case.ticket_count += 1
        case.last_reported_at = max(case.last_reported_at, ticket.received_at)
        case.save(update_fields=["ticket_count", "last_reported_at"])
        old_left = old.ticket_count - 1
        if old_left <= 0:
            Case.objects.filter(pk=old.pk).update(
                ticket_count=0, status=CaseStatus.CLOSED, closed_at=clock.now()
            )
        else:
            Case.objects.filter(pk=old.pk).update(ticket_count=old_left)
        _step(old, TicketEventKind.JOINED, actor, ticket, into=case.number)
        _step(case, TicketEventKind.JOINED, actor, ticket, out_of=old.number)
        audit.record(actor, "ticket.join", ticket, detail={"from": old.number, "to": case.number})
        if case.status == CaseStatus.ANSWERED:
            ticket.refresh_from_db()
            routing.tell_reporters(case, [ticket], _label(actor))
    return case
