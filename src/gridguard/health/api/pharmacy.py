"""Pharmacies: fever-medicine purchases (P5) and mask reservations (P6).

Purchases are posted by a pharmacist's session (no device-token purpose may record them).
`GET /outlets/open` is public to any logged-in user: which pharmacies take reservations and how
many masks are left. A resident reserves for themself (`POST /reservations`); the outlet's
pharmacist hands masks over with the code (`POST /reservations/{code}/pickup`).
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.accounts.models import User
from gridguard.core import audit, clock, masking
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.health.selectors import pharmacy as selectors
from gridguard.health.services import pharmacy as services

router = Router(tags=["health-pharmacy"])


def _resident(request: HttpRequest) -> Any:
    """The logged-in user's own person record (residents reserve for themselves)."""
    user = request.auth  # type: ignore[attr-defined]
    person = selectors.person_of(user) if isinstance(user, User) else None
    if person is None:
        raise NotPermitted(_("Your account is not linked to a resident record."))
    return user, person


class PurchaseIn(Schema):
    pharmacy: str = Field(description="The pharmacy's area code")
    submission_key: str = Field(description="The form's own id (a retry reuses it)")
    id_type: str = "resident_id"
    id_number: str
    name: str
    phone: str
    medicine: str
    quantity: int = 1
    temperature: float | None = Field(None, description="°C, 34 to 42.5, if taken")
    buyer_address: str = ""


class PurchaseOut(Schema):
    id: int
    pharmacy_code: str
    pharmacy_name: str
    name: str
    id_type: str
    id_number: str
    phone: str
    medicine: str
    quantity: int
    temperature: float | None
    buyer_address: str
    bought_at: dt.datetime

    @staticmethod
    def resolve_pharmacy_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_pharmacy_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_name(obj: Any, context: Any) -> str:
        actor = context["request"].auth
        if actor.can("people.view") or actor.can("pharmacy.record"):
            return str(obj.name)
        return masking.mask_name(obj.name)

    @staticmethod
    def resolve_id_number(obj: Any, context: Any) -> str:
        return masking.id_number_for(context["request"].auth, obj.id_number)

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return masking.phone_for(context["request"].auth, obj.phone)

    @staticmethod
    def resolve_temperature(obj: Any) -> float | None:
        return float(obj.temperature) if obj.temperature is not None else None


@router.post("/purchases", response={200: PurchaseOut, **ERROR_RESPONSES})
def register_purchase(request: HttpRequest, payload: PurchaseIn) -> Any:
    """Register a fever-medicine purchase at your pharmacy; the same `submission_key` again
    answers with the first record."""
    actor = need(request, "pharmacy.record")
    pharmacy = selectors.pharmacy_by_code(actor, payload.pharmacy, "pharmacy.record")
    data = payload.model_dump()
    data.pop("pharmacy")
    return services.register_purchase(actor, pharmacy, **data)


@router.get("/purchases", response={200: list[PurchaseOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-bought_at", "-id"), page_size=100)
def purchases(request: HttpRequest, day: dt.date | None = None) -> Any:
    """Purchases at pharmacies in your territory, newest first; `day` narrows to one day."""
    actor = need(request, "pharmacy.view")
    return selectors.purchases_visible_to(actor, day=day)


@router.get("/purchases/{purchase_id}", response={200: PurchaseOut, **ERROR_RESPONSES})
def purchase(request: HttpRequest, purchase_id: int) -> Any:
    """One purchase (the read is audited)."""
    actor = need(request, "pharmacy.view")
    found = selectors.purchase_for(actor, purchase_id)
    audit.record_read(actor, found, fields=["name", "id_number", "phone"])
    return found


class OutletOut(Schema):
    id: int
    pharmacy_code: str
    pharmacy_name: str
    address: str
    daily_quota: int
    per_person_limit: int
    period_days: int
    active: bool
    day: dt.date
    remaining: int

    @staticmethod
    def resolve_pharmacy_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_pharmacy_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_address(obj: Any) -> str:
        return str(obj.area.address or "")

    @staticmethod
    def resolve_day(obj: Any) -> dt.date:
        return getattr(obj, "day", None) or clock.today()

    @staticmethod
    def resolve_remaining(obj: Any) -> int:
        found = getattr(obj, "remaining", None)
        return int(found) if found is not None else selectors.remaining(obj, clock.today())


@router.get("/outlets/open", response={200: list[OutletOut], **ERROR_RESPONSES})
def open_outlets(request: HttpRequest, day: dt.date | None = None) -> Any:
    """Pharmacies taking mask reservations, with what is left on `day` (default today)."""
    if not getattr(request.auth, "is_authenticated", False):  # type: ignore[attr-defined]
        raise NotPermitted()
    return selectors.open_outlets(day)


@router.get("/outlets", response={200: list[OutletOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("id",), page_size=100)
def outlets(request: HttpRequest) -> Any:
    """Mask outlets in your territory (open or not), with today's remaining stock."""
    actor = need(request, "pharmacy.view")
    return selectors.outlets_visible_to(actor)


class OutletIn(Schema):
    daily_quota: int = Field(ge=0, le=100_000)
    per_person_limit: int = Field(5, ge=1, le=1000)
    period_days: int = Field(7, ge=1, le=90)
    active: bool = True


@router.put("/outlets/{pharmacy_code}", response={200: OutletOut, **ERROR_RESPONSES})
def set_outlet(request: HttpRequest, pharmacy_code: str, payload: OutletIn) -> Any:
    """Open or change your pharmacy's mask outlet."""
    actor = need(request, "masks.manage")
    pharmacy = selectors.pharmacy_by_code(actor, pharmacy_code, "masks.manage")
    outlet = services.set_outlet(actor, pharmacy, **payload.model_dump())
    return outlet


class StockOut(Schema):
    outlet_id: int
    pharmacy_code: str
    day: dt.date
    quota: int
    reserved: int
    picked_up: int

    @staticmethod
    def resolve_pharmacy_code(obj: Any) -> str:
        return str(obj.area.code)


@router.get("/stock", response={200: list[StockOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("day", "id"), page_size=100)
def stock(request: HttpRequest, day: dt.date | None = None) -> Any:
    """Masks per outlet and day in your territory (`day` narrows to one day)."""
    actor = need(request, "pharmacy.view")
    return selectors.quota_days_visible_to(actor, day)


class ReservationIn(Schema):
    outlet_id: int
    day: dt.date | None = Field(None, description="Pickup day (default today)")
    quantity: int
    submission_key: str = Field(description="The form's own id (a retry reuses it)")


class ReservationOut(Schema):
    code: str
    outlet_id: int
    pharmacy_code: str
    pharmacy_name: str
    day: dt.date
    quantity: int
    status: str
    reserved_at: dt.datetime
    picked_up_at: dt.datetime | None

    @staticmethod
    def resolve_pharmacy_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_pharmacy_name(obj: Any) -> str:
        return str(obj.area.name)


@router.post("/reservations", response={200: ReservationOut, **ERROR_RESPONSES})
def reserve(request: HttpRequest, payload: ReservationIn) -> Any:
    """Reserve masks for yourself; answers with the pickup code. Refusals: `sold_out`,
    `limit` (your masks in the outlet's period), `closed`, `past`, `too_far`."""
    user, person = _resident(request)
    outlet = selectors.open_outlet(payload.outlet_id)
    return services.reserve_masks(
        user,
        person,
        outlet,
        payload.day or clock.today(),
        payload.quantity,
        payload.submission_key,
    )


@router.get("/reservations/mine", response={200: list[ReservationOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-day", "-id"), page_size=100)
def my_reservations(request: HttpRequest) -> Any:
    """Your own reservations and their codes."""
    _user, _person = _resident(request)
    return selectors.own_reservations(request.auth)  # type: ignore[attr-defined]


@router.get("/reservations", response={200: list[ReservationOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-reserved_at", "-id"), page_size=100)
def reservations(request: HttpRequest, day: dt.date | None = None) -> Any:
    """Reservations at outlets in your territory."""
    actor = need(request, "pharmacy.view")
    return selectors.reservations_visible_to(actor, day=day)


@router.post("/reservations/{code}/pickup", response={200: ReservationOut, **ERROR_RESPONSES})
def pickup(request: HttpRequest, code: str) -> Any:
    """Hand over the masks of a reservation (your outlet, its day, once)."""
    actor = need(request, "masks.pickup")
    return services.pickup(actor, code)


@router.post("/reservations/{code}/cancel", response={200: ReservationOut, **ERROR_RESPONSES})
def cancel(request: HttpRequest, code: str) -> Any:
    """Cancel your reservation (or, as the outlet's staff, any of its reservations)."""
    actor = request.auth  # type: ignore[attr-defined]
    code = services.normalise_code(code)
    found = None
    if isinstance(actor, User) and selectors.person_of(actor) is not None:
        found = selectors.own_reservations(actor).filter(code=code).first()
    if found is None and actor.can("masks.manage"):
        found = selectors.reservations_visible_to(actor).filter(code=code).first()
    if found is None:
        raise OutOfScope()
    return services.cancel(actor, found)
