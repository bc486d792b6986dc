"""People API: persons (search, one person, edit), possible duplicates and merges (P1).

ID numbers and phones are masked by the caller's role; reading one person is audited."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import CursorPagination, paginate

from gridguard.core import audit, masking
from gridguard.core.api import ERROR_RESPONSES, need
from gridguard.people import merging, selectors, services
from gridguard.territory.models import Area

router = Router(tags=["people"])
READ_FIELDS = ["name", "id_number", "phone", "address", "birth_date"]


def _actor(context: Any) -> Any:
    return context["request"].auth


class PersonOut(Schema):
    id: int
    id_type: str
    id_number: str
    name: str
    sex: str
    birth_date: dt.date | None
    phone: str
    area_code: str
    address: str
    household_id: int | None
    merged_into_id: int | None

    @staticmethod
    def resolve_id_number(obj: Any, context: Any) -> str:
        return masking.id_number_for(_actor(context), obj.id_number)

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return masking.phone_for(_actor(context), obj.phone)

    @staticmethod
    def resolve_area_code(obj: Any) -> str:
        return str(obj.area.code)


class FlagOut(Schema):
    category: str
    since: dt.datetime
    until: dt.datetime | None
    source: str
    note: str


class PersonDetailOut(PersonOut):
    flags: list[FlagOut]
    household_member_ids: list[int]

    @staticmethod
    def resolve_flags(obj: Any) -> list[Any]:
        return list(obj.related["flags"])

    @staticmethod
    def resolve_household_member_ids(obj: Any) -> list[int]:
        return [int(m.pk) for m in obj.related["household"]]


class PersonPatch(Schema):
    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=500)
    area_code: str | None = Field(None, max_length=60)
    household_id: int | None = None


class PairOut(Schema):
    id: int
    reason: str
    status: str
    found_at: dt.datetime
    first: PersonOut
    second: PersonOut


class DecideIn(Schema):
    decision: Literal["not_duplicate", "merge"]
    survivor: int | None = None
    reason: str = Field("", max_length=255)
    force: bool = False


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    pair_id: int | None
    moved: dict[str, dict[str, list[int]]]
    merged_at: dt.datetime
    undone_at: dt.datetime | None


@router.get("/persons", response={200: list[PersonOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("id",), page_size=50)
def list_persons(request: HttpRequest, q: str = "") -> Any:
    """Persons in the caller's area; `q` matches a name (part), an ID number or a phone
    (whole number only)."""
    actor = need(request, "people.view")
    return selectors.persons_visible_to(actor, q[:60])


def _detail(actor: Any, person_id: int) -> Any:
    person = selectors.person_detail(actor, person_id)
    person.related = selectors.related_records(person)  # type: ignore[attr-defined]
    return person


@router.get("/persons/{person_id}", response={200: PersonDetailOut, **ERROR_RESPONSES})
def get_person(request: HttpRequest, person_id: int) -> Any:
    """One person, masked by role, with flags and household members; the read is audited."""
    actor = need(request, "people.view")
    person = _detail(actor, person_id)
    audit.record_read(actor, person, fields=READ_FIELDS)
    return person


@router.patch("/persons/{person_id}", response={200: PersonDetailOut, **ERROR_RESPONSES})
def patch_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> Any:
    """Change name, phone, address, place (`area_code`) or household (`household_id`, null to
    remove) — only the fields sent."""
    actor = need(request, "people.edit")
    person = selectors.person_detail(actor, person_id)
    sent = payload.dict(exclude_unset=True)
    fields: dict[str, Any] = {}
    for key in ("name", "phone", "address"):
        if key in sent:
            fields[key] = sent[key] or ""
    if "area_code" in sent:
        fields["area"] = Area.objects.filter(code=sent["area_code"] or "").first()
    if "household_id" in sent:
        hid = sent["household_id"]
        fields["household"] = (
            selectors.households_visible_to(actor).filter(pk=hid).first()
            if hid is not None
            else None
        )
        if hid is not None and fields["household"] is None:
            fields["household"] = "missing"  # refused by the service as not a household
    services.update_person(actor, person, **fields)
    return _detail(actor, person_id)


@router.get("/duplicates", response={200: list[PairOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("id",), page_size=50)
def list_duplicates(request: HttpRequest, status: str = "open") -> Any:
    """Possible duplicates whose two records are in the caller's area (open ones by
    default; `status` = open, not_duplicate, merged, or empty for all)."""
    actor = need(request, "people.view")
    if status not in ("", "open", "not_duplicate", "merged"):
        status = "open"
    return selectors.duplicate_pairs(actor, status)


@router.post("/duplicates/{pair_id}/decide", response={200: PairOut, **ERROR_RESPONSES})
def decide(request: HttpRequest, pair_id: int, payload: DecideIn) -> Any:
    """Decide a pair: `not_duplicate`, or `merge` keeping `survivor` (one of the two; the
    first by default). Two valid resident ID numbers need `force` and a `reason`."""
    actor = need(request, "people.merge")
    pair = selectors.duplicate_pair(actor, pair_id)
    if payload.decision == "merge":
        merging.merge(
            actor,
            pair,
            survivor=payload.survivor if payload.survivor is not None else pair.first_id,
            reason=payload.reason,
            force=payload.force,
        )
    else:
        merging.decide_pair(actor, pair, payload.decision)
    return selectors.duplicate_pair(actor, pair_id)


@router.get("/merges", response={200: list[MergeOut], **ERROR_RESPONSES})
@paginate(CursorPagination, ordering=("-id",), page_size=50)
def list_merges(request: HttpRequest) -> Any:
    """Merges whose kept record is in the caller's area, newest first."""
    actor = need(request, "people.view")
    return selectors.merges_visible_to(actor)


@router.post("/merges/{merge_id}/undo", response={200: MergeOut, **ERROR_RESPONSES})
def undo(request: HttpRequest, merge_id: int) -> Any:
    """Undo a merge: exactly the rows it moved go back."""
    actor = need(request, "people.merge")
    return merging.unmerge(actor, selectors.merge_detail(actor, merge_id))
