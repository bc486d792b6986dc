"""Scoping cases for pharmacies: fever-medicine purchases and masks."""

from __future__ import annotations

import datetime as dt

from django.db import models

from gridguard.health.models import (
    FeverMedicinePurchase,
    MaskOutlet,
    MaskQuotaDay,
    MaskReservation,
)
from tests import factories
from tests.conftest import City
from tests.scoping_support import ADMIN, Reader, area_code_marker, code_marker, get


def _outlet(city: City, side: str) -> MaskOutlet:
    return MaskOutlet.objects.get_or_create(
        area=city[f"pharmacy_{side}1"], defaults={"daily_quota": 100}
    )[0]


def _purchase(city: City, side: str) -> FeverMedicinePurchase:
    buyer = factories.person(city[f"compound_{side}1"])
    return FeverMedicinePurchase.objects.create(
        area=city[f"pharmacy_{side}1"],
        buyer=buyer,
        name=buyer.name,
        id_type=buyer.id_type,
        id_number=buyer.id_number,
        phone=buyer.phone,
        medicine="布洛芬",
        submission_key=f"p-{buyer.pk}",
    )


def _day(city: City, side: str) -> MaskQuotaDay:
    outlet = _outlet(city, side)
    return MaskQuotaDay.objects.create(
        outlet=outlet, area=outlet.area, day=dt.date(2020, 2, 10), quota=100
    )


def _reservation(city: City, side: str) -> MaskReservation:
    outlet = _outlet(city, side)
    p = factories.person(city[f"compound_{side}1"])
    return MaskReservation.objects.create(
        outlet=outlet,
        area=outlet.area,
        person=p,
        day=dt.date(2020, 2, 10),
        quantity=5,
        code=f"M{p.pk:07d}",
        submission_key=f"m-{p.pk}",
    )


ROW_MAKERS: dict[type[models.Model], object] = {
    FeverMedicinePurchase: _purchase,
    MaskOutlet: _outlet,
    MaskQuotaDay: _day,
    MaskReservation: _reservation,
}

API = "/api/v1/health/pharmacy"

READERS: dict[type[models.Model], list[Reader]] = {
    FeverMedicinePurchase: [
        Reader("api", "operator", get(f"{API}/purchases?limit=500"), area_code_marker),
        Reader(
            "api",
            "operator",
            lambda c, _city, row: c.get(f"{API}/purchases/{row.pk}"),
            area_code_marker,
        ),
        Reader(
            "page",
            "operator",
            get("/pharmacy/purchases/?day=all"),
            lambda _c, row: str(row.area.name),
        ),
        ADMIN,
    ],
    MaskOutlet: [
        Reader("api", "operator", get(f"{API}/outlets?limit=500"), area_code_marker),
        Reader("page", "operator", get("/pharmacy/outlets/"), lambda _c, row: str(row.area.name)),
        ADMIN,
    ],
    MaskQuotaDay: [
        Reader("api", "operator", get(f"{API}/stock?day=2020-02-10&limit=500"), area_code_marker),
        ADMIN,
    ],
    MaskReservation: [
        Reader("api", "operator", get(f"{API}/reservations?limit=500"), code_marker),
        ADMIN,
    ],
}
