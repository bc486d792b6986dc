"""Scoping cases for the person registry (see tests/scoping_support.py)."""

from __future__ import annotations

from django.db import models

from gridguard.people.models import DuplicatePair, Household, KeyPersonFlag, Person, PersonMerge
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader, get


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


def _name(_city: City, row: Person) -> str:
    return str(row.name)


def _first(_city: City, row: DuplicatePair) -> str:
    return f"/people/{row.first_id}/"


def _survivor(_city: City, row: PersonMerge) -> str:
    return f"/people/{row.survivor_id}/"


def _pk(_city: City, row: models.Model) -> str:
    # The API's first two keys: "id", then a key only that model's output has there.
    after = {Person: "id_type", DuplicatePair: "reason", PersonMerge: "survivor_id"}
    return f'"id": {row.pk}, "{after[type(row)]}"'


READERS: dict[type[models.Model], list[Reader]] = {
    Household: [ADMIN],
    Person: [
        Reader("page", "operator", get("/people/"), _name),
        Reader("page", "operator", lambda c, _city, row: c.get(f"/people/{row.pk}/"), _name),
        Reader("page", "operator", get("/people/?q=%E5%B1%85%E6%B0%91"), _name),  # ?q=居民
        Reader("api", "operator", get("/api/v1/people/persons?limit=500"), _pk),
        Reader(
            "api", "operator", lambda c, _city, row: c.get(f"/api/v1/people/persons/{row.pk}"), _pk
        ),
        ADMIN,
    ],
    KeyPersonFlag: [
        Reader(
            "page",
            "operator",
            lambda c, _city, row: c.get(f"/people/{row.person_id}/"),
            lambda _c, row: str(row.person.name),
        ),
        Reader(
            "api",
            "operator",
            lambda c, _city, row: c.get(f"/api/v1/people/persons/{row.person_id}"),
            lambda _c, row: '"elderly_alone"',
        ),
        ADMIN,
    ],
    DuplicatePair: [
        Reader("page", "operator", get("/people/duplicates/"), _first),
        Reader("api", "operator", get("/api/v1/people/duplicates?limit=500"), _pk),
        ADMIN,
    ],
    PersonMerge: [
        Reader("page", "operator", get("/people/merges/"), _survivor),
        Reader("api", "operator", get("/api/v1/people/merges?limit=500"), _pk),
        ADMIN,
    ],
}
