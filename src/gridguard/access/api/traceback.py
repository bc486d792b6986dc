"""Access API: trace-back (A4). Run one (with a reason, audited), list those of your
territory, read one with its contacts (masked by role, the read audited, contacts
cursor-paginated), and open follow-up tasks for the committees of the contacts."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import base64
import binascii
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.access.selectors import traceback as selectors
from gridguard.access.services import traceback as services
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.errors import FieldError, InvalidInput

router = Router(tags=["access-traceback"])
PERMISSION = services.PERMISSION


class TraceBackIn(Schema):
    person_id: int | None = Field(None, ge=1, le=2**62, description="The person's record id")
    id_number: str | None = Field(None, max_length=32, description="Or their full ID number")
    pass_id: str | None = Field(None, max_length=16, description="Or a pass number")
    window_start: dt.datetime
    window_end: dt.datetime
    gap_minutes: int = Field(15, description="How close in time a scan at the same gate counts")
    reason: str = Field(..., max_length=255)


class TraceBackFields(Schema):
    id: int
    person_id: int
    pass_id: str | None
    area_code: str
    window_start: dt.datetime
    window_end: dt.datetime
    gap_minutes: int
    reason: str
    counts: dict[str, int]
    requested_at: dt.datetime
    requested_by: str | None


class TraceBackOut(TraceBackFields):
    @staticmethod
    def resolve_pass_id(obj: Any) -> str | None:
        return obj.entry_pass.pass_id if obj.entry_pass_id else None

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_requested_by(obj: Any) -> str | None:
        return str(obj.requested_by) if obj.requested_by_id else None


class ContactOut(Schema):
    why: str = Field(description="gate, building or visitor")
    person_id: int | None
    name: str
    id_number: str
    phone: str
    area_code: str
    area_name: str
    committee_code: str
    committee_name: str
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    gates: list[str]
    encounters: int
    same_household: bool
    in_scope: bool


class TraceBackDetailOut(TraceBackFields):
    contacts: list[ContactOut]
    total: int
    next_cursor: str | None


class FollowUpsIn(Schema):
    person_ids: list[int] | None = Field(
        None, max_length=10_000, description="Contacts to follow up (all known ones if absent)"
    )
    sections: list[str] | None = Field(
        None, max_length=3, description="Or only the contacts of: gate, building, visitor"
    )


class TaskOut(Schema):
    id: int
    person_id: int
    area_code: str
    source: str
    status: str

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)


class FollowUpsOut(Schema):
    traceback_id: int
    tasks: list[TaskOut]


def _subject(actor: Any, payload: TraceBackIn) -> tuple[Any, Any]:
    person_ref = str(payload.person_id) if payload.person_id else (payload.id_number or "")
    person, entry_pass = selectors.find_subject(
        actor, person_ref=person_ref, pass_ref=payload.pass_id or ""
    )
    errors = []
    if person_ref and person is None:
        errors.append(FieldError("person_id", "not_found", _("No such person in your territory.")))
    if payload.pass_id and entry_pass is None:
        errors.append(FieldError("pass_id", "not_found", _("No such pass in your territory.")))
    if errors:
        raise InvalidInput(errors)
    return person, entry_pass


@router.post("", response={200: TraceBackOut, **ERROR_RESPONSES})
def run(request: HttpRequest, payload: TraceBackIn) -> Any:
    """Run a trace-back for a person (record id or ID number) or a pass, over a window of at
    most 28 days, with the reason for it (audited). Read the contacts with GET /{id}."""
    actor = need(request, PERMISSION)
    person, entry_pass = _subject(actor, payload)
    tb, _result = services.run_traceback(
        actor,
        person=person,
        entry_pass=entry_pass,
        window_start=payload.window_start,
        window_end=payload.window_end,
        gap_minutes=payload.gap_minutes,
        reason=payload.reason,
    )
    return tb


@router.get("", response={200: list[TraceBackOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-requested_at", "-id"), page_size=50)
def list_tracebacks(request: HttpRequest) -> Any:
    """Trace-backs of persons in your territory, newest first."""
    actor = need(request, PERMISSION)
    return selectors.tracebacks_visible_to(actor)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:")))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput.one("cursor", "invalid", _("Invalid cursor.")) from exc


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


class ContactsQuery(Schema):
    cursor: str | None = Field(None, max_length=64)
    limit: int = Field(100, ge=1, le=500)


@router.get("/{traceback_id}", response={200: TraceBackDetailOut, **ERROR_RESPONSES})
def get_traceback(request: HttpRequest, traceback_id: int, page: Query[ContactsQuery]) -> Any:
    """One trace-back with its contacts (gate contacts, then the same building, then the
    visitors), `limit` at a time from `cursor`; identity numbers and phones masked by role,
    contacts living outside your territory masked whatever the role. Each read is audited."""
    actor = need(request, PERMISSION)
    tb = selectors.traceback_for(actor, traceback_id)
    contacts = selectors.trace_of(tb).contacts()
    start = _offset(page.cursor)
    shown = contacts[start : start + page.limit]
    services.record_read(actor, tb, shown)
    end = start + len(shown)
    out = TraceBackOut.from_orm(tb).dict()  # resolved once; the detail schema has no resolvers
    out.update(
        contacts=[selectors.present(actor, c) for c in shown],
        total=len(contacts),
        next_cursor=_cursor(end) if end < len(contacts) else None,
    )
    return out


@router.post("/{traceback_id}/followups", response={200: FollowUpsOut, **ERROR_RESPONSES})
def followups(request: HttpRequest, traceback_id: int, payload: FollowUpsIn) -> Any:
    """Open a follow-up task at the committee of each contact named (or of every known
    contact, or those of `sections`); asking again opens nothing twice."""
    actor = need(request, PERMISSION)
    tb = selectors.traceback_for(actor, traceback_id)
    sections = payload.sections or list(selectors.SECTIONS)
    unknown = [s for s in sections if s not in selectors.SECTIONS]
    if unknown:
        raise InvalidInput.one("sections", "invalid", _("Sections: gate, building or visitor."))
    tasks = services.open_traceback_followups(actor, tb, payload.person_ids, sections=sections)
    return {"traceback_id": tb.pk, "tasks": tasks}
