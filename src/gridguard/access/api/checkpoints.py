"""Access API: checkpoints, the checks made there, and their daily counts (A3).

`POST /{code}/checks` is the device path: a checkpoint tablet with a `checkpoint_device` token
(or an official's session) records a vehicle or a traveller on foot, with the registration
receipts it scanned. Its optional `submission_key` is the device's own id for the submission: the
same key again (a resend after a timeout) answers 200 with the first check and writes nothing;
the same key at another checkpoint is refused (422, field `submission_key`).

`GET /counts` gives the daily counts per checkpoint and per street for a date range, and the
range's totals ("154 checkpoints checked 22,278 vehicles"). A checkpoint outside the caller's
territory answers 404.
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.access.selectors import checkpoints as selectors
from gridguard.access.services import checkpoints as services
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.territory import selectors as territory

router = Router(tags=["access-checkpoints"])


class CheckpointOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    active: bool
    street_code: str | None
    street_name: str | None

    @staticmethod
    def resolve_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_street_code(obj: Any) -> str | None:
        parent = obj.area.parent
        return str(parent.code) if parent is not None else None

    @staticmethod
    def resolve_street_name(obj: Any) -> str | None:
        parent = obj.area.parent
        return str(parent.name) if parent is not None else None


class CheckpointIn(Schema):
    kind: str = Field(description="road, rail, air or port")
    active: bool = True


class CheckIn(Schema):
    plate: str = Field("", description="Blank for a traveller on foot", max_length=40)
    origin_province: str = Field(
        "", description="湖北省 or 湖北; blank: the receipt's", max_length=40
    )
    origin_city: str = Field("", max_length=100)
    passengers: int = Field(1, description="Travellers checked, the driver included")
    fever_count: int = 0
    outcome: str = Field("cleared", description="cleared, referred or turned_back")
    note: str = Field("", max_length=600)
    receipt_codes: list[str] = Field(
        default_factory=list,
        description="Registration receipt codes scanned from the travellers' phones",
        max_length=200,
    )
    checked_at: dt.datetime | None = Field(None, description="Default now; not in the future")
    submission_key: str | None = Field(
        None,
        max_length=64,
        description="The device's own id for this submission; a retry reuses it",
    )


class CheckOut(Schema):
    id: int
    checkpoint_code: str
    checked_at: dt.datetime
    plate: str
    origin_province: str
    origin_city: str
    passengers: int
    fever_count: int
    outcome: str
    note: str
    receipt_codes: list[str]

    @staticmethod
    def resolve_checkpoint_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_receipt_codes(obj: Any) -> list[str]:
        return sorted(r.receipt_code for r in obj.registrations.all())


class CountsRow(Schema):
    checks: int
    vehicles: int
    travellers: int
    fevers: int
    turned_back: int


class TotalsOut(CountsRow):
    checkpoints: int


class CheckpointDayOut(CountsRow):
    day: dt.date
    checkpoint_code: str
    checkpoint_name: str


class StreetDayOut(CountsRow):
    day: dt.date
    street_code: str | None
    street_name: str | None
    street_kind: str | None
    checkpoints: int


class CountsOut(Schema):
    since: dt.date = Field(alias="from")
    until: dt.date = Field(alias="to")
    area: str | None
    totals: TotalsOut
    per_street: list[StreetDayOut]
    per_checkpoint: list[CheckpointDayOut]


@router.get("/", response={200: list[CheckpointOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("id",), page_size=100)
def checkpoints(request: HttpRequest) -> Any:
    """Checkpoints in your territory."""
    actor = need(request, "checkpoint.view", "checkpoint.record")
    return selectors.checkpoints_visible_to(actor)


_FROM = Query(None, alias="from", description="First day (default: six days before `to`)")
_TO = Query(None, alias="to", description="Last day (default: today)")


@router.get("/counts", response={200: CountsOut, **ERROR_RESPONSES}, by_alias=True)
def counts(
    request: HttpRequest,
    since: dt.date | None = _FROM,
    until: dt.date | None = _TO,
    area: str | None = Query(None, max_length=40, description="Only under this area code"),
) -> Any:
    """Daily counts (Shanghai days) per street and per checkpoint, and the range's totals:
    checks, vehicles, travellers, travellers with a fever, checks turned back."""
    actor = need(request, "checkpoint.view")
    since, until = selectors.check_range(since, until)
    within = territory.area_by_code(actor, area) if area else None
    return {
        "from": since,
        "to": until,
        "area": within.code if within is not None else None,
        "totals": selectors.totals(actor, since, until, within=within),
        "per_street": selectors.daily_counts_per_street(actor, since, until, within=within),
        "per_checkpoint": selectors.daily_counts_per_checkpoint(actor, since, until, within=within),
    }


@router.put("/{code}", response={200: CheckpointOut, **ERROR_RESPONSES})
def set_up(request: HttpRequest, code: str, payload: CheckpointIn) -> Any:
    """Set up (or change) the checkpoint at the territory place with this code."""
    actor = need(request, "checkpoint.manage")
    place = selectors.checkpoint_place(actor, code)
    return services.set_up_checkpoint(actor, place, **payload.model_dump())


@router.post("/{code}/checks", response={200: CheckOut, **ERROR_RESPONSES})
def record_check(request: HttpRequest, code: str, payload: CheckIn) -> Any:
    """Record a check at your checkpoint; the receipts scanned link the travellers'
    registrations (an unknown code is an error naming it, and nothing is written). The same
    `submission_key` again answers with the first check."""
    actor = need(request, "checkpoint.record")
    checkpoint = selectors.checkpoint_by_code(actor, code, "checkpoint.record")
    return services.record_check(actor, checkpoint, **payload.model_dump())


@router.get("/{code}/checks", response={200: list[CheckOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-checked_at", "-id"), page_size=100)
def checks(request: HttpRequest, code: str, date: dt.date | None = None) -> Any:
    """Checks at a checkpoint, newest first; `date` narrows to one Shanghai day."""
    actor = need(request, "checkpoint.view", "checkpoint.record")
    permission = "checkpoint.view" if actor.can("checkpoint.view") else "checkpoint.record"
    checkpoint = selectors.checkpoint_by_code(actor, code, permission)
    return selectors.checks_visible_to(actor, checkpoint=checkpoint, day=date).prefetch_related(
        "registrations"
    )
