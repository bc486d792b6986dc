"""Access API: entry passes (A1). List (scoped, cursor-paginated), one pass, issue, revoke; a
resident's request and own passes; the committee's decision. The same services as the pages.

Names are masked everywhere; reading one pass is audited. A person or compound outside the
caller's territory is answered as if it did not exist.
"""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassKind, PassStatus
from gridguard.access.selectors import passes as selectors
from gridguard.access.services import passes as services
from gridguard.core import audit, masking
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.core.clock import SHANGHAI
from gridguard.core.errors import FieldError, InvalidInput

router = Router(tags=["access-passes"])

MAX_GATES = 20


class PassOut(Schema):
    pass_id: str
    kind: str
    status: str
    compound: str
    compound_name: str
    gates: list[str]
    person_id: int
    masked_name: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    reason: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str
    refuse_reason: str
    revoked_at: dt.datetime | None
    revoke_reason: str

    @staticmethod
    def resolve_compound(obj: Any) -> str:
        return str(obj.area.code)

    @staticmethod
    def resolve_compound_name(obj: Any) -> str:
        return str(obj.area.name)

    @staticmethod
    def resolve_gates(obj: Any) -> list[str]:
        return sorted(g.code for g in obj.gates.all())

    @staticmethod
    def resolve_masked_name(obj: Any) -> str:
        return masking.mask_name(obj.person.name)


class PassDetailOut(PassOut):
    credential: str = Field("", description="The stored GG1 credential (active passes only).")

    @staticmethod
    def resolve_credential(obj: Any) -> str:
        return str(obj.credential) if obj.status == PassStatus.ACTIVE else ""


class DisplayOut(Schema):
    pass_id: str
    credential: str = Field(..., description="A GG1 credential that lives at most 120 s.")
    expires_at: dt.datetime
    refresh_s: int


class IssueIn(Schema):
    person_id: int
    kind: str = Field(..., max_length=20)
    compound: str = Field(..., max_length=40, description="The compound's area code.")
    gates: list[str] = Field(default_factory=list, max_length=MAX_GATES)
    valid_from: dt.datetime
    valid_until: dt.datetime
    reason: str = Field("", max_length=255)


class RequestIn(Schema):
    compound: str = Field(..., max_length=40, description="The compound's area code.")
    kind: str = Field(..., max_length=20)
    valid_from: dt.datetime
    valid_until: dt.datetime
    reason: str = Field(..., max_length=255)


class RevokeIn(Schema):
    reason: str = Field(..., max_length=255)


class DecideIn(Schema):
    approve: bool
    refuse_reason: str = Field("", max_length=255)


def _aware(value: dt.datetime) -> dt.datetime:
    """A time sent without an offset is Shanghai time, as people mean it."""
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def _pass(actor: Any, pass_id: str) -> EntryPass:
    return selectors.pass_detail(actor, pass_id[:16])


def _issue_args(actor: Any, body: IssueIn) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    person = selectors.person_for_issue(actor, body.person_id)
    if person is None:
        errors.append(FieldError("person_id", "unknown", _("No such person in your area.")))
    compound = selectors.compound_for_issue(actor, body.compound)
    if compound is None:
        errors.append(
            FieldError("compound", "unknown", _("No compound with this code where you may issue."))
        )
    gates: list[Any] = []
    if compound is not None:
        gates, unknown = selectors.gates_by_code(compound, [g[:40] for g in body.gates])
        errors += [
            FieldError(
                "gates", "unknown", _("%(code)s is not a gate of this compound.") % {"code": c}
            )
            for c in unknown
        ]
    return {"person": person, "compound": compound, "gates": gates}, errors


@router.get("", response={200: list[PassOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-requested_at", "-id"), page_size=50)
def list_passes(request: HttpRequest, status: str = "", kind: str = "", compound: str = "") -> Any:
    """Passes in the caller's territory ("passes.view"), newest request first; filter by
    `status`, `kind` and `compound` (area code). Unknown filter values are refused."""
    actor = need(request, "passes.view")
    errors: list[FieldError] = []
    if status and status not in PassStatus.values:
        errors.append(FieldError("status", "invalid", _("Unknown status.")))
    if kind and kind not in PassKind.values:
        errors.append(FieldError("kind", "invalid", _("Unknown kind of pass.")))
    area = selectors.compound_visible(actor, compound[:40]) if compound else None
    if compound and area is None:
        errors.append(FieldError("compound", "unknown", _("No such compound in your area.")))
    if errors:
        raise InvalidInput(errors)
    return selectors.passes_visible_to(actor, status=status, kind=kind, compound=area)


@router.get("/requests", response={200: list[PassOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("requested_at", "id"), page_size=50)
def list_requests(request: HttpRequest) -> Any:
    """Requested passes waiting for a decision in the caller's territory, oldest first."""
    actor = need(request, "passes.view")
    return selectors.requests_queue(actor)


@router.post("/requests", response={201: PassOut, **ERROR_RESPONSES})
def create_request(request: HttpRequest, body: RequestIn) -> Any:
    """A resident asks for a pass at their own compound ("passes.request")."""
    actor = need(request, "passes.request")
    compound = next(
        (c for c in selectors.compounds_for_request(actor) if c.code == body.compound), None
    )
    if compound is None:
        raise InvalidInput.one(
            "compound", "not_yours", _("You can ask for a pass only at your own compound.")
        )
    entry_pass = services.request_pass(
        actor,
        compound,
        kind=body.kind,
        valid_from=_aware(body.valid_from),
        valid_until=_aware(body.valid_until),
        reason=body.reason,
    )
    return Status(201, entry_pass)


@router.get("/mine", response={200: list[PassOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-requested_at", "-id"), page_size=50)
def list_mine(request: HttpRequest) -> Any:
    """The caller's own passes (the person their login is linked to), newest first."""
    return selectors.own_passes(request.auth)  # type: ignore[attr-defined]


@router.get("/mine/{pass_id}/display", response={200: DisplayOut, **ERROR_RESPONSES})
def my_display(request: HttpRequest, pass_id: str) -> Any:
    """A fresh short-lived credential of one's own active pass, to show as a QR code; ask
    again every `refresh_s` seconds. 422 when the pass is not active now."""
    entry_pass = selectors.own_pass(request.auth, pass_id[:16])  # type: ignore[attr-defined]
    text = services.display_credential(entry_pass)
    _kid, claims = credential.decode_unverified(text)
    return {
        "pass_id": entry_pass.pass_id,
        "credential": text,
        "expires_at": dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC),
        "refresh_s": services.display_refresh_seconds(),
    }


@router.post("", response={201: PassDetailOut, **ERROR_RESPONSES})
def issue(request: HttpRequest, body: IssueIn) -> Any:
    """Issue an active, signed pass (committee workers, "passes.issue" at the compound)."""
    actor = need(request, "passes.issue")
    args, errors = _issue_args(actor, body)
    if errors:
        raise InvalidInput(errors)
    entry_pass = services.issue_pass(
        actor,
        args["person"],
        args["compound"],
        kind=body.kind,
        valid_from=_aware(body.valid_from),
        valid_until=_aware(body.valid_until),
        gates=args["gates"],
        reason=body.reason,
    )
    return Status(201, entry_pass)


@router.get("/{pass_id}", response={200: PassDetailOut, **ERROR_RESPONSES})
def get_pass(request: HttpRequest, pass_id: str) -> Any:
    """One pass of the caller's territory, with its credential when active (audited)."""
    actor = need(request, "passes.view")
    entry_pass = _pass(actor, pass_id)
    audit.record_read(actor, entry_pass.person, fields=["entry_pass"])
    return entry_pass


@router.post("/{pass_id}/revoke", response={200: PassDetailOut, **ERROR_RESPONSES})
def revoke(request: HttpRequest, pass_id: str, body: RevokeIn) -> Any:
    """Revoke an active pass, with a reason. Revoking it again changes nothing."""
    actor = need(request, "passes.issue")
    return services.revoke_pass(actor, _pass(actor, pass_id), body.reason)


@router.post("/{pass_id}/decide", response={200: PassDetailOut, **ERROR_RESPONSES})
def decide(request: HttpRequest, pass_id: str, body: DecideIn) -> Any:
    """Approve (`approve: true`) or refuse with a `refuse_reason` a requested pass."""
    actor = need(request, "passes.issue")
    return services.decide_request(
        actor, _pass(actor, pass_id), approve=body.approve, refuse_reason=body.refuse_reason
    )
