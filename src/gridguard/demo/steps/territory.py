"""Step: the territory tree, planned in memory and bulk-loaded."""

from __future__ import annotations

from gridguard.core.scoping import SYSTEM
from gridguard.demo.plan import plan_territory
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.territory.bulk import bulk_load_areas
from gridguard.territory.models import Area

_FIELDS = ("id", "code", "name", "kind", "parent_id", "path", "depth")


def _first(ctx: DemoContext, kind: str, under: Area, fallback: Area) -> Area:
    for a in ctx.kind(kind):
        if a.path.startswith(under.path):
            return a
    return fallback


@demo_step(order=100, name="territory")
def territory(ctx: DemoContext) -> None:
    """Districts down to gates (and, with detail, buildings, shops, roads…)."""
    rows = plan_territory(ctx.scale, ctx.rnd)
    bulk_load_areas(rows, actor=SYSTEM)
    ctx.set_areas(list(Area.objects.only(*_FIELDS).order_by("path")))
    streets = ctx.kind("street")
    k = ctx.key
    k["city"] = ctx.kind("city")[0]
    k["district_1"] = ctx.kind("district")[0]
    k["street_1"], k["street_2"] = streets[0], streets[1]
    k["committee_1"] = _first(ctx, "committee", k["street_1"], k["street_1"])
    k["committee_2"] = _first(ctx, "committee", k["street_2"], k["street_2"])
    k["compound_1"] = _first(ctx, "compound", k["committee_1"], k["committee_1"])
    k["gate_1"] = _first(ctx, "gate", k["compound_1"], k["compound_1"])
    k["building_1"] = _first(ctx, "building", k["compound_1"], k["compound_1"])
    k["pharmacy_1"] = _first(ctx, "pharmacy", k["street_1"], k["street_1"])
    k["enterprise_1"] = _first(ctx, "enterprise", k["street_1"], k["committee_1"])
    ctx.log(f"territory: {len(rows):,} areas")
