"""Pages: the pharmacist's phone page (purchases, pickups, outlet), the staff lists, and the
resident's mask page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridguard.core import clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.health.models import ReservationStatus
from gridguard.health.selectors import pharmacy as selectors
from gridguard.health.services import pharmacy as services
from gridguard.people.models import IdType
from gridguard.territory.models import Area

PURCHASE_FIELDS = (
    "id_type",
    "id_number",
    "name",
    "phone",
    "medicine",
    "quantity",
    "temperature",
    "buyer_address",
)


def _pharmacy(request: HttpRequest, permission: str) -> tuple[Area, list[Area]]:
    """The pharmacy this page works on (`?p=<code>` or the POSTed `pharmacy`), and all the
    user's pharmacies; PermissionDenied when they have none."""
    mine = selectors.pharmacies_for(request.user, permission)
    if not mine:
        raise PermissionDenied
    code = request.POST.get("pharmacy") or request.GET.get("p")
    for area in mine:
        if area.code == code:
            return area, mine
    return mine[0], mine


def _home_context(request: HttpRequest, pharmacy: Area, mine: list[Area]) -> dict[str, Any]:
    user = request.user
    today = clock.today()
    purchases = list(selectors.purchases_visible_to(user, day=today, pharmacy=pharmacy)[:50])
    outlet = selectors.outlet_of(pharmacy)
    stock = selectors.quota_days_visible_to(user, today).filter(outlet=outlet).first()
    return {
        "title": _("Pharmacy"),
        "pharmacy": pharmacy,
        "pharmacies": mine,
        "purchases": [
            {
                "p": p,
                "name": p.name,
                "id_number": masking.id_number_for(user, p.id_number),
                "time": clock.local(p.bought_at),
            }
            for p in purchases
        ],
        "outlet": outlet,
        "stock": stock,
        "remaining": selectors.remaining(outlet, today) if outlet else None,
        "id_types": IdType.choices,
        "values": {"id_type": IdType.RESIDENT_ID, "quantity": 1},
        "errors": {},
        "pickup_errors": {},
        "submission_key": uuid.uuid4().hex,
        "can_pickup": user.can_at("masks.pickup", pharmacy.path),  # type: ignore[union-attr]
        "can_manage": user.can_at("masks.manage", pharmacy.path),  # type: ignore[union-attr]
    }


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The pharmacist's phone page: register a purchase, today's list, pickups, stock."""
    pharmacy, mine = _pharmacy(request, "pharmacy.record")
    return render(request, "health/pharmacy/home.html", _home_context(request, pharmacy, mine))


@login_required
@require_POST
def register(request: HttpRequest) -> HttpResponse:
    pharmacy, mine = _pharmacy(request, "pharmacy.record")
    values = {name: request.POST.get(name, "") for name in PURCHASE_FIELDS}
    key = request.POST.get("submission_key", "")
    try:
        purchase = services.register_purchase(request.user, pharmacy, submission_key=key, **values)
    except InvalidInput as exc:
        context = _home_context(request, pharmacy, mine)
        context.update(values=values, errors=exc.by_field(), submission_key=key)
        return render(request, "health/pharmacy/home.html", context, status=400)
    messages.success(
        request,
        _("Registered: %(name)s, %(medicine)s x%(n)s. The committee will follow up.")
        % {"name": purchase.name, "medicine": purchase.medicine, "n": purchase.quantity},
    )
    return redirect(f"{reverse('pharmacy:home')}?p={pharmacy.code}")


@login_required
@require_POST
def pickup(request: HttpRequest) -> HttpResponse:
    pharmacy, mine = _pharmacy(request, "masks.pickup")
    code = request.POST.get("code", "")
    try:
        r = services.pickup(request.user, code)
    except InvalidInput as exc:
        context = _home_context(request, pharmacy, mine)
        context.update(pickup_errors=exc.by_field(), pickup_code=code)
        return render(request, "health/pharmacy/home.html", context, status=400)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    messages.success(
        request, _("Hand over %(n)s masks (code %(code)s).") % {"n": r.quantity, "code": r.code}
    )
    return redirect(f"{reverse('pharmacy:home')}?p={pharmacy.code}")


@login_required
def outlet(request: HttpRequest) -> HttpResponse:
    """The outlet's settings and today's stock."""
    pharmacy, mine = _pharmacy(request, "masks.manage")
    current = selectors.outlet_of(pharmacy)
    values: dict[str, Any] = {
        "daily_quota": current.daily_quota if current else 100,
        "per_person_limit": current.per_person_limit if current else 5,
        "period_days": current.period_days if current else 7,
        "active": current.active if current else True,
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("daily_quota", "per_person_limit")}
        values["period_days"] = request.POST.get("period_days", "")
        values["active"] = request.POST.get("active") == "on"
        try:
            services.set_outlet(request.user, pharmacy, **values)
        except InvalidInput as exc:
            errors = exc.by_field()
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{reverse('pharmacy:outlet')}?p={pharmacy.code}")
    today = clock.today()
    context = {
        "title": _("Mask outlet"),
        "pharmacy": pharmacy,
        "pharmacies": mine,
        "outlet": current,
        "values": values,
        "errors": errors,
        "days": (
            selectors.quota_days_visible_to(request.user)
            .filter(outlet=current, day__gte=today - dt.timedelta(days=6))
            .order_by("-day")[:14]
            if current
            else []
        ),
        "remaining": selectors.remaining(current, today) if current else None,
    }
    return render(request, "health/pharmacy/outlet.html", context, status=400 if errors else 200)


def _need_view(request: HttpRequest) -> None:
    if not request.user.can("pharmacy.view"):  # type: ignore[union-attr]
        raise PermissionDenied


@login_required
def purchases(request: HttpRequest) -> HttpResponse:
    """Purchases in the user's territory (today, or `?day=YYYY-MM-DD`, or `?day=all`)."""
    _need_view(request)
    user = request.user
    raw = request.GET.get("day", "")
    day: dt.date | None = clock.today()
    if raw == "all":
        day = None
    elif raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            day = clock.today()
    page = Paginator(selectors.purchases_visible_to(user, day=day), 50).get_page(
        request.GET.get("page")
    )
    see_names = user.can("people.view")  # type: ignore[union-attr]
    rows = [
        {
            "p": p,
            "name": p.name if see_names else masking.mask_name(p.name),
            "id_number": masking.id_number_for(user, p.id_number),
            "phone": masking.phone_for(user, p.phone),
            "time": clock.local(p.bought_at),
        }
        for p in page
    ]
    context = {
        "title": _("Fever-medicine purchases"),
        "page": page,
        "rows": rows,
        "day": day,
        "extra": f"day={raw}&" if raw else "",
    }
    return render(request, "health/pharmacy/purchases.html", context)


@login_required
def outlets(request: HttpRequest) -> HttpResponse:
    """Mask outlets in the user's territory with today's stock."""
    _need_view(request)
    today = clock.today()
    page = Paginator(selectors.outlets_visible_to(request.user), 50).get_page(
        request.GET.get("page")
    )
    rows = [{"o": o, "remaining": selectors.remaining(o, today)} for o in page]
    context = {"title": _("Mask outlets"), "page": page, "rows": rows, "today": today}
    return render(request, "health/pharmacy/outlets.html", context)


def _masks_context(request: HttpRequest) -> dict[str, Any]:
    today = clock.today()
    person = selectors.person_of(request.user)
    return {
        "title": _("Masks"),
        "person": person,
        "outlets": selectors.open_outlets(today),
        "days": [today + dt.timedelta(days=i) for i in range(services.RESERVE_AHEAD_DAYS + 1)],
        "reservations": list(selectors.own_reservations(request.user)[:20]),
        "reserved": ReservationStatus.RESERVED,
        "values": {"day": today.isoformat(), "quantity": 1},
        "errors": {},
        "submission_key": uuid.uuid4().hex,
    }


@login_required
def masks(request: HttpRequest) -> HttpResponse:
    """The resident's page: outlets with stock, reserve, own reservations and codes."""
    return render(request, "health/pharmacy/masks.html", _masks_context(request))


@login_required
@require_POST
def reserve(request: HttpRequest) -> HttpResponse:
    person = selectors.person_of(request.user)
    if person is None:
        raise PermissionDenied
    values = {k: request.POST.get(k, "") for k in ("outlet", "day", "quantity")}
    key = request.POST.get("submission_key", "")
    try:
        try:
            chosen = selectors.open_outlet(int(values["outlet"]))
        except (ValueError, OutOfScope) as exc:
            raise InvalidInput.one("outlet", "required", _("Choose a pharmacy.")) from exc
        try:
            day = dt.date.fromisoformat(values["day"])
        except ValueError as exc:
            raise InvalidInput.one("day", "invalid", _("Choose a day.")) from exc
        r = services.reserve_masks(request.user, person, chosen, day, values["quantity"], key)
    except InvalidInput as exc:
        context = _masks_context(request)
        context.update(values=values, errors=exc.by_field(), submission_key=key)
        return render(request, "health/pharmacy/masks.html", context, status=400)
    messages.success(
        request,
        _("Reserved %(n)s masks at %(where)s for %(day)s. Your code: %(code)s")
        % {"n": r.quantity, "where": r.area.name, "day": r.day.isoformat(), "code": r.code},
    )
    return redirect("pharmacy:masks")


@login_required
@require_POST
def cancel(request: HttpRequest, code: str) -> HttpResponse:
    try:
        r = selectors.own_reservation(request.user, code)
    except OutOfScope as exc:
        raise Http404 from exc
    try:
        services.cancel(request.user, r)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
    else:
        messages.success(request, _("Reservation cancelled."))
    return redirect("pharmacy:masks")
