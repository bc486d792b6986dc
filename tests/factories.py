"""Rows the people-and-health tests share: valid identities, persons, orders, records.

Each maker writes through the ORM with fixed, readable values; tests that prove a service
call the service itself instead.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from stdnum.cn import ric

from gridguard.health.models import (
    CheckIn,
    FollowUpTask,
    ObservationOrder,
    ObservationType,
    TravellerRegistration,
)
from gridguard.people.models import Person
from gridguard.territory.models import Area

_serial = itertools.count(1)


def id_number(birth: dt.date = dt.date(1985, 3, 7), region: str = "310101") -> str:
    """A valid 18-digit resident ID number, unique within the test run."""
    first17 = f"{region}{birth:%Y%m%d}{next(_serial) % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def person(area: Area, name: str = "张伟", **extra: object) -> Person:
    """A saved resident of `area` with a fresh valid identity."""
    fields: dict[str, object] = {
        "id_type": "resident_id",
        "id_number": id_number(),
        "name": name,
        "birth_date": dt.date(1985, 3, 7),
        "phone": "13800138000",
        "area": area,
        "address": area.name,
    }
    fields.update(extra)
    return Person.objects.create(**fields)


def order(
    p: Person, starts_on: dt.date = dt.date(2020, 2, 10), **extra: object
) -> ObservationOrder:
    """An active 14-day home observation of `p` at their home."""
    kind = ObservationType.objects.get(code="home")
    fields: dict[str, object] = {
        "person": p,
        "order_type": kind,
        "place_address": p.address or "家中",
        "starts_on": starts_on,
        "ends_on": starts_on + dt.timedelta(days=kind.days - 1),
        "area": p.area,
    }
    fields.update(extra)
    return ObservationOrder.objects.create(**fields)


def checkin(o: ObservationOrder, temperature: str = "36.6", slot: int = 0) -> CheckIn:
    return CheckIn.objects.create(
        order=o,
        area=o.area,
        slot_date=o.starts_on,
        slot_index=slot,
        temperature=Decimal(temperature),
        source="self",
    )


def registration(p: Person, area: Area, **extra: object) -> TravellerRegistration:
    n = next(_serial)
    fields: dict[str, object] = {
        "receipt_code": f"R{n:08d}",
        "submission_key": f"test-{n}",
        "person": p,
        "name": p.name,
        "id_type": p.id_type,
        "id_number": p.id_number,
        "phone": p.phone,
        "origin_province": "湖北省",
        "origin_city": "武汉市",
        "transport": "car",
        "arrival_date": dt.date(2020, 2, 9),
        "channel": "web",
        "destination_address": area.name,
        "match_status": "matched",
        "area": area,
    }
    fields.update(extra)
    return TravellerRegistration.objects.create(**fields)


def followup(p: Person, area: Area, **extra: object) -> FollowUpTask:
    fields: dict[str, object] = {
        "kind": "key_area_arrival",
        "person": p,
        "area": area,
        "source": f"test:{next(_serial)}",
        "summary": f"{p.name} 自重点地区返回",
    }
    fields.update(extra)
    return FollowUpTask.objects.create(**fields)
