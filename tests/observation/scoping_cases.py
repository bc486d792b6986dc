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
from tests.scoping_support import ADMIN, Reader, area_code_marker, get


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

API = "/api/v1/health/observation"


def _attr(name: str, value_of: str = "pk") -> object:
    return lambda _c, row: f'data-{name}="{getattr(row, value_of)}"'


READERS: dict[type[models.Model], list[Reader]] = {
    ObservationOrder: [
        Reader("page", "operator", get("/observation/?status="), _attr("order")),
        Reader(
            "page",
            "operator",
            lambda c, _city, row: c.get(f"/observation/{row.pk}/"),
            area_code_marker,
        ),
        Reader("api", "operator", get(f"{API}/orders?limit=500"), area_code_marker),
        Reader(
            "api",
            "operator",
            lambda c, _city, row: c.get(f"{API}/orders/{row.pk}"),
            area_code_marker,
        ),
        ADMIN,
    ],
    CheckIn: [
        Reader(
            "page",
            "operator",
            lambda c, _city, row: c.get(f"/observation/{row.order_id}/"),
            _attr("checkin"),
        ),
        Reader(
            "api",
            "operator",
            lambda c, _city, row: c.get(f"{API}/orders/{row.order_id}"),
            area_code_marker,
        ),
        ADMIN,
    ],
    ObservationAlert: [
        Reader("page", "operator", get("/observation/alerts/"), _attr("alert")),
        Reader("api", "operator", get(f"{API}/alerts?limit=500"), area_code_marker),
        ADMIN,
    ],
    Errand: [
        Reader("page", "operator", get("/observation/errands/"), _attr("errand")),
        ADMIN,
    ],
    ObservationDailyCount: [ADMIN],
}
