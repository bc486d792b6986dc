"""Access API: visitors and vehicles registered at gates, and a gate's hourly statistics (A2).

Writes need "gate.scan" at the gate (a volunteer's session or a `gate_scanner` device token);
lists and statistics need "gate.view" (statistics, which hold no personal data, also
"gate.scan", so a gate's device can show its own day). A gate or place outside the caller's
territory answers 404.

`POST /visitors` and `POST /vehicles` take an optional `submission_key`, the device's own id for
the submission: the same key again (a resend after a timeout) answers 200 with the first record
and writes nothing; the same key at another gate is refused (422, field `submission_key`).
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.access.selectors import gates as selectors
from gridguard.access.services import gates as services
from gridguard.core import audit, clock, masking
from gridguard.core.api import ERROR_RESPONSES, need

router = Router(tags=["access-gates"])
KEY_HELP = "The device's own id for this submission; a retry reuses it"


def _name_for(actor: Any, name: str) -> str:
    # The volunteers at the gate call visitors by name; other readers see it masked unless
    # their role reads the registry anyway.
    if actor.can("gate.scan") or actor.can("people.view"):
        return name
    return masking.mask_name(name)


class VisitorIn(Schema):
    gate: str = Field(description="The gate's area code", max_length=40)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=40)
    purpose: str = Field(max_length=400)
    host_household: int | None = Field(None, description="Id of the household visited")
    temperature: float | None = Field(None, description="°C, 34.0 to 42.0, if taken")
    time_in: dt.datetime | None = Field(None, description="Default now; not in the future")
    submission_key: str | None = Field(None, max_length=64, description=KEY_HELP)


class VisitorOutIn(Schema):
    time_out: dt.datetime | None = Field(None, description="Default now; not in the future")


class VisitorOut(Schema):
    id: int
    gate_code: str
    gate_name: str
    name: str
    phone: str
    host_household: int | None
    purpose: str
    time_in: dt.datetime
    time_out: dt.datetime | None
    temperature: float | None
    admitted: bool
    verdict: str

    @staticmethod
    def resolve_gate_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_gate_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_name(obj: Any, context: Any) -> str:
        return _name_for(context["request"].auth, obj.name)

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return masking.phone_for(context["request"].auth, obj.phone)

    @staticmethod
    def resolve_host_household(obj: Any) -> int | None:
        return obj.host_household_id

    @staticmethod
    def resolve_temperature(obj: Any) -> float | None:
        return float(obj.temperature) if obj.temperature is not None else None

    @staticmethod
    def resolve_verdict(obj: Any) -> str:
        return services.verdict_of(obj).message


class PassengerIn(Schema):
    name: str = Field(max_length=200)
    temperature: float | None = None


class VehicleIn(Schema):
    gate: str = Field(description="The gate's area code", max_length=40)
    plate: str = Field(description="沪A12345, or 沪AD12345 for a new-energy plate", max_length=40)
    driver_name: str = Field(max_length=200)
    driver_phone: str = Field("", max_length=40)
    passengers: int | None = Field(None, description="Besides the driver; default: listed")
    passenger_list: list[PassengerIn] = Field(default_factory=list, max_length=200)
    purpose: str = Field("", max_length=400)
    temperature: float | None = Field(None, description="The driver's °C, if taken")
    direction: str = Field("in", description="in or out")
    at: dt.datetime | None = Field(None, description="Default now; not in the future")
    submission_key: str | None = Field(None, max_length=64, description=KEY_HELP)


class PassengerOut(Schema):
    name: str
    temperature: str | None = None


class VehicleOut(Schema):
    id: int
    gate_code: str
    plate: str
    direction: str
    driver_name: str
    driver_phone: str
    passengers: int
    passenger_list: list[PassengerOut]
    purpose: str
    temperature: float | None
    at: dt.datetime
    admitted: bool
    verdict: str

    @staticmethod
    def resolve_gate_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_driver_name(obj: Any, context: Any) -> str:
        return _name_for(context["request"].auth, obj.driver_name)

    @staticmethod
    def resolve_driver_phone(obj: Any, context: Any) -> str:
        return masking.phone_for(context["request"].auth, obj.driver_phone)

    @staticmethod
    def resolve_passenger_list(obj: Any, context: Any) -> list[dict[str, Any]]:
        actor = context["request"].auth
        return [
            {"name": _name_for(actor, str(p.get("name", ""))), "temperature": p.get("temperature")}
            for p in obj.passenger_list
        ]

    @staticmethod
    def resolve_temperature(obj: Any) -> float | None:
        return float(obj.temperature) if obj.temperature is not None else None

    @staticmethod
    def resolve_verdict(obj: Any) -> str:
        return services.verdict_of(obj).message


class HourOut(Schema):
    hour: int = Field(description="-1 for the day's totals")
    entries: int
    refused: int
    refusals: dict[str, int] = Field(description="Scans refused, by verdict")
    visitors: int
    visitors_refused: int
    vehicles: int
    vehicles_refused: int


class StatsOut(Schema):
    code: str
    name: str
    kind: str
    date: dt.date
    hours: list[HourOut]
    total: HourOut


@router.post("/visitors", response={200: VisitorOut, **ERROR_RESPONSES})
def register_visitor(request: HttpRequest, payload: VisitorIn) -> Any:
    """Register a visitor at your gate. `admitted` is false, and `verdict` says why, when the
    visitor has a fever (37.3 °C or more). The same `submission_key` again answers with the
    first visitor."""
    actor = need(request, "gate.scan")
    gate = selectors.gate_by_code(actor, payload.gate, "gate.scan")
    data = payload.model_dump()
    data.pop("gate")
    return services.register_visitor(actor, gate, **data)


@router.post("/visitors/{int:visitor_id}/out", response={200: VisitorOut, **ERROR_RESPONSES})
def visitor_out(request: HttpRequest, visitor_id: int, payload: VisitorOutIn) -> Any:
    """Write down when a visitor left."""
    actor = need(request, "gate.scan")
    visitor = selectors.visitor_for(actor, visitor_id, "gate.scan")
    return services.visitor_out(actor, visitor, time_out=payload.time_out)


@router.post("/vehicles", response={200: VehicleOut, **ERROR_RESPONSES})
def register_vehicle(request: HttpRequest, payload: VehicleIn) -> Any:
    """Register a vehicle at your gate (plate, driver, passengers). A driver or passenger with
    a fever keeps an incoming vehicle out (`admitted` false). The same `submission_key` again
    answers with the first vehicle."""
    actor = need(request, "gate.scan")
    gate = selectors.gate_by_code(actor, payload.gate, "gate.scan")
    data = payload.model_dump()
    data.pop("gate")
    return services.register_vehicle(actor, gate, **data)


def _audit_list(actor: Any, what: str, place: Any, day: dt.date | None) -> None:
    # A list of visitors is a read of personal data: one audit row per page asked for.
    audit.record(
        actor,
        "read",
        object_type=what,
        object_id=place.code if place is not None else "",
        area_path=place.path if place is not None else "",
        detail={"fields": ["name", "phone"], "day": day.isoformat() if day else None},
    )


@router.get("/visitors", response={200: list[VisitorOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-time_in", "-id"), page_size=100)
def visitors(
    request: HttpRequest,
    place: str | None = Query(None, max_length=40),
    date: dt.date | None = None,
) -> Any:
    """Visitors at gates in your territory, newest first: `place` (a gate or a compound code)
    and `date` (a Shanghai day) narrow the list. The read is audited."""
    actor = need(request, "gate.view")
    area = selectors.place_by_code(actor, place) if place else None
    _audit_list(actor, "access.gatevisitor", area, date)
    return selectors.visitors_visible_to(actor, place=area, day=date)


@router.get("/vehicles", response={200: list[VehicleOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-at", "-id"), page_size=100)
def vehicles(
    request: HttpRequest,
    place: str | None = Query(None, max_length=40),
    date: dt.date | None = None,
) -> Any:
    """Vehicles at gates in your territory, newest first (`place`, `date` as for visitors)."""
    actor = need(request, "gate.view")
    area = selectors.place_by_code(actor, place) if place else None
    _audit_list(actor, "access.gatevehicle", area, date)
    return selectors.vehicles_visible_to(actor, place=area, day=date)


@router.get("/{code}/stats", response={200: StatsOut, **ERROR_RESPONSES})
def stats(request: HttpRequest, code: str, date: dt.date | None = None) -> Any:
    """A gate's (or all a compound's gates') day by Shanghai hour: entries (scans passed),
    refusals by reason, visitors and vehicles; `date` defaults to today."""
    actor = need(request, "gate.view", "gate.scan")
    place = selectors.place_by_code(
        actor, code, "gate.view" if actor.can("gate.view") else "gate.scan"
    )
    found = selectors.hourly_stats(actor, place, date or clock.today())
    return {
        "code": place.code,
        "name": place.name,
        "kind": place.kind,
        "date": found.day,
        "hours": [h.as_dict() for h in found.hours],
        "total": found.total.as_dict(),
    }
