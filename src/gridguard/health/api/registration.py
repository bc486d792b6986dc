"""Traveller registrations: checkpoint devices post them; staff list, read and assign them.

`POST /` is the device path (a checkpoint tablet with a `checkpoint_device` token, or staff
entering a paper form): the same `submission_key` twice answers 200 with the first
registration instead of 201. Follow-up tasks for the committees live under `/followups`.
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from gridguard.core import audit, masking
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.errors import InvalidInput, OutOfScope
from gridguard.health import travel
from gridguard.health.models import Channel
from gridguard.health.selectors import registration as selectors
from gridguard.health.services import registration as services
from gridguard.health.services.followups import close_followup
from gridguard.territory import selectors as territory
from gridguard.territory.kinds import AreaKind

router = Router(tags=["health-registrations"])
followups_router = Router(tags=["health-followups"])


class RegistrationIn(Schema):
    submission_key: str = Field(
        description="The device's own id for this submission (retries reuse it)"
    )
    id_type: str = "resident_id"
    id_number: str
    name: str
    phone: str
    origin_province: str
    origin_city: str = ""
    route: str = ""
    transport: str = Field(description="car, train, flight, coach, ship or other")
    vehicle_number: str = ""
    arrival_date: str = Field(description="YYYY-MM-DD, not in the future")
    destination_address: str
    symptoms: list[str] = Field(default_factory=list)
    temperature: float | None = None
    contact_history: bool = False
    contact_detail: str = ""


class RegistrationOut(Schema):
    id: int
    receipt_code: str
    name: str
    id_type: str
    id_number: str
    phone: str
    origin_province: str
    origin_city: str
    transport: str
    vehicle_number: str
    arrival_date: dt.date
    channel: str
    destination_address: str
    match_status: str
    area_code: str
    area_name: str
    from_key_area: bool
    symptoms: list[str]
    temperature: float | None
    submitted_at: dt.datetime

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_area_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_id_number(obj: Any, context: Any) -> str:
        return masking.id_number_for(context["request"].auth, obj.id_number)

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return masking.phone_for(context["request"].auth, obj.phone)

    @staticmethod
    def resolve_temperature(obj: Any) -> float | None:
        return float(obj.temperature) if obj.temperature is not None else None


def _origin(actor: Any) -> tuple[str, Any]:
    """(channel, checkpoint): a device token registers from its checkpoint; staff by hand."""
    if getattr(actor, "key_id", None) is None:
        return Channel.STAFF, None
    area = getattr(actor, "area", None)
    return (
        Channel.CHECKPOINT_DEVICE,
        area if area is not None and area.kind == AreaKind.CHECKPOINT else None,
    )


class ReceiptOut(Schema):
    receipt_code: str
    created: bool = Field(description="false when this submission_key was seen before")
    placed: bool = Field(description="true once the registration is placed (within seconds)")
    from_key_area: bool
    registration_id: int | None
    match_status: str | None
    area_code: str | None


def _receipt(intake: Any, created: bool) -> dict[str, Any]:
    reg = intake.registration
    d = intake.declaration
    region = travel.key_region_for(
        d["origin_province"], d["origin_city"], dt.date.fromisoformat(d["arrival_date"])
    )
    return {
        "receipt_code": intake.receipt_code,
        "created": created,
        "placed": reg is not None,
        "from_key_area": reg.from_key_area if reg is not None else region is not None,
        "registration_id": reg.pk if reg is not None else None,
        "match_status": reg.match_status if reg is not None else None,
        "area_code": reg.area.code if reg is not None else None,
    }


@router.post("", response={200: ReceiptOut, 202: ReceiptOut, **ERROR_RESPONSES})
def register(request: HttpRequest, payload: RegistrationIn) -> Any:
    """Register one arrival (checkpoint device or staff). Answers 202 with the receipt as soon
    as the registration is kept; it is placed at its compound and pushed to the committee
    within seconds. The same `submission_key` again answers 200 with the first receipt."""
    actor = need(request, "travellers.register")
    channel, checkpoint = _origin(actor)
    data = payload.dict()
    key = data.pop("submission_key")
    intake, created = services.accept_registration(
        actor,
        services.Declaration(**data),
        submission_key=key,
        channel=channel,
        checkpoint=checkpoint,
    )
    return Status(202 if created else 200, _receipt(intake, created))


class BatchIn(Schema):
    registrations: list[RegistrationIn] = Field(description="1 to 100 registrations")


class BatchItemOut(Schema):
    index: int
    receipt: ReceiptOut | None
    errors: list[dict[str, Any]]


class BatchOut(Schema):
    accepted: int
    refused: int
    results: list[BatchItemOut]


@router.post("/batch", response={200: BatchOut, **ERROR_RESPONSES})
def register_batch(request: HttpRequest, payload: BatchIn) -> Any:
    """Register several arrivals at once (a car's passengers, a tablet back online). Each
    item answers on its own: the good ones are kept even when others are refused, with
    their errors (field, code, message) and their index."""
    actor = need(request, "travellers.register")
    channel, checkpoint = _origin(actor)
    items = []
    for item in payload.registrations:
        data = item.dict()
        key = data.pop("submission_key")
        items.append((key, services.Declaration(**data)))
    if not items:
        raise InvalidInput.one("registrations", "required", _("Send at least one registration."))
    results = services.accept_registrations(
        actor,
        items,
        channel=channel,
        checkpoint=checkpoint,
    )
    out = []
    for n, (intake, created, error) in enumerate(results):
        out.append(
            {
                "index": n,
                "receipt": _receipt(intake, created) if intake is not None else None,
                "errors": [e.as_dict() for e in error.errors] if error is not None else [],
            }
        )
    accepted = sum(1 for o in out if o["receipt"] is not None)
    return {"accepted": accepted, "refused": len(out) - accepted, "results": out}


@router.get("/receipts/{code}", response={200: ReceiptOut, **ERROR_RESPONSES})
def receipt(request: HttpRequest, code: str) -> Any:
    """Whether a receipt's registration has been placed yet, and where."""
    need(request, "travellers.register")
    intake = selectors.intake_by_receipt(code)
    if intake is None:
        raise OutOfScope()
    return _receipt(intake, False)


@router.get("", response={200: list[RegistrationOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-submitted_at", "-id"), page_size=100)
def registrations(
    request: HttpRequest,
    match_status: str | None = None,
    key_area: bool | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    within: str | None = None,
) -> Any:
    """Registrations in your territory (ID numbers and phones masked unless your role needs
    them); `match_status=unmatched` is the street's queue."""
    actor = need(request, "travellers.view")
    qs = selectors.registrations_visible_to(
        actor, match_status=match_status, key_area=key_area, since=since, until=until
    )
    if within:
        qs = qs.within(territory.area_by_code(actor, within))
    return qs


@router.get("/{registration_id}", response={200: RegistrationOut, **ERROR_RESPONSES})
def registration(request: HttpRequest, registration_id: int) -> Any:
    """One registration (the read is audited)."""
    actor = need(request, "travellers.view")
    reg = selectors.registration(actor, registration_id)
    audit.record_read(actor, reg, fields=["id_number", "phone"])
    return reg


class AssignIn(Schema):
    compound: str = Field(description="The code of the compound the traveller goes to")


@router.post("/{registration_id}/assign", response={200: RegistrationOut, **ERROR_RESPONSES})
def assign(request: HttpRequest, registration_id: int, payload: AssignIn) -> Any:
    """Place an unmatched registration at a compound of your street."""
    actor = need(request, "travellers.assign")
    reg = selectors.registration(actor, registration_id)
    try:
        compound = territory.area_by_code(actor, payload.compound)
    except OutOfScope as exc:
        raise InvalidInput.one(
            "compound", "unknown", _("No compound with this code in your territory.")
        ) from exc
    return services.assign_registration(actor, reg, compound)


class FollowUpOut(Schema):
    id: int
    kind: str
    status: str
    person_name: str
    area_code: str
    area_name: str
    summary: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
    outcome: str

    @staticmethod
    def resolve_person_name(obj: Any) -> str:
        return str(obj.person.name)

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_area_name(obj: Any) -> str:
        return str(obj.area.name)


@followups_router.get("", response={200: list[FollowUpOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("id",), page_size=100)
def followups(request: HttpRequest, status: str | None = "open", kind: str | None = None) -> Any:
    """Follow-up tasks at your committees (open ones by default)."""
    actor = need(request, "followups.view")
    return selectors.followups_visible_to(actor, status=status or None, kind=kind)


class CloseIn(Schema):
    outcome: str
    cancelled: bool = False


@followups_router.post("/{task_id}/close", response={200: FollowUpOut, **ERROR_RESPONSES})
def close(request: HttpRequest, task_id: int, payload: CloseIn) -> Any:
    """Close a follow-up task with what was done."""
    actor = need(request, "followups.close")
    task = selectors.followup(actor, task_id)
    return close_followup(actor, task, outcome=payload.outcome, cancelled=payload.cancelled)
