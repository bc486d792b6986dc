"""Shared bits for the pharmacy tests: a valid purchase and a resident with a person."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from gridguard.accounts.models import User
from gridguard.people.models import Person
from tests import factories
from tests.conftest import City

NOON = dt.datetime(2020, 2, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
TODAY = dt.date(2020, 2, 10)
_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


def purchase_fields(**extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "submission_key": key("buy"),
        "id_type": "resident_id",
        "id_number": factories.id_number(),
        "name": "李娜",
        "phone": "13912345678",
        "medicine": "布洛芬",
        "quantity": 1,
        "temperature": "37.8",
        "buyer_address": "",
    }
    fields.update(extra)
    return fields


def resident_person(city: City, username: str = "resident_a1") -> tuple[User, Person]:
    """The resident user linked to a person living at compound A1."""
    user = city.users[username]
    p = factories.person(city["compound_a1"], name="王芳")
    p.user = user
    p.save(update_fields=["user"])
    return user, p
