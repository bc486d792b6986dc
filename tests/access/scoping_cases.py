"""Scoping cases for access control: signing keys, entry passes, gate events."""

from __future__ import annotations

import datetime as dt

from django.db import models

from gridguard.access.models import EntryPass, GateEvent, SigningKey
from gridguard.access.services.keys import active_key
from gridguard.access.services.passes import issue_pass
from gridguard.core import clock
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader


def _key(city: City, side: str) -> SigningKey:
    return active_key(city[f"street_{side}"])


def _pass(city: City, side: str) -> EntryPass:
    compound = city[f"compound_{side}1"]
    now = clock.now()
    return issue_pass(
        city.users[f"committee_{side}1"],
        factories.person(compound),
        compound,
        kind="resident",
        valid_from=now,
        valid_until=now + dt.timedelta(days=30),
    )


def _event(city: City, side: str) -> GateEvent:
    entry_pass = _pass(city, side)
    return GateEvent.objects.create(
        area=city[f"gate_{side}1"],
        entry_pass=entry_pass,
        person=entry_pass.person,
        verdict="ok",
        scanned_at=clock.now(),
    )


ROW_MAKERS: dict[type[models.Model], object] = {
    SigningKey: _key,
    EntryPass: _pass,
    GateEvent: _event,
}

READERS: dict[type[models.Model], list[Reader]] = {
    SigningKey: [ADMIN],
    EntryPass: [ADMIN],
    GateEvent: [ADMIN],
}
