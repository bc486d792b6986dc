"""Step: residents and households for every compound (P1), bulk-loaded.

Households sit in the compound's buildings (or the compound itself at city scale); each has one
to four members with valid, unique ID numbers. A few residents are elderly living alone. The
demo resident login is linked to the first resident of the first compound.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from stdnum.cn import ric

from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.demo.steps.people import phone
from gridguard.people.models import Household, KeyCategory, KeyPersonFlag, Person, Sex

# Region codes of Shanghai's districts and of the provinces travellers come from.
SHANGHAI_REGIONS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110"]
OTHER_REGIONS = ["420102", "420106", "110101", "330106", "320102", "440106", "510104"]
BATCH = 5000


def id_number(ctx: DemoContext, region: str, birth: dt.date) -> str:
    """A valid, unique 18-digit ID number (the serial makes it unique within the demo)."""
    used: set[str] = ctx.key.setdefault("_id_numbers", set())
    while True:
        first17 = f"{region}{birth:%Y%m%d}{ctx.rnd.randrange(1000):03d}"
        number = first17 + ric.calc_check_digit(first17 + "0")
        if number not in used:
            used.add(number)
            return number


def birth_date(ctx: DemoContext, lo: int = 1940, hi: int = 2016) -> dt.date:
    """A birth date in [lo, hi] (region codes are checked for existence, not by year)."""
    return dt.date(ctx.rnd.randint(lo, hi), ctx.rnd.randint(1, 12), ctx.rnd.randint(1, 28))


def new_person(ctx: DemoContext, area: Any, *, region: str, address: str, **extra: Any) -> Person:
    """An unsaved Person with a fresh identity (for bulk_create)."""
    born = birth_date(ctx)
    number = id_number(ctx, region, born)
    return Person(
        id_type="resident_id",
        id_number=number,
        name=ctx.fake.name(),
        sex=Sex.MALE if int(number[16]) % 2 else Sex.FEMALE,
        birth_date=born,
        phone=phone(ctx),
        area=area,
        address=address,
        **extra,
    )


def _homes(ctx: DemoContext) -> list[tuple[Any, Any]]:
    """(compound, place) pairs: each building of a compound, or the compound itself."""
    buildings: dict[int, list[Any]] = {}
    for b in ctx.kind("building"):
        buildings.setdefault(b.parent_id, []).append(b)
    return [(c, b) for c in ctx.kind("compound") for b in (buildings.get(c.pk) or [c])]


@demo_step(order=600, name="residents")
def residents(ctx: DemoContext) -> None:
    """Households and residents for every compound; a few elderly living alone."""
    lo, hi = ctx.scale.residents_per_compound
    homes = _homes(ctx)
    per_compound: dict[int, int] = {}
    for compound, _place in homes:
        per_compound.setdefault(compound.pk, ctx.rnd.randint(lo, hi))
    places_of: dict[int, int] = {}
    for compound, _place in homes:
        places_of[compound.pk] = places_of.get(compound.pk, 0) + 1
    now = clock.now()
    households: list[Household] = []
    members: list[int] = []
    for compound, place in homes:
        people_here = max(1, per_compound[compound.pk] // places_of[compound.pk])
        floor = 1
        while people_here > 0:
            size = min(people_here, ctx.rnd.choice((1, 2, 2, 3, 3, 4)))
            room = f"{floor}0{ctx.rnd.randint(1, 4)}"
            households.append(
                Household(area=place, room=room, address=f"{place.name}{room}室", created_at=now)
            )
            members.append(size)
            people_here -= size
            floor += 1
    Household.objects.bulk_create(households, batch_size=BATCH)
    if households[0].pk is None:  # SQLite before 3.35 does not return ids
        households = list(Household.objects.order_by("id"))
    persons: list[Person] = []
    for household, size in zip(households, members, strict=True):
        for _ in range(size):
            persons.append(
                new_person(
                    ctx,
                    household.area,
                    region=ctx.rnd.choice(SHANGHAI_REGIONS),
                    address=household.address,
                    household=household,
                    created_at=now,
                    updated_at=now,
                )
            )
    Person.objects.bulk_create(persons, batch_size=BATCH)
    singles = [h for h, size in zip(households, members, strict=True) if size == 1]
    elderly = Person.objects.filter(
        household__in=singles[: max(1, len(singles) // 10)], birth_date__lt=dt.date(1960, 1, 1)
    )
    KeyPersonFlag.objects.bulk_create(
        [
            KeyPersonFlag(person=p, category=KeyCategory.ELDERLY_ALONE, since=now, source="demo")
            for p in elderly
        ],
        batch_size=BATCH,
    )
    resident_user = ctx.users.get("resident")
    if resident_user is not None:
        first = Person.objects.filter(area__path__startswith=ctx.key["compound_1"].path).first()
        if first is not None:
            first.user = resident_user
            first.save(update_fields=["user"])
            ctx.key["resident_person"] = first
    audit.record(SYSTEM, "demo.residents", detail={"persons": len(persons)})
    ctx.log(f"residents: {len(persons):,} persons in {len(households):,} households")
