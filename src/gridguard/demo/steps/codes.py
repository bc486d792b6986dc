"""Demo health codes: every person's code computed from the demo's facts (flags, observations,
fevers, key-area arrivals, purchases), as `gridguard codes recompute --all` would."""

from __future__ import annotations

from gridguard.core import audit
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.health.models import HealthCode
from gridguard.health.services.codes import recompute_all


@demo_step(order=690, name="health codes")
def health_codes(ctx: DemoContext) -> None:
    """Compute every code once the facts are in."""
    recompute_all()
    counts = {
        colour: HealthCode.objects.filter(colour=colour).count()
        for colour in ("green", "yellow", "red")
    }
    audit.record(SYSTEM, "demo.health_codes", detail=counts)
    ctx.log("health codes: " + ", ".join(f"{n:,} {colour}" for colour, n in counts.items()))
