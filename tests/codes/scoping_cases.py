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


ROW_MAKERS: dict[type[models.Model], object] = {HealthCode: _code, HealthCodeChange: _change}

READERS: dict[type[models.Model], list[Reader]] = {model: [ADMIN] for model in ROW_MAKERS}
