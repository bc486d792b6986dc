"""Scoping cases for the person registry (see tests/scoping_support.py)."""

from __future__ import annotations

from django.db import models

from gridguard.people.models import DuplicatePair, Household, KeyPersonFlag, Person, PersonMerge
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader


def _person(city: City, side: str) -> Person:
    return factories.person(city[f"compound_{side}1"], name=f"居民{side.upper()}")


def _pair(city: City, side: str) -> DuplicatePair:
    return DuplicatePair.objects.create(
        first=_person(city, side), second=_person(city, side), reason="name_birth"
    )


def _merge(city: City, side: str) -> PersonMerge:
    return PersonMerge.objects.create(survivor=_person(city, side), merged=_person(city, side))


ROW_MAKERS: dict[type[models.Model], object] = {
    Household: lambda c, s: Household.objects.create(area=c[f"building_{s}1"], room="101"),
    Person: _person,
    KeyPersonFlag: lambda c, s: KeyPersonFlag.objects.create(
        person=_person(c, s), category="elderly_alone"
    ),
    DuplicatePair: _pair,
    PersonMerge: _merge,
}

READERS: dict[type[models.Model], list[Reader]] = {
    Household: [ADMIN],
    Person: [ADMIN],
    KeyPersonFlag: [ADMIN],
    DuplicatePair: [ADMIN],
    PersonMerge: [ADMIN],
}
