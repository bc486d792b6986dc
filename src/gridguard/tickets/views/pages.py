"""Pages: the resident's side of tickets (C1). The public phone form to report a problem (no
login needed, rate-limited per address), the follow-up page a reporter reaches through a
signed link (status, the answer, a 1-5 star rating), and a logged-in resident's own tickets.

The follow-up link carries a signature over the ticket number (django.core.signing, salted),
so only whoever filed the ticket, or was given the link, can open it; a wrong signature is a
404, like a ticket that does not exist. Operators' pages are in views/cases.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_ratelimit.decorators import ratelimit

from gridguard.core import clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.middleware import client_address
from gridguard.core.scoping import PublicActor
from gridguard.tickets.models import MAX_PLACE, MAX_TEXT, CaseStatus, Channel, Ticket
from gridguard.tickets.selectors import cases as case_selectors
from gridguard.tickets.selectors import pages as selectors
from gridguard.tickets.services import handling, intake

FOLLOW_SALT = "tickets.follow"
FORM_FIELDS = ("text", "place", "reporter_name", "reporter_phone")
PAGE_SIZE = 30
_KEY = re.compile(r"^[0-9a-f]{32}$")
_RECENT = "gg_tickets"


PUBLIC_FORM = PublicActor("public:ticket-form")


def _form_rate(group: str, request: HttpRequest) -> str:
    return str(settings.TICKET_FORM_RATE)


def follow_signature(number: str) -> str:
    """The signature that opens a ticket's follow-up page."""
    return signing.Signer(salt=FOLLOW_SALT).sign(number).rsplit(":", 1)[1]


def follow_url(number: str) -> str:
    """The reporter's follow-up link for a ticket number."""
    return reverse("tickets:follow", args=[number, follow_signature(number)])


def _signature_ok(number: str, signature: str) -> bool:
    try:
        return signing.Signer(salt=FOLLOW_SALT).unsign(f"{number}:{signature}") == number
    except signing.BadSignature:
        return False


def _actor_for(request: HttpRequest) -> Any:
    user: Any = request.user
    return user if user.is_authenticated else PUBLIC_FORM


def _file(request: HttpRequest, values: dict[str, str], key: str) -> Ticket | dict[str, Any]:
    """File the form's ticket; the ticket, or the errors by field (nothing written then)."""
    user: Any = request.user
    row: dict[str, Any] = {
        "channel": Channel.WEB,
        # The form's own key: a double tap or a resent POST is one ticket.
        "channel_ref": f"web-{key}" if key else "",
        "text": values["text"],
        "place": values["place"],
        "reporter_name": values["reporter_name"],
        "reporter_phone": values["reporter_phone"],
        "reporter": user if user.is_authenticated else None,
    }
    if not user.is_authenticated and not values["reporter_phone"].strip():
        # Anonymous reporters are told the answer by phone: without one nothing is filed.
        missing = FieldError(
            "reporter_phone",
            "required",
            _("Give your mobile phone number, so that we can tell you the answer."),
        )
        checked = intake.check_row(row, 1, clock.now())
        found = checked if isinstance(checked, list) else []
        return InvalidInput(
            [*[e for e in found if e.field != "reporter_phone"], missing]
        ).by_field()
    try:
        outcome = intake.receive_many(_actor_for(request), [row], permission="")[0]
    except InvalidInput as exc:
        return exc.by_field()
    if outcome.errors or outcome.ticket is None:
        return InvalidInput(outcome.errors).by_field()
    return outcome.ticket


@ratelimit(key=client_address, rate=_form_rate, method="POST", block=True)
def new(request: HttpRequest) -> HttpResponse:
    """The public form to report a problem (phone first; anonymous or logged in)."""
    user: Any = request.user
    values = {name: "" for name in FORM_FIELDS}
    if user.is_authenticated:
        values["reporter_name"] = getattr(user, "display_name", "") or ""
        values["reporter_phone"] = getattr(user, "phone", "") or ""
    errors: dict[str, Any] = {}
    key = request.POST.get("submission_key", "")
    if not _KEY.match(key):
        key = ""
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in FORM_FIELDS}
        result = _file(request, values, key)
        if isinstance(result, Ticket):
            request.session[_RECENT] = [*request.session.get(_RECENT, [])[-9:], result.number]
            return redirect(follow_url(result.number))
        errors = result
        if "channel_ref" in errors:
            # The key was refused: a fresh one, and the message shown above the form.
            errors.setdefault("__all__", []).extend(errors.pop("channel_ref"))
            key = ""
    context = {
        "title": _("Report a problem"),
        "values": values,
        "errors": errors,
        "general_errors": errors.get("__all__", []),
        "submission_key": key or uuid.uuid4().hex,
        "phone_required": not user.is_authenticated,
        "max_text": MAX_TEXT,
        "max_place": MAX_PLACE,
    }
    return render(request, "tickets/new.html", context, status=400 if errors else 200)


@ratelimit(key=client_address, rate=_form_rate, method="POST", block=True)
def follow(request: HttpRequest, number: str, signature: str) -> HttpResponse:
    """The reporter's follow-up page: status, the answer once there is one, and the rating."""
    if not _signature_ok(number, signature):
        raise Http404(_("No ticket with this link."))
    ticket = case_selectors.ticket_by_reference(number)
    if ticket is None:
        raise Http404(_("No ticket with this link."))
    errors: dict[str, list[str]] = {}
    values = {"rating": "", "comment": ""}
    if request.method == "POST":
        values = {
            "rating": request.POST.get("rating", ""),
            "comment": request.POST.get("comment", ""),
        }
        user: Any = request.user
        actor = user if user.is_authenticated and user.pk == ticket.reporter_id else PUBLIC_FORM
        try:
            handling.rate(ticket, rating=values["rating"], comment=values["comment"], actor=actor)
        except InvalidInput as exc:
            errors = exc.by_field()
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect(request.path)
    case = ticket.case
    answered = case.status in (CaseStatus.ANSWERED, CaseStatus.CLOSED) and bool(case.reply)
    context = {
        "title": _("Your report %(n)s") % {"n": ticket.number},
        "ticket": ticket,
        "case": case,
        "status": case.get_status_display(),
        "answered": answered,
        "received": clock.local(ticket.received_at),
        "replied": clock.local(case.replied_at) if case.replied_at else None,
        "just_filed": ticket.number in request.session.get(_RECENT, []),
        "stars": range(1, 6),
        "values": values,
        "errors": errors,
        "general_errors": errors.get("__all__", []),
    }
    return render(request, "tickets/follow.html", context, status=400 if errors else 200)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """A logged-in resident's own tickets, newest first, each with its follow-up link."""
    page = Paginator(selectors.tickets_reported_by(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "t": t,
            "url": follow_url(t.number),
            "received": clock.local(t.received_at),
            "status": t.case.get_status_display(),
            "answered": t.case.status in (CaseStatus.ANSWERED, CaseStatus.CLOSED),
        }
        for t in page
    ]
    context = {"title": _("My reports"), "page": page, "rows": rows}
    return render(request, "tickets/mine.html", context)
