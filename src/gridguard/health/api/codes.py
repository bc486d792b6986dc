"""Health API: codes. A person's code by id (staff, scoped) or by identity document (gates and
integrations with "healthcode.view"); the rules (system administrators)."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.core import audit
from gridguard.core.api import ERROR_RESPONSES
from gridguard.core.errors import NotPermitted
from gridguard.health.models import HealthCode
from gridguard.health.selectors import codes as selectors
from gridguard.health.services import codes as services
from gridguard.people.identity import check_identity
from gridguard.people.models import IdType, Person

router = Router(tags=["health-codes"])


class ReasonOut(Schema):
    rule: str
    colour: str = ""
    reason: str
    reason_en: str = ""
    until: str | None = None


class CodeOut(Schema):
    person_id: int
    colour: str
    reasons: list[ReasonOut]
    computed_at: dt.datetime
    expires_at: dt.datetime


class LookupIn(Schema):
    id_type: IdType = IdType.RESIDENT_ID
    id_number: str = Field(..., max_length=32)


class RuleOut(Schema):
    code: str
    condition: str
    params: dict[str, Any]
    colour: str
    reason: str
    reason_en: str
    priority: int
    valid_hours: int
    active: bool
    updated_at: dt.datetime


class RuleIn(Schema):
    condition: str | None = None
    params: dict[str, Any] | None = None
    colour: str | None = None
    reason: str | None = None
    reason_en: str | None = None
    priority: int | None = None
    valid_hours: int | None = None
    active: bool | None = None


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _answer(person: Person, code: HealthCode) -> dict[str, Any]:
    return {
        "person_id": person.pk,
        "colour": code.colour,
        "reasons": code.reasons,
        "computed_at": code.computed_at,
        "expires_at": code.expires_at,
    }


@router.get("/rules", response={200: list[RuleOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("priority", "code"), page_size=100)
def list_rules(request: HttpRequest) -> Any:
    """The health-code rules, in priority order (system administrators)."""
    return selectors.rules(_actor(request))


@router.put("/rules/{code}", response={200: RuleOut, **ERROR_RESPONSES})
def put_rule(request: HttpRequest, code: str, body: RuleIn) -> Any:
    """Change a rule (only the fields given); every code is recomputed afterwards."""
    actor = _actor(request)
    if not actor.can("healthcode.rules"):
        raise NotPermitted()
    rule = selectors.rule_by_code(actor, code)
    fields = {k: v for k, v in body.dict().items() if v is not None}
    return services.update_rule(actor, rule, **fields)


@router.post("/lookup", response={200: CodeOut, **ERROR_RESPONSES})
def lookup(request: HttpRequest, body: LookupIn) -> Any:
    """A code by identity document, for gates and integrations. 404 when nobody holds it."""
    actor = _actor(request)
    if not actor.can("healthcode.view"):
        raise NotPermitted()
    identity = check_identity(body.id_type, body.id_number)
    # The selector audits the read in the same statement (gates ask many times a second).
    person, code = selectors.code_by_identity(actor, identity.id_type, identity.id_number)
    return _answer(person, code)


@router.get("/{int:person_id}", response={200: CodeOut, **ERROR_RESPONSES})
def get_code(request: HttpRequest, person_id: int) -> Any:
    """A person's current code (recomputed first when it has expired)."""
    actor = _actor(request)
    person, code = selectors.code_by_person_id(actor, person_id)
    # The read goes to the audit inbox (one insert, no lock); the worker chains it in a second.
    audit.record_read(actor, person, fields=["health_code"], deferred=True)
    return _answer(person, code)
