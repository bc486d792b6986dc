"""Reads of the person registry (P1), always through the scoped managers."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from gridguard.core.errors import OutOfScope
from gridguard.people.identity import normalise_id_number, normalise_phone
from gridguard.people.models import (
    DuplicatePair,
    DuplicateStatus,
    Household,
    KeyPersonFlag,
    Person,
    PersonMerge,
)


def persons_visible_to(
    actor: Any, q: str = "", *, include_merged: bool = False
) -> QuerySet[Person]:
    """Persons in the actor's territory; `q` searches the name (contains), or the ID number or
    phone (exact: no partial matching of personal numbers)."""
    qs = Person.objects.visible_to(actor).select_related("area", "household")
    if not include_merged:
        qs = qs.filter(merged_into__isnull=True)
    q = (q or "").strip()
    if q:
        number = normalise_id_number(q)
        phone = normalise_phone(q)
        cond = Q(name__icontains=q) | Q(id_number=number)
        if phone:
            cond |= Q(phone=phone)
        qs = qs.filter(cond)
    return qs


def person_detail(actor: Any, pk: int) -> Person:
    """One person in the actor's territory, or OutOfScope (also for a pk that does not exist)."""
    person = (
        Person.objects.visible_to(actor)
        .select_related("area", "household", "merged_into", "user")
        .filter(pk=pk)
        .first()
    )
    if person is None:
        raise OutOfScope()
    return person


def related_records(person: Person) -> dict[str, list[Any]]:
    """What the detail page shows about a person: flags, household members, and the rows of
    other apps (registrations, observations, follow-ups, purchases …) via the related
    managers that exist."""
    out: dict[str, list[Any]] = {
        "flags": list(KeyPersonFlag.objects.filter(person=person).order_by("-since")[:50]),
        "household": (
            list(
                Person.objects.filter(household_id=person.household_id)
                .exclude(pk=person.pk)
                .order_by("name")[:50]
            )
            if person.household_id
            else []
        ),
    }
    for accessor, order in (
        ("registrations", "-pk"),
        ("observations", "-pk"),
        ("followups", "-pk"),
        ("medicine_purchases", "-pk"),
        ("mask_reservations", "-pk"),
    ):
        manager = getattr(person, accessor, None)
        out[accessor] = list(manager.order_by(order)[:20]) if manager is not None else []
    return out


def duplicate_pairs(actor: Any, status: str = DuplicateStatus.OPEN) -> QuerySet[DuplicatePair]:
    """Pairs for the actor's territory: both records must be visible (a pair straddling two
    streets is decided by someone who covers both)."""
    visible = Person.objects.visible_to(actor).values("pk")
    qs = (
        DuplicatePair.objects.visible_to(actor)
        .filter(second__in=visible)
        .select_related("first", "second", "first__area", "second__area")
    )
    if status:
        qs = qs.filter(status=status)
    if status == DuplicateStatus.OPEN:
        qs = qs.filter(first__merged_into__isnull=True, second__merged_into__isnull=True)
    return qs


def duplicate_pair(actor: Any, pk: int) -> DuplicatePair:
    pair = duplicate_pairs(actor, status="").filter(pk=pk).first()
    if pair is None:
        raise OutOfScope()
    return pair


def merges_visible_to(actor: Any) -> QuerySet[PersonMerge]:
    return PersonMerge.objects.visible_to(actor).select_related(
        "survivor", "merged", "merged_by", "undone_by"
    )


def merge_detail(actor: Any, pk: int) -> PersonMerge:
    row = merges_visible_to(actor).filter(pk=pk).first()
    if row is None:
        raise OutOfScope()
    return row


def households_visible_to(actor: Any) -> QuerySet[Household]:
    return Household.objects.visible_to(actor).select_related("area")
