"""Health API: home observation. Orders (scoped list, audited detail), check-ins from wristband
gateways and workers (idempotent per slot for a repeated device reading), open alerts and their
acknowledgement."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.core import audit, masking
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.errors import InvalidInput
from gridguard.health.models import AlertKind, CheckInSource, OrderStatus
from gridguard.health.selectors import observation as selectors
from gridguard.health.services import observation as services

router = Router(tags=["health-observation"])


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class CheckInOut(Schema):
    id: int
    order_id: int
    slot_date: dt.date
    slot_index: int
    temperature: float
    source: str
    device: str
    symptoms: list[str]
    reported_at: dt.datetime


class AlertOut(Schema):
    id: int
    order_id: int
    kind: str
    slot_key: str
    level: int
    temperature: float | None
    detail: str
    area_code: str
    raised_at: dt.datetime
    escalated_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    ack_note: str

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)


class OrderOut(Schema):
    id: int
    person_id: int
    person_name: str
    id_number: str
    order_type: str
    status: str
    area_code: str
    place_address: str
    starts_on: dt.date
    ends_on: dt.date
    notice_served_at: dt.datetime | None
    commitment_signed_at: dt.datetime | None
    released_at: dt.datetime | None

    @staticmethod
    def resolve_person_name(obj: Any, context: Any) -> str:
        actor = _actor(context["request"])
        name = obj.person.name
        return str(name if actor.can("people.view") else masking.mask_name(name))

    @staticmethod
    def resolve_id_number(obj: Any, context: Any) -> str:
        return masking.id_number_for(_actor(context["request"]), obj.person.id_number)

    @staticmethod
    def resolve_order_type(obj: Any) -> str:
        return str(obj.order_type.code)

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)


class OrderDetailOut(OrderOut):
    reason: str
    release_note: str
    checkins: list[CheckInOut]
    alerts: list[AlertOut]

    @staticmethod
    def resolve_checkins(obj: Any) -> list[Any]:
        return list(selectors.checkins_of(obj))

    @staticmethod
    def resolve_alerts(obj: Any) -> list[Any]:
        return list(selectors.alerts_of(obj).select_related("area"))


class CheckInIn(Schema):
    order_id: int | None = Field(None, ge=1, le=2**62)
    id_number: str | None = Field(None, max_length=32)
    temperature: Decimal = Field(..., max_digits=8, decimal_places=3)
    at: dt.datetime | None = None
    device: str = Field("", max_length=40)
    symptoms: list[str] = Field(default_factory=list, max_length=10)


class AckIn(Schema):
    note: str = Field(..., max_length=255)


@router.get("/orders", response={200: list[OrderOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-id",), page_size=50)
def list_orders(
    request: HttpRequest, status: OrderStatus | None = None, area: str | None = None
) -> Any:
    """Observation orders in the caller's territory; `status`, `area` (a code) narrow it."""
    actor = need(request, "observation.view")
    return selectors.orders_visible_to(actor, status=status, area_code=area)


@router.get("/orders/{order_id}", response={200: OrderDetailOut, **ERROR_RESPONSES})
def get_order(request: HttpRequest, order_id: int) -> Any:
    """One order with its check-ins and alerts (the read is audited)."""
    actor = need(request, "observation.view")
    order = selectors.order_for(actor, order_id)
    audit.record_read(actor, order, fields=["name", "id_number", "temperatures"])
    return order


@router.post("/checkins", response={200: CheckInOut, **ERROR_RESPONSES})
def post_checkin(request: HttpRequest, payload: CheckInIn) -> Any:
    """A temperature for the slot its time falls in, by order id or the person's ID number.
    A wristband gateway's repeat of the same reading returns the stored check-in; a different
    reading for a reported slot is a 400 "duplicate"."""
    actor = need(request, "observation.device_checkin", "observation.checkin")
    if payload.order_id is not None:
        order = selectors.checkin_order(actor, payload.order_id)
    elif payload.id_number:
        order = selectors.order_by_id_number(actor, payload.id_number)
    else:
        raise InvalidInput.one("order", "required", _("Give the order id or the ID number."))
    device_actor = actor.can("observation.device_checkin")
    return services.check_in(
        actor,
        order,
        payload.temperature,
        CheckInSource.DEVICE if device_actor or payload.device else CheckInSource.VISIT,
        at=payload.at,
        symptoms=payload.symptoms,
        device=payload.device,
        repeat_ok=True,
    )


@router.get("/alerts", response={200: list[AlertOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-id",), page_size=50)
def list_alerts(request: HttpRequest, kind: AlertKind | None = None) -> Any:
    """Open (unacknowledged) alerts in the caller's territory."""
    actor = need(request, "observation.view")
    return selectors.alerts_visible_to(actor, kind=kind)


@router.post("/alerts/{alert_id}/ack", response={200: AlertOut, **ERROR_RESPONSES})
def ack_alert(request: HttpRequest, alert_id: int, payload: AckIn) -> Any:
    """Acknowledge an alert, saying what was done."""
    actor = need(request, "observation.alerts")
    alert = selectors.alert_for(actor, alert_id)
    return services.acknowledge(actor, alert, payload.note)
