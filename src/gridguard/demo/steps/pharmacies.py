"""Demo pharmacies: fever-medicine purchases pushed to the buyers' committees, and mask
outlets with daily quotas and residents' reservations (collected, waiting, not collected)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.demo.steps.residents import BATCH
from gridguard.health.models import (
    FeverMedicinePurchase,
    FollowUpTask,
    MaskOutlet,
    MaskQuotaDay,
    MaskReservation,
)
from gridguard.health.services.followups import committees_of
from gridguard.people.models import KeyCategory, KeyPersonFlag, Person

MEDICINES = ["布洛芬缓释胶囊", "对乙酰氨基酚片", "复方氨酚烷胺片", "连花清瘟胶囊", "阿司匹林泡腾片"]
_CODE = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
DAYS = 7


@demo_step(order=620, name="pharmacies")
def pharmacies(ctx: DemoContext) -> None:
    """Purchases over a week at every pharmacy; mask outlets with a week of reservations."""
    shops = ctx.kind("pharmacy")
    if not shops:
        return
    by_id = {a.pk: a for a in ctx.areas}
    now = clock.now()
    today = clock.today()
    purchases, tasks, _flags = _purchases(ctx, shops, by_id, now)
    reservations = _masks(ctx, shops, today, now)
    audit.record(
        SYSTEM,
        "demo.pharmacies",
        detail={"purchases": purchases, "follow_ups": tasks, "reservations": reservations},
    )
    ctx.log(
        f"pharmacies: {purchases:,} fever-medicine purchases ({tasks:,} follow-ups), "
        f"{reservations:,} mask reservations"
    )


def _purchases(
    ctx: DemoContext, shops: list[Any], by_id: dict[int, Any], now: dt.datetime
) -> tuple[int, int, int]:
    rows: list[FeverMedicinePurchase] = []
    for shop in shops:
        committee = by_id.get(shop.parent_id)
        if committee is None:
            continue
        buyers = list(
            Person.objects.filter(area__path__startswith=committee.path, household__isnull=False)
            .order_by("?")
            .only("id", "name", "id_type", "id_number", "phone", "address", "area_id")[
                : ctx.rnd.randint(2, 6)
            ]
        )
        for b in buyers:
            at = now - dt.timedelta(days=ctx.rnd.randrange(DAYS), hours=ctx.rnd.randrange(12))
            rows.append(
                FeverMedicinePurchase(
                    area=shop,
                    buyer=b,
                    name=b.name,
                    id_type=b.id_type,
                    id_number=b.id_number,
                    phone=b.phone,
                    medicine=ctx.rnd.choice(MEDICINES),
                    quantity=ctx.rnd.randint(1, 2),
                    temperature=Decimal("37.") + Decimal(ctx.rnd.randint(0, 9)) / 10,
                    buyer_address=b.address,
                    bought_at=at,
                    submission_key=f"demo-purchase-{ctx.seed}-{shop.pk}-{b.pk}",
                )
            )
    FeverMedicinePurchase.objects.bulk_create(rows, batch_size=BATCH)
    homes = {p.buyer.area_id: by_id[p.buyer.area_id] for p in rows if p.buyer.area_id in by_id}
    committees = committees_of(list(homes.values()))
    tasks = [
        FollowUpTask(
            kind="fever_medicine",
            person=p.buyer,
            area=committees.get(p.buyer.area_id, p.area),
            source=f"purchase:{p.pk}",
            summary=f"{p.name} 于 {clock.local(p.bought_at):%m-%d %H:%M} 购买{p.medicine}",
            status="done" if p.bought_at < now - dt.timedelta(days=2) else "open",
            outcome="已电话随访，体温正常" if p.bought_at < now - dt.timedelta(days=2) else "",
            created_at=p.bought_at,
            due_at=p.bought_at + dt.timedelta(hours=24),
        )
        for p in rows
    ]
    FollowUpTask.objects.bulk_create(tasks, batch_size=BATCH)
    flags = [
        KeyPersonFlag(
            person=p.buyer,
            category=KeyCategory.FEVER_MEDICINE,
            since=p.bought_at,
            until=p.bought_at + dt.timedelta(days=14),
            source=f"purchase:{p.pk}",
        )
        for p in rows
    ]
    KeyPersonFlag.objects.bulk_create(flags, batch_size=BATCH)
    return len(rows), len(tasks), len(flags)


def _masks(ctx: DemoContext, shops: list[Any], today: dt.date, now: dt.datetime) -> int:
    """Every other pharmacy is a mask outlet; each day residents nearby reserve and collect."""
    outlets = MaskOutlet.objects.bulk_create(
        [
            MaskOutlet(area=shop, daily_quota=ctx.rnd.choice((200, 300, 500)), per_person_limit=5)
            for shop in shops[::2]
        ]
    )
    days: list[MaskQuotaDay] = []
    reservations: list[MaskReservation] = []
    used: set[str] = set()
    for outlet in outlets:
        committee_path = outlet.area.path.rsplit("/", 2)[0] + "/"
        people = list(
            Person.objects.filter(
                area__path__startswith=committee_path, household__isnull=False
            ).values_list("id", flat=True)[:200]
        )
        for back in range(DAYS - 1, -2, -1):  # a week ago to tomorrow
            day = today - dt.timedelta(days=back)
            takers = ctx.rnd.sample(people, min(len(people), ctx.rnd.randint(5, 25)))
            reserved = picked = 0
            for pid in takers:
                q = ctx.rnd.choice((2, 3, 5))
                if reserved + q > outlet.daily_quota:
                    break
                code = "".join(ctx.rnd.choice(_CODE) for _ in range(8))
                while code in used:
                    code = "".join(ctx.rnd.choice(_CODE) for _ in range(8))
                used.add(code)
                if day < today:
                    status = "picked_up" if ctx.rnd.random() < 0.85 else "expired"
                else:
                    status = "reserved"
                reserved += q if status != "expired" else 0
                picked += q if status == "picked_up" else 0
                at = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
                reservations.append(
                    MaskReservation(
                        outlet=outlet,
                        area=outlet.area,
                        person_id=pid,
                        day=day,
                        quantity=q,
                        code=code,
                        status=status,
                        reserved_at=at,
                        picked_up_at=at + dt.timedelta(hours=20) if status == "picked_up" else None,
                        submission_key=f"demo-mask-{ctx.seed}-{code}",
                    )
                )
            days.append(
                MaskQuotaDay(
                    outlet=outlet,
                    area=outlet.area,
                    day=day,
                    quota=outlet.daily_quota,
                    reserved=reserved,
                    picked_up=picked,
                )
            )
    MaskQuotaDay.objects.bulk_create(days, batch_size=BATCH)
    MaskReservation.objects.bulk_create(reservations, batch_size=BATCH)
    return len(reservations)
