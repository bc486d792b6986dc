"""Pages: a gate's book of visitors and vehicles (A2): the phone forms a volunteer fills in,
and the day page with the hourly statistics, a bar chart, and the day's visitors and vehicles.

A gate or place outside the user's territory is a 404; writing needs "gate.scan" at the gate,
reading "gate.view". Showing the day's visitors and vehicles is audited as a read of personal
data (one row per page shown). Each form carries a submission key made when it is shown, so a
double tap or a browser resend registers one visitor or vehicle.
"""

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

from gridguard.access.models import VehicleDirection
from gridguard.access.selectors import gates as selectors
from gridguard.access.services import gates as services
from gridguard.core import audit, clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import scope_q
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

VISITOR_FIELDS = ("name", "phone", "host_household", "purpose", "temperature", "time_in")
VEHICLE_FIELDS = (
    "plate",
    "direction",
    "driver_name",
    "driver_phone",
    "passengers",
    "passenger_names",
    "purpose",
    "temperature",
    "at",
)
LIST_LIMIT = 200


def _place(request: HttpRequest, code: str, permission: str) -> Area:
    try:
        return selectors.place_by_code(request.user, code, permission)
    except OutOfScope as exc:
        raise Http404 from exc


def _gate(request: HttpRequest, code: str) -> Area:
    try:
        return selectors.gate_by_code(request.user, code, selectors.SCAN)
    except OutOfScope as exc:
        raise Http404 from exc


def _day(raw: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return clock.today()


def _name_for(user: Any, name: str) -> str:
    if user.can("gate.scan") or user.can("people.view"):
        return name
    return masking.mask_name(name)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The user's gates (to register at) and the gates and compounds they may read."""
    user: Any = request.user
    if not (user.can(selectors.SCAN) or user.can(selectors.VIEW)):
        raise PermissionDenied
    mine = selectors.gates_for(user, selectors.SCAN, limit=50)
    places = Area.objects.filter(kind=AreaKind.GATE).select_related("parent").order_by("path")
    q = scope_q(user, "path")
    if q is not None:
        places = places.filter(q)
    page = Paginator(places, 50).get_page(request.GET.get("page"))
    context = {
        "title": _("Gate book"),
        "mine": mine,
        "page": page,
        "can_view": user.can(selectors.VIEW),
        "today": clock.today(),
    }
    return render(request, "access/gate_records/index.html", context)


def _chart(stats: selectors.GateDayStats) -> dict[str, Any]:
    """What the bar chart draws: per hour, entries, refusals, visitors and vehicles."""
    return {
        "hours": [h.label for h in stats.hours],
        "series": [
            {"name": str(_("Entries")), "data": [h.entries for h in stats.hours]},
            {"name": str(_("Refused")), "data": [h.refused for h in stats.hours]},
            {"name": str(_("Visitors")), "data": [h.visitors for h in stats.hours]},
            {"name": str(_("Vehicles")), "data": [h.vehicles for h in stats.hours]},
        ],
    }


@login_required
def day(request: HttpRequest, code: str) -> HttpResponse:
    """A gate's (or a compound's gates') day: hourly statistics, chart, visitors, vehicles."""
    user: Any = request.user
    place = _place(request, code, selectors.VIEW)
    when = _day(request.GET.get("date"))
    stats = selectors.hourly_stats(user, place, when)
    visitors = list(selectors.visitors_visible_to(user, place=place, day=when)[:LIST_LIMIT])
    vehicles = list(selectors.vehicles_visible_to(user, place=place, day=when)[:LIST_LIMIT])
    if visitors or vehicles:
        audit.record(
            user,
            "read",
            object_type="access.gatevisitor",
            object_id=place.code,
            area_path=place.path,
            detail={
                "fields": ["name", "phone"],
                "day": when.isoformat(),
                "visitors": len(visitors),
                "vehicles": len(vehicles),
            },
        )
    context = {
        "title": _("%(place)s · %(day)s") % {"place": place.name, "day": when.isoformat()},
        "place": place,
        "is_gate": place.kind == AreaKind.GATE,
        "can_scan": place.kind == AreaKind.GATE and user.can_at(selectors.SCAN, place.path),
        "day": when,
        "prev_day": when - dt.timedelta(days=1),
        "next_day": when + dt.timedelta(days=1) if when < clock.today() else None,
        "stats": stats,
        "rows": [
            {"h": h, "refusals": [h.refusals.get(r, 0) for r in stats.reasons]} for h in stats.hours
        ],
        "total_refusals": [stats.total.refusals.get(r, 0) for r in stats.reasons],
        "chart": _chart(stats),
        "visitors": [
            {
                "v": v,
                "name": _name_for(user, v.name),
                "phone": masking.phone_for(user, v.phone),
                "time_in": clock.local(v.time_in),
                "time_out": clock.local(v.time_out) if v.time_out else None,
                "can_out": v.admitted
                and v.time_out is None
                and user.can_at(selectors.SCAN, v.area.path),
            }
            for v in visitors
        ],
        "vehicles": [
            {
                "v": v,
                "driver": _name_for(user, v.driver_name),
                "phone": masking.phone_for(user, v.driver_phone),
                "at": clock.local(v.at),
            }
            for v in vehicles
        ],
        "limit": LIST_LIMIT,
    }
    return render(request, "access/gate_records/day.html", context)


def _form_context(gate: Area, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "gate": gate,
        "values": {},
        "errors": {},
        "now": clock.local(clock.now()).strftime("%Y-%m-%dT%H:%M"),
        "submission_key": uuid.uuid4().hex,
    }
    context.update(extra)
    return context


def _key_after(key: str, errors: dict[str, list[str]]) -> str:
    """The key the form shown again carries: the same one (nothing was written, and a double
    tap of the corrected form is still one row), or a fresh one when that key was refused."""
    return uuid.uuid4().hex if "submission_key" in errors or not key else key


def _day_url(area: Area) -> str:
    return reverse("gate_records:day", args=[area.code])


@login_required
def visitor(request: HttpRequest, code: str) -> HttpResponse:
    """The phone form: register a visitor at this gate (a fever keeps them out)."""
    gate = _gate(request, code)
    households = selectors.households_of(gate)
    context = _form_context(
        gate,
        title=_("Register a visitor"),
        households=households,
        needs_host=gate.parent is not None and gate.parent.kind == AreaKind.COMPOUND,
    )
    if request.method != "POST":
        return render(request, "access/gate_records/visitor.html", context)
    values = {name: request.POST.get(name, "") for name in VISITOR_FIELDS}
    key = request.POST.get("submission_key", "")
    try:
        found = services.register_visitor(request.user, gate, submission_key=key, **values)
    except InvalidInput as exc:
        errors = exc.by_field()
        context.update(values=values, errors=errors, submission_key=_key_after(key, errors))
        return render(request, "access/gate_records/visitor.html", context, status=400)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    verdict = services.verdict_of(found)
    if verdict.admitted:
        messages.success(request, _("%(name)s registered. Admitted.") % {"name": found.name})
    else:
        messages.error(request, f"{found.name}: {verdict.message}")
    return redirect(_day_url(gate))


@login_required
@require_POST
def visitor_out(request: HttpRequest, pk: int) -> HttpResponse:
    """Write down that a visitor left (now)."""
    try:
        found = selectors.visitor_for(request.user, pk, selectors.SCAN)
    except (OutOfScope, NotPermitted) as exc:
        raise Http404 from exc
    try:
        services.visitor_out(request.user, found, time_out=request.POST.get("time_out", ""))
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
    else:
        messages.success(request, _("%(name)s has left.") % {"name": found.name})
    return redirect(_day_url(found.area))


def _passengers(text: str) -> list[dict[str, str]]:
    """Passenger names typed one per line or separated by commas."""
    names = [n.strip() for n in text.replace("，", ",").replace("\n", ",").split(",")]
    return [{"name": n} for n in names if n]


@login_required
def vehicle(request: HttpRequest, code: str) -> HttpResponse:
    """The phone form: register a vehicle at this gate (plate, driver, passengers)."""
    gate = _gate(request, code)
    context = _form_context(
        gate,
        title=_("Register a vehicle"),
        directions=VehicleDirection.choices,
        values={"direction": VehicleDirection.IN},
    )
    if request.method != "POST":
        return render(request, "access/gate_records/vehicle.html", context)
    values = {name: request.POST.get(name, "") for name in VEHICLE_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "passenger_names"}
    data["passenger_list"] = _passengers(values["passenger_names"])
    key = request.POST.get("submission_key", "")
    try:
        found = services.register_vehicle(request.user, gate, submission_key=key, **data)
    except InvalidInput as exc:
        errors = exc.by_field()
        # Errors about one listed passenger show beside the names box.
        for field in [k for k in errors if k.startswith("passenger_list.")]:
            errors.setdefault("passenger_names", []).extend(errors.pop(field))
        context.update(values=values, errors=errors, submission_key=_key_after(key, errors))
        return render(request, "access/gate_records/vehicle.html", context, status=400)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    verdict = services.verdict_of(found)
    if verdict.admitted:
        messages.success(request, _("%(plate)s registered.") % {"plate": found.plate})
    else:
        messages.error(request, f"{found.plate}: {verdict.message}")
    return redirect(_day_url(gate))
