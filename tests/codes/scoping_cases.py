"""Scoping cases for health codes."""

from __future__ import annotations

import datetime as dt

from django.db import models

from gridguard.health.models import HealthCode, HealthCodeChange
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader


def _code(city: City, side: str) -> HealthCode:
    return HealthCode.objects.create(
        person=factories.person(city[f"compound_{side}1"]),
        colour="yellow",
        expires_at=dt.datetime(2020, 2, 11, tzinfo=dt.UTC),
    )


def _change(city: City, side: str) -> HealthCodeChange:
    return HealthCodeChange.objects.create(
        person=factories.person(city[f"compound_{side}1"]), old_colour="green", new_colour="red"
    )


def _person_page(c, _city, row):  # type: ignore[no-untyped-def]
    return c.get(f"/codes/person/{row.person_id}/")


def _api(c, _city, row):  # type: ignore[no-untyped-def]
    return c.get(f"/api/v1/health/codes/{row.person_id}")


ROW_MAKERS: dict[type[models.Model], object] = {HealthCode: _code, HealthCodeChange: _change}

READERS: dict[type[models.Model], list[Reader]] = {
    HealthCode: [
        Reader("page", "operator", _person_page, lambda _c, row: f'data-person="{row.person_id}"'),
        Reader("api", "operator", _api, lambda _c, row: f'"person_id": {row.person_id}'),
        ADMIN,
    ],
    HealthCodeChange: [
        Reader("page", "operator", _person_page, lambda _c, row: f'data-change="{row.pk}"'),
        ADMIN,
    ],
}
