"""Scoping cases for home observation."""

from __future__ import annotations

import datetime as dt

from django.db import models

from gridguard.health.models import (
    CheckIn,
    Errand,
    ObservationAlert,
    ObservationDailyCount,
    ObservationOrder,
)
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader


def _order(city: City, side: str) -> ObservationOrder:
    return factories.order(factories.person(city[f"compound_{side}1"], name=f"观察{side.upper()}"))


def _alert(city: City, side: str) -> ObservationAlert:
    o = _order(city, side)
    return ObservationAlert.objects.create(
        order=o, area=o.area, kind="fever", slot_key="2020-02-10#0"
    )


def _errand(city: City, side: str) -> Errand:
    o = _order(city, side)
    return Errand.objects.create(order=o, area=o.area, kind="groceries", detail="蔬菜两斤")


ROW_MAKERS: dict[type[models.Model], object] = {
    ObservationOrder: _order,
    CheckIn: lambda c, s: factories.checkin(_order(c, s)),
    ObservationAlert: _alert,
    Errand: _errand,
    ObservationDailyCount: lambda c, s: ObservationDailyCount.objects.create(
        area=c[f"committee_{s}1"], day=dt.date(2020, 2, 10), in_observation=3
    ),
}

READERS: dict[type[models.Model], list[Reader]] = {model: [ADMIN] for model in ROW_MAKERS}
