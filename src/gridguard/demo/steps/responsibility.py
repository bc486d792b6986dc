"""Step: a named responsible person for every unit (三长 and 五个包干), city leaders."""

from __future__ import annotations

import datetime as dt

from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.demo.steps.people import phone
from gridguard.territory.models import Responsibility, ResponsibilityKind

RK = ResponsibilityKind
# Which responsibility each kind of unit gets.
UNIT_RESPONSIBILITY: dict[str, str] = {
    "gate": RK.GATE_CHIEF,
    "building": RK.BUILDING_CHIEF,
    "road": RK.ROAD_CHIEF,
    "building_group": RK.CONTRACT_BUILDING_GROUP,
    "market": RK.CONTRACT_MARKET,
    "office_building": RK.CONTRACT_OFFICE_BUILDING,
    "block": RK.CONTRACT_BLOCK,
    "village_group": RK.CONTRACT_VILLAGE_GROUP,
    "district": RK.CITY_LEADER,
}


@demo_step(order=300, name="responsibility")
def responsibility(ctx: DemoContext) -> None:
    """One current holder per unit, in office since a day in the last two months."""
    today = clock.today()
    rows = []
    for kind, resp in UNIT_RESPONSIBILITY.items():
        for area in ctx.kind(kind):
            rows.append(
                Responsibility(
                    area=area,
                    kind=resp,
                    person_name=ctx.fake.name(),
                    phone=phone(ctx),
                    since=today - dt.timedelta(days=ctx.rnd.randint(14, 60)),
                )
            )
    Responsibility.objects.bulk_create(rows, batch_size=5000)
    by_kind: dict[str, int] = {}
    for r in rows:
        by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    audit.record(
        SYSTEM,
        "demo.responsibility.create",
        object_type="territory.responsibility",
        detail={"rows": len(rows), "by_kind": by_kind},
    )
    ctx.log(f"responsibility: {len(rows):,} named persons")
