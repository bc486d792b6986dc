"""Scoping cases for traveller registrations and follow-up tasks."""

from __future__ import annotations

from django.db import models

from gridguard.health.models import FollowUpTask, TravellerRegistration
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader


def _registration(city: City, side: str) -> TravellerRegistration:
    area = city[f"compound_{side}1"]
    return factories.registration(factories.person(area, name=f"旅客{side.upper()}"), area)


def _followup(city: City, side: str) -> FollowUpTask:
    area = city[f"committee_{side}1"]
    return factories.followup(factories.person(city[f"compound_{side}1"]), area)


ROW_MAKERS: dict[type[models.Model], object] = {
    TravellerRegistration: _registration,
    FollowUpTask: _followup,
}

READERS: dict[type[models.Model], list[Reader]] = {
    TravellerRegistration: [ADMIN],
    FollowUpTask: [ADMIN],
}
