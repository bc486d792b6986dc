"""Step: gate volunteers with 14 days of served shifts, and today's plan for the demo login."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.demo.steps.people import bulk_staff
from gridguard.territory import services as territory
from gridguard.territory.models import DutyPost, DutyShift

HISTORY_DAYS = 14
SLOTS = (7, 11, 15, 19)  # four-hour shifts, Shanghai wall-clock start hours
SHIFT = dt.timedelta(hours=4)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=clock.SHANGHAI)


def _served(ctx: DemoContext, user: Any, gate: Any, start: dt.datetime) -> DutyShift:
    """A past shift, clocked in a little early or late and out around its end."""
    rnd = ctx.rnd
    return DutyShift(
        area=gate,
        user=user,
        post=DutyPost.VOLUNTEER,
        starts_at=start,
        ends_at=start + SHIFT,
        clocked_in_at=start + dt.timedelta(minutes=rnd.randint(-10, 15)),
        clocked_out_at=start + SHIFT + dt.timedelta(minutes=rnd.randint(-20, 40)),
    )


@demo_step(order=500, name="duty")
def duty(ctx: DemoContext) -> None:
    """Half of `--people` are gate volunteers spread over the compounds; each served about
    every other day of the last two weeks at one of their compound's gates."""
    compounds = ctx.kind("compound")
    gates_of: dict[int, list[object]] = {}
    for g in ctx.kind("gate"):
        gates_of.setdefault(g.parent_id, []).append(g)
    n = max(1, ctx.scale.people - ctx.scale.people // 2)
    step = max(1, len(compounds) // n)
    homes = [compounds[(i * step) % len(compounds)] for i in range(n)]
    volunteers = bulk_staff(ctx, "volunteer", "gate_volunteer", homes)
    today = clock.today()
    now = clock.now()
    shifts: list[DutyShift] = []
    for user, home in zip(volunteers, homes, strict=True):
        for back in range(HISTORY_DAYS, 0, -1):
            if ctx.rnd.random() < 0.5:
                gate = ctx.rnd.choice(gates_of[home.pk])
                shifts.append(_served(ctx, user, gate, _at(today - dt.timedelta(back), 7)))
    # The demo volunteer: a morning at the first gate each day of the last two weeks.
    me, gate = ctx.users["gate_volunteer"], ctx.key["gate_1"]
    for back in range(HISTORY_DAYS, 0, -1):
        shifts.append(_served(ctx, me, gate, _at(today - dt.timedelta(back), 8)))
    DutyShift.objects.bulk_create(shifts, batch_size=5000)
    audit.record(
        SYSTEM,
        "demo.duty.create",
        object_type="territory.dutyshift",
        detail={"served_shifts": len(shifts), "volunteers": len(volunteers)},
    )
    # Today's plan goes through the service, as a committee would plan it: the shifts still
    # ahead or on now, or tomorrow morning when it is late in the evening.
    starts = [_at(today, hour) for hour in (8, 18) if _at(today, hour) + SHIFT > now]
    for start in starts or [_at(today + dt.timedelta(days=1), 8)]:
        territory.plan_shift(
            SYSTEM,
            area=gate,
            user=me,
            post=DutyPost.VOLUNTEER,
            starts_at=start,
            ends_at=start + SHIFT,
        )
    ctx.log(f"duty: {len(shifts):,} served shifts, {len(volunteers):,} gate volunteers")
