"""Pages: the operators' side of tickets (C1). The case list with filters, the triage queue
with a quick form per case, one case with its reports, history and actions (triage, answer,
close, split a ticket out, join a ticket into another case), and a department's queue.

Every read goes through selectors.cases (scoped to the user's territory; a department
handler sees their departments' cases). A case outside it is a 404, an action the role does
not allow a 403. Reading a case's reports is audited by the selector, as they show reporters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.tickets import taxonomy
from gridguard.tickets.models import (
    Case,
    CaseStatus,
    Channel,
    Department,
    TicketEvent,
    TicketEventKind,
    Urgency,
)
from gridguard.tickets.selectors import cases as selectors
from gridguard.tickets.selectors import pages as page_selectors
from gridguard.tickets.selectors.notices import answers_for_subclass
from gridguard.tickets.services import handling

PAGE_SIZE = 50
VIEW, TRIAGE, HANDLE = "tickets.view", "tickets.triage", "tickets.handle"


def _need(request: HttpRequest, *permissions: str) -> Any:
    user: Any = request.user
    if not any(user.can(p) for p in permissions):
        raise PermissionDenied
    return user


def _case_or_404(user: Any, number: str) -> Case:
    try:
        return page_selectors.visible_case(user, number)
    except (OutOfScope, Case.DoesNotExist) as exc:
        raise Http404(_("No case with this number in your area.")) from exc


def _subclass_label(code: str) -> str:
    sub = taxonomy.subclass(code)
    return f"{code} {sub.label()}" if sub else code


def _row(case: Case, now: Any) -> dict[str, Any]:
    return {
        "c": case,
        "subclass": _subclass_label(case.subclass),
        "last": clock.local(case.last_reported_at),
        "opened": clock.local(case.opened_at),
        "due": clock.local(case.due_at) if case.due_at else None,
        "overdue": bool(case.due_at and case.due_at < now and case.status == CaseStatus.DISPATCHED),
    }


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Cases in the user's territory, newest report first; filters: status, subclass,
    channel, case or ticket number."""
    user = _need(request, VIEW)
    filters = {
        name: (request.GET.get(name) or "").strip()
        for name in ("status", "subclass", "channel", "q")
    }
    qs = page_selectors.filter_cases(selectors.cases_visible_to(user), **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    kept = {k: v for k, v in filters.items() if v}
    context = {
        "title": _("Tickets"),
        "page": page,
        "rows": [_row(c, now) for c in page],
        "filters": filters,
        "extra": urlencode(kept) + "&" if kept else "",
        "statuses": CaseStatus.choices,
        "subclasses": taxonomy.subclass_choices(),
        "channels": Channel.choices,
        "can_triage": user.can(TRIAGE),
        "can_handle": user.can(HANDLE),
    }
    return render(request, "tickets/index.html", context)


def _triage_context(user: Any, case: Case, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        **_row(case, clock.now()),
        "subclasses": taxonomy.subclass_choices(),
        "urgencies": Urgency.choices,
        "values": {"subclass": case.subclass, "urgency": ""},
        "errors": {},
    }
    context.update(extra)
    context["general"] = context["errors"].get("__all__", [])
    return context


@login_required
def triage_queue(request: HttpRequest) -> HttpResponse:
    """Cases waiting for an operator, oldest first, each with a quick triage form."""
    user = _need(request, TRIAGE)
    page = Paginator(selectors.triage_queue(user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "title": _("Triage queue"),
        "page": page,
        "rows": [_triage_context(user, c) for c in page],
    }
    return render(request, "tickets/triage.html", context)


@login_required
def department_queue(request: HttpRequest) -> HttpResponse:
    """Dispatched cases of the departments the user answers for, nearest deadline first;
    those past their deadline are marked."""
    user = _need(request, HANDLE)
    page = Paginator(selectors.department_queue(user), PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    rows = [_row(c, now) for c in page]
    context = {
        "title": _("Department queue"),
        "page": page,
        "rows": rows,
        "overdue": sum(1 for r in rows if r["overdue"]),
    }
    return render(request, "tickets/queue.html", context)


def _event_line(e: TicketEvent) -> str:
    """One history step's details in words."""
    d = e.detail or {}
    kind = e.kind
    if kind == TicketEventKind.RECEIVED:
        return _("through %(channel)s, read as %(subclass)s") % {
            "channel": Channel(d["channel"]).label if d.get("channel") in Channel.values else "",
            "subclass": _subclass_label(str(d.get("subclass", ""))),
        }
    if kind == TicketEventKind.MERGED:
        return _("likeness %(score)s") % {"score": d.get("score", "")}
    if kind == TicketEventKind.TRIAGED:
        return _("%(before)s → %(after)s, urgency %(urgency)s") % {
            "before": _subclass_label(str(d.get("before", ""))),
            "after": _subclass_label(str(d.get("subclass", ""))),
            "urgency": Urgency(d["urgency"]).label if d.get("urgency") in Urgency.values else "",
        }
    if kind == TicketEventKind.DISPATCHED:
        return str(d.get("department", ""))
    if kind == TicketEventKind.ESCALATED:
        return _("%(from)s → %(to)s") % {"from": d.get("from", ""), "to": d.get("to", "")}
    if kind == TicketEventKind.ANSWERED:
        return str(d.get("reply", ""))
    if kind == TicketEventKind.RATED:
        return "★" * int(d.get("rating") or 0)
    if kind in (TicketEventKind.SPLIT, TicketEventKind.JOINED):
        if d.get("into"):
            return _("into case %(n)s") % {"n": d["into"]}
        if d.get("out_of"):
            return _("from case %(n)s") % {"n": d["out_of"]}
    return ""


def _detail_context(user: Any, case: Case, **extra: Any) -> dict[str, Any]:
    can_triage = user.can_at(TRIAGE, case.area.path)
    open_case = case.status != CaseStatus.CLOSED
    reports = [
        {
            **r,
            "received": clock.local(r["ticket"].received_at),
            "subclass": _subclass_label(r["ticket"].subclass),
        }
        for r in selectors.tickets_of(user, case)
    ]
    history = [
        {"e": e, "at": clock.local(e.at), "line": _event_line(e)}
        for e in selectors.history_of(user, case)
    ]
    context: dict[str, Any] = {
        "title": _("Case %(n)s") % {"n": case.number},
        **_row(case, clock.now()),
        "case": case,
        "reports": reports,
        "history": history,
        "replied": clock.local(case.replied_at) if case.replied_at else None,
        "can_triage": can_triage and open_case,
        "can_answer": page_selectors.answers_for(user, case)
        and case.status in (CaseStatus.DISPATCHED, CaseStatus.ANSWERED),
        "can_close": can_triage and case.status == CaseStatus.ANSWERED,
        "can_split": can_triage and case.ticket_count > 1,
        "can_join": can_triage,
        "subclasses": taxonomy.subclass_choices(),
        "urgencies": Urgency.choices,
        "departments": list(selectors.departments_serving(case)) if can_triage else [],
        # Answers to common questions of the case's subclass, offered for the reply.
        "answers": answers_for_subclass(case.area, case.subclass),
        "values": {
            "subclass": case.subclass,
            "urgency": case.urgency,
            "department": "",
            "reply": case.reply,
        },
        "errors": {},
        "action": "",
        "error_ticket": "",
        "general_errors": [],
    }
    context.update(extra)
    return context


@login_required
def detail(request: HttpRequest, number: str) -> HttpResponse:
    """One case: what it is, its reports (phones masked), its history and the actions the
    user's role allows."""
    user = _need(request, VIEW)
    case = _case_or_404(user, number)
    return render(request, "tickets/case.html", _detail_context(user, case))


def _refused(
    request: HttpRequest, user: Any, case: Case, action: str, exc: InvalidInput, **extra: Any
) -> HttpResponse:
    """The case page again with the action's errors beside its fields (nothing was written)."""
    errors = exc.by_field()
    context = _detail_context(user, case, action=action, errors=errors, **extra)
    context["general_errors"] = errors.get("__all__", []) + errors.get("ticket", [])
    if "values" in extra:
        context["values"] = {**_detail_context(user, case)["values"], **extra["values"]}
    return render(request, "tickets/case.html", context, status=400)


@login_required
@require_POST
def triage(request: HttpRequest, number: str) -> HttpResponse:
    """Re-classify a case and dispatch it to its class's department. From the triage queue
    (htmx) it answers with the queue's row; from the case page it goes back to the case."""
    user = _need(request, TRIAGE)
    case = _case_or_404(user, number)
    values = {
        "subclass": request.POST.get("subclass", ""),
        "urgency": request.POST.get("urgency", ""),
        "department": request.POST.get("department", "").strip(),
    }
    from_queue = request.POST.get("next") == "triage"
    try:
        case = handling.triage(
            user,
            case,
            subclass=values["subclass"],
            urgency=values["urgency"],
            department=_department(case, values["department"]),
        )
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        if from_queue and request.headers.get("HX-Request"):
            ctx = _triage_context(user, case, values=values, errors=exc.by_field())
            return render(request, "tickets/_triage_row.html", {"r": ctx})
        if from_queue:
            messages.error(request, f"{case.number}: {exc}")
            return redirect("tickets:triage")
        return _refused(request, user, case, "triage", exc, values=values)
    if case.status == CaseStatus.DISPATCHED and case.department is not None:
        text = _("Case %(n)s is %(s)s and dispatched to %(d)s.") % {
            "n": case.number,
            "s": _subclass_label(case.subclass),
            "d": case.department.name,
        }
    else:
        text = _("Case %(n)s is %(s)s.") % {
            "n": case.number,
            "s": _subclass_label(case.subclass),
        }
    if from_queue and request.headers.get("HX-Request"):
        ctx = _triage_context(user, case, done=text)
        return render(request, "tickets/_triage_row.html", {"r": ctx})
    messages.success(request, text)
    if from_queue:
        return redirect("tickets:triage")
    return redirect("tickets:case", number=case.number)


def _department(case: Case, value: str) -> Department | None:
    """The department an operator chose for `case` (a pk among those serving it), or None
    for the subclass's own."""
    if not value:
        return None
    serving = selectors.departments_serving(case)
    ok = value.isascii() and value.isdigit() and len(value) < 16
    chosen = serving.filter(pk=int(value)).first() if ok else None
    if chosen is None:
        raise InvalidInput.one(
            "department", "invalid", _("Choose a department that serves the case's area.")
        )
    return chosen


@login_required
@require_POST
def answer(request: HttpRequest, number: str) -> HttpResponse:
    """The department's (or an operator's) answer; every reporter on the case is told."""
    user = _need(request, TRIAGE, HANDLE)
    case = _case_or_404(user, number)
    reply = request.POST.get("reply", "")
    try:
        case = handling.answer(user, case, reply=reply)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        return _refused(request, user, case, "answer", exc, values={"reply": reply})
    messages.success(
        request, _("Case %(n)s is answered; its reporters are told.") % {"n": case.number}
    )
    if request.POST.get("next") == "queue":
        return redirect("tickets:queue")
    return redirect("tickets:case", number=case.number)


@login_required
@require_POST
def close(request: HttpRequest, number: str) -> HttpResponse:
    """Close an answered case."""
    user = _need(request, TRIAGE)
    case = _case_or_404(user, number)
    try:
        handling.close(user, case)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        return _refused(request, user, case, "close", exc)
    messages.success(request, _("Case %(n)s is closed.") % {"n": case.number})
    return redirect("tickets:case", number=case.number)


def _ticket_of(user: Any, case: Case, number: str) -> Any:
    ticket = page_selectors.ticket_in_case(user, case, number)
    if ticket is None:
        raise InvalidInput.one(
            "ticket", "not_found", _("This case has no ticket with this number.")
        )
    return ticket


@login_required
@require_POST
def split(request: HttpRequest, number: str) -> HttpResponse:
    """Take a wrongly merged ticket out of this case into a case of its own."""
    user = _need(request, TRIAGE)
    case = _case_or_404(user, number)
    ticket_number = request.POST.get("ticket", "")
    try:
        ticket = _ticket_of(user, case, ticket_number)
        new_case = handling.split(user, ticket)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        return _refused(request, user, case, "split", exc, error_ticket=ticket_number)
    messages.success(
        request,
        _("Ticket %(t)s is now case %(n)s.") % {"t": ticket.number, "n": new_case.number},
    )
    return redirect("tickets:case", number=case.number)


@login_required
@require_POST
def join(request: HttpRequest, number: str) -> HttpResponse:
    """Put one of this case's tickets into another case (by its number) that it repeats."""
    user = _need(request, TRIAGE)
    case = _case_or_404(user, number)
    ticket_number = request.POST.get("ticket", "")
    target_number = (request.POST.get("case") or "").strip().upper()
    try:
        ticket = _ticket_of(user, case, ticket_number)
        try:
            target = page_selectors.visible_case(user, target_number)
        except (OutOfScope, Case.DoesNotExist) as exc:
            raise InvalidInput.one(
                "case", "not_found", _("No case with this number in your area.")
            ) from exc
        target = handling.join(user, ticket, target)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except InvalidInput as exc:
        return _refused(
            request,
            user,
            case,
            "join",
            exc,
            error_ticket=ticket_number,
            join_value=target_number,
        )
    messages.success(
        request,
        _("Ticket %(t)s joined case %(n)s.") % {"t": ticket.number, "n": target.number},
    )
    return redirect("tickets:case", number=target.number)
