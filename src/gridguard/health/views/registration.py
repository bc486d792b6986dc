"""Traveller registration pages: the public phone form and receipt (no login), and the staff
lists: registrations, the street's unmatched queue, one registration, follow-up tasks."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from gridguard.core import audit, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.forms import DateRangeForm
from gridguard.core.middleware import client_address
from gridguard.health import travel
from gridguard.health.models import FollowUpKind, MatchStatus, Transport
from gridguard.health.selectors import registration as selectors
from gridguard.health.services import registration as services
from gridguard.health.services.followups import close_followup
from gridguard.people.models import IdType
from gridguard.territory import selectors as territory

PAGE_SIZE = 50
_FIELDS = [
    "id_type",
    "id_number",
    "name",
    "phone",
    "origin_province",
    "origin_city",
    "route",
    "transport",
    "vehicle_number",
    "arrival_date",
    "destination_address",
    "temperature",
    "contact_detail",
]


def _form_rate(group: str, request: HttpRequest) -> str:
    return str(settings.TRAVELLER_FORM_RATE)


@ratelimit(key=client_address, rate=_form_rate, method="POST", block=True)
def register(request: HttpRequest) -> HttpResponse:
    """The public traveller form (no login, phone-first, Chinese and English)."""
    values: dict[str, Any] = {"id_type": IdType.RESIDENT_ID, "transport": Transport.CAR}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in _FIELDS}
        values["symptoms"] = request.POST.getlist("symptoms")
        values["contact_history"] = request.POST.get("contact_history") == "yes"
        key = request.POST.get("submission_key", "")
        try:
            reg, _created = services.register_traveller(
                services.PUBLIC_FORM,
                services.Declaration(**values),
                submission_key=key,
                language=get_language() or "",
            )
        except InvalidInput as exc:
            errors = exc.by_field()
        else:
            request.session["gg_receipts"] = [
                *request.session.get("gg_receipts", [])[-9:],
                reg.receipt_code,
            ]
            return redirect("travellers:receipt", code=reg.receipt_code)
    context = {
        "values": values,
        "errors": errors,
        # A fresh key per form shown: a double tap or a resent POST is one registration.
        "submission_key": request.POST.get("submission_key") or uuid.uuid4().hex,
        "id_types": IdType.choices,
        "transports": Transport.choices,
        "provinces": travel.PROVINCES,
        "symptoms": list(travel.SYMPTOMS.items()),
        "title": _("Traveller health registration"),
    }
    context["general_errors"] = errors.get("__all__", [])
    status = 400 if errors else 200
    return render(request, "health/travellers/register.html", context, status=status)


@ratelimit(key=client_address, rate=_form_rate, method="GET", block=True)
def receipt(request: HttpRequest, code: str) -> HttpResponse:
    """The registrant's receipt: what was recorded, masked, and what happens next."""
    reg = selectors.by_receipt(code)
    if reg is None:
        raise Http404(_("No registration with this receipt code."))
    context = {
        "reg": reg,
        "name": masking.mask_name(reg.name),
        "id_number": masking.mask_id_number(reg.id_number),
        "phone": masking.mask_phone(reg.phone),
        "just_made": reg.receipt_code in request.session.get("gg_receipts", []),
        "title": _("Registration receipt"),
    }
    return render(request, "health/travellers/receipt.html", context)


@ratelimit(key=client_address, rate=_form_rate, method="GET", block=True)
def lookup(request: HttpRequest) -> HttpResponse:
    """Find a receipt again by its code."""
    code = (request.GET.get("code") or "").strip()
    error = ""
    if code:
        if selectors.by_receipt(code) is not None:
            return redirect("travellers:receipt", code=code.upper())
        error = _("No registration with this receipt code. Check the code and try again.")
    return render(
        request,
        "health/travellers/lookup.html",
        {"code": code, "error": error, "title": _("Find my registration")},
        status=404 if error else 200,
    )


def _actor(request: HttpRequest, permission: str) -> Any:
    user: Any = request.user
    if not user.can(permission):
        raise PermissionDenied
    return user


def _rows(user: Any, regs: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "reg": r,
            "id_number": masking.id_number_for(user, r.id_number),
            "phone": masking.phone_for(user, r.phone),
        }
        for r in regs
    ]


@login_required
def registrations(request: HttpRequest) -> HttpResponse:
    """Registrations in the user's territory, filterable by match status, key area, dates."""
    user = _actor(request, "travellers.view")
    dates = DateRangeForm(request.GET or None)
    since, until = dates.days() if dates.is_valid() else (None, None)
    status = request.GET.get("status") or None
    if status not in (None, *MatchStatus.values):
        status = None
    key_area = {"yes": True, "no": False}.get(request.GET.get("key_area", ""))
    qs = selectors.registrations_visible_to(
        user,
        match_status=status,
        key_area=key_area,
        since=since,
        until=until,
        q=request.GET.get("q", ""),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": _rows(user, list(page.object_list)),
        "dates": dates,
        "status": status or "",
        "key_area": request.GET.get("key_area", ""),
        "q": request.GET.get("q", ""),
        "statuses": MatchStatus.choices,
        "title": _("Traveller registrations"),
    }
    return render(request, "health/travellers/list.html", context)


@login_required
def unmatched(request: HttpRequest) -> HttpResponse:
    """The street's queue: registrations whose address reached no compound, oldest first."""
    user = _actor(request, "travellers.view")
    page = Paginator(selectors.unmatched_queue(user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": _rows(user, list(page.object_list)),
        "can_assign": user.can("travellers.assign"),
        "title": _("Addresses to assign"),
    }
    return render(request, "health/travellers/unmatched.html", context)


def _registration_or_404(user: Any, pk: int) -> Any:
    try:
        return selectors.registration(user, pk)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One registration (the read is audited)."""
    user = _actor(request, "travellers.view")
    reg = _registration_or_404(user, pk)
    audit.record_read(user, reg, fields=["id_number", "phone"])
    context = {
        "reg": reg,
        "id_number": masking.id_number_for(user, reg.id_number),
        "phone": masking.phone_for(user, reg.phone),
        "symptoms": [str(travel.SYMPTOMS.get(s, s)) for s in reg.symptoms],
        "can_assign": user.can("travellers.assign") and reg.match_status == MatchStatus.UNMATCHED,
        "title": _("Registration %(code)s") % {"code": reg.receipt_code},
    }
    return render(request, "health/travellers/detail.html", context)


@login_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Place an unmatched registration at a compound of the street."""
    user = _actor(request, "travellers.assign")
    reg = _registration_or_404(user, pk)
    code = (request.POST.get("compound") or "").strip()
    try:
        compound = territory.area_by_code(user, code)
        services.assign_registration(user, reg, compound)
    except OutOfScope:
        messages.error(request, _("Compound: no compound with the code “%(c)s”.") % {"c": code})
    except InvalidInput as exc:
        messages.error(request, str(exc))
    except NotPermitted as exc:
        raise PermissionDenied from exc
    else:
        messages.success(request, _("Assigned to %(name)s.") % {"name": compound.name})
    return redirect(request.POST.get("next") or "travellers:unmatched")


@login_required
def followups(request: HttpRequest) -> HttpResponse:
    """Follow-up tasks at the user's committees: key-area arrivals, symptoms, fever medicine."""
    user = _actor(request, "followups.view")
    status = request.GET.get("status", "open")
    kind = request.GET.get("kind") or None
    if kind not in (None, *FollowUpKind.values):
        kind = None
    qs = selectors.followups_visible_to(user, status=status or None, kind=kind)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "tasks": list(page.object_list),
        "status": status,
        "kind": kind or "",
        "kinds": FollowUpKind.choices,
        "can_close": user.can("followups.close"),
        "title": _("Follow-up tasks"),
    }
    return render(request, "health/travellers/followups.html", context)


@login_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a follow-up task with what was done."""
    user = _actor(request, "followups.close")
    try:
        task = selectors.followup(user, pk)
        close_followup(
            user,
            task,
            outcome=request.POST.get("outcome", ""),
            cancelled=request.POST.get("cancelled") == "yes",
        )
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    except InvalidInput as exc:
        messages.error(request, _("What was done: %(m)s") % {"m": str(exc.errors[0].message)})
    else:
        messages.success(request, _("Task closed."))
    return redirect("travellers:followups")
