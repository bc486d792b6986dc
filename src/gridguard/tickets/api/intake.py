"""The ticket API: hotline connectors' intake and reads of cases (under /api/v1/tickets).

`POST /intake` takes a batch of 1 to 1000 tickets from a hotline connector (a device token of
purpose `hotline_connector`) or a hotline operator's session. Each row is checked on its own:
the answer is 200 with one result per row, in order (`line` is the row's 1-based position),
carrying the ticket and case numbers or the row's errors; the good rows land even when others
are bad. Only a body whose shape is wrong (not a list, more than 1000 rows, a field of the
wrong type) answers 422, and then nothing is written. The same `channel_ref` again answers
with the ticket already there (`created: false`).

`GET /cases` lists the cases in the caller's territory, newest report first, cursor-paginated;
`GET /cases/{number}` gives one case with its tickets (reporters' phones masked unless the role
reveals them; the read is audited). A case outside the caller's territory answers 404.
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import CursorPagination, paginate

from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.errors import InvalidInput
from gridguard.tickets import taxonomy
from gridguard.tickets.models import Case, CaseStatus
from gridguard.tickets.selectors import cases as selectors
from gridguard.tickets.services import intake

router = Router(tags=["tickets"])


class TicketIn(Schema):
    # Lengths and values are checked per row by the intake (so one bad row does not refuse
    # the batch); the schema only fixes the shape.
    channel: str = Field(description="12345, 12319, 12320, web or opinion")
    channel_ref: str = Field("", description="The channel's own reference number")
    received_at: str | None = Field(
        None, description="ISO 8601; naive means Shanghai time; default now; not in the future"
    )
    text: str = Field(description="What the caller reported (4 to 2000 characters)")
    place: str = Field("", description="Where, as the caller said it")
    reporter_name: str = ""
    reporter_phone: str = ""


class IntakeIn(Schema):
    tickets: list[TicketIn] = Field(min_length=1, max_length=intake.MAX_BATCH)


class RowError(Schema):
    field: str | None
    code: str
    message: str


class RowResult(Schema):
    line: int
    ticket: str | None
    case: str | None
    created: bool
    errors: list[RowError]


class IntakeOut(Schema):
    results: list[RowResult]
    created: int
    repeated: int
    rejected: int


class CaseOut(Schema):
    number: str
    subclass: str
    subclass_name: str
    urgency: str
    status: str
    place: str
    place_matched: bool
    area_code: str
    area_name: str
    department: str | None
    opened_at: dt.datetime
    last_reported_at: dt.datetime
    due_at: dt.datetime | None
    ticket_count: int

    @staticmethod
    def resolve_subclass_name(obj: Any) -> str:
        sub = taxonomy.subclass(obj.subclass)
        return sub.label() if sub is not None else ""

    @staticmethod
    def resolve_place(obj: Any) -> str:
        return str(obj.place_text)

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_area_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_department(obj: Any) -> str | None:
        return str(obj.department.name) if obj.department is not None else None


class CaseTicketOut(Schema):
    number: str
    channel: str
    channel_ref: str
    received_at: dt.datetime
    text: str
    place: str
    place_matched: bool
    reporter_name: str
    reporter_phone: str = Field(description="Masked unless your role reveals phones")
    subclass: str
    confidence: float
    merge_score: float | None


class CaseDetailOut(CaseOut):
    reply: str
    replied_at: dt.datetime | None
    closed_at: dt.datetime | None
    tickets: list[CaseTicketOut]

    @staticmethod
    def resolve_tickets(obj: Any) -> list[dict[str, Any]]:
        # Set by the view from the selector (the case's related manager of the same name
        # would bypass its masking and its audit).
        return list(obj.tickets_out)


def _row(outcome: intake.Outcome) -> dict[str, Any]:
    ticket = outcome.ticket
    return {
        "line": outcome.line,
        "ticket": ticket.number if ticket is not None else None,
        "case": ticket.case.number if ticket is not None else None,
        "created": outcome.created,
        "errors": [
            {"field": e.field, "code": e.code, "message": e.message} for e in outcome.errors
        ],
    }


@router.post("/intake", response={200: IntakeOut, **ERROR_RESPONSES})
def receive(request: HttpRequest, payload: IntakeIn) -> Any:
    """Take a batch of tickets in (1 to 1000): one result per row, in order. Bad rows carry
    their errors and the good rows land; the same `channel_ref` again answers with the ticket
    already there."""
    actor = need(request, "tickets.intake")
    rows = [t.model_dump() for t in payload.tickets]
    outcomes = intake.receive_many(actor, rows)
    results = [_row(o) for o in outcomes]
    return {
        "results": results,
        "created": sum(1 for o in outcomes if o.created),
        "repeated": sum(1 for o in outcomes if o.ticket is not None and not o.created),
        "rejected": sum(1 for o in outcomes if o.errors),
    }


def _check_filters(status: str | None, subclass: str | None) -> None:
    """Filters naming nothing that exists are bad input (422), not an empty page."""
    if status is not None and status not in CaseStatus.values:
        raise InvalidInput.one(
            "status",
            "unknown",
            _("Choose the status: %(all)s.") % {"all": ", ".join(CaseStatus.values)},
        )
    if subclass is not None and taxonomy.subclass(subclass) is None:
        raise InvalidInput.one("subclass", "unknown", _("Unknown subclass (S01 to S32)."))


@router.get("/cases", response={200: list[CaseOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-last_reported_at", "-id"), page_size=100)
def cases(
    request: HttpRequest,
    status: str | None = Query(None, max_length=12, description="triage, dispatched, …"),
    subclass: str | None = Query(None, max_length=3, description="S01 to S32"),
) -> Any:
    """Cases in your territory, newest report first."""
    actor = need(request, "tickets.view")
    _check_filters(status, subclass)
    qs = selectors.cases_visible_to(actor)
    if status is not None:
        qs = qs.filter(status=status)
    if subclass is not None:
        qs = qs.filter(subclass=subclass)
    return qs


@router.get("/cases/{number}", response={200: CaseDetailOut, **ERROR_RESPONSES})
def case(request: HttpRequest, number: str) -> Any:
    """One case with its tickets; reporters' phones are masked unless your role reveals them,
    and the read is audited."""
    actor = need(request, "tickets.view")
    try:
        found = selectors.case_for(actor, number)
    except Case.DoesNotExist as exc:
        raise HttpError(404, _("There is no case with this number.")) from exc
    rows = selectors.tickets_of(actor, found)
    found.tickets_out = [  # type: ignore[attr-defined]
        {
            "number": r["ticket"].number,
            "channel": r["ticket"].channel,
            "channel_ref": r["ticket"].channel_ref,
            "received_at": r["ticket"].received_at,
            "text": r["ticket"].text,
            "place": r["ticket"].place_text,
            "place_matched": r["ticket"].place_matched,
            "reporter_name": r["ticket"].reporter_name,
            "reporter_phone": r["phone"],
            "subclass": r["ticket"].subclass,
            "confidence": r["ticket"].confidence,
            "merge_score": r["ticket"].merge_score,
        }
        for r in rows
    ]
    return found
