"""Demo travellers: arrivals over the last three weeks, their follow-ups, and the home
observations of those from key areas, in every state, with twice-daily temperatures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.demo.steps.residents import BATCH, OTHER_REGIONS, new_person
from gridguard.health.models import (
    CheckIn,
    FollowUpTask,
    KeyRegion,
    ObservationAlert,
    ObservationOrder,
    ObservationType,
    TravellerRegistration,
)
from gridguard.health.services.followups import committees_of
from gridguard.health.travel import PROVINCES
from gridguard.people.models import KeyCategory, KeyPersonFlag, Person

DAYS = 21
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_ORIGINS = [("湖北省", "武汉市", "鄂A")] * 3 + [
    ("浙江省", "温州市", "浙C"),
    ("江苏省", "南京市", "苏A"),
    ("安徽省", "合肥市", "皖A"),
    ("广东省", "广州市", "粤A"),
    ("河南省", "郑州市", "豫A"),
]


@demo_step(order=610, name="travellers")
def travellers(ctx: DemoContext) -> None:
    """Arrivals (a third from key areas), follow-ups, observations, check-ins and alerts."""
    compounds = ctx.kind("compound")
    if not compounds:
        return
    by_id = {a.pk: a for a in ctx.areas}
    residents = Person.objects.count()
    n = max(20, int(residents * ctx.scale.traveller_share))
    today = clock.today()
    now = clock.now()
    assert all(o[0] in PROVINCES for o in _ORIGINS)
    key_regions = {(r.province, r.city): r for r in KeyRegion.objects.filter(active=True)}
    persons: list[Person] = []
    plans: list[tuple[Any, dict[str, Any]]] = []
    for i in range(n):
        compound = ctx.rnd.choice(compounds)
        province, city, plate = ctx.rnd.choice(_ORIGINS)
        unmatched = i % 20 == 19
        street = by_id.get(by_id[compound.parent_id].parent_id) if compound.parent_id else None
        area = street if unmatched and street is not None else compound
        address = (
            f"{street.name if street else ''}某某路{ctx.rnd.randint(1, 300)}号"
            if unmatched
            else f"{compound.name}{ctx.rnd.randint(1, 12)}号楼{ctx.rnd.randint(1, 20)}01室"
        )
        person = new_person(
            ctx,
            area,
            region=ctx.rnd.choice(OTHER_REGIONS),
            address=address,
            created_at=now,
            updated_at=now,
        )
        persons.append(person)
        region = key_regions.get((province, "")) or key_regions.get((province, city))
        arrival = today - dt.timedelta(days=ctx.rnd.randrange(DAYS))
        plans.append(
            (
                region,
                {
                    "receipt_code": "D" + "".join(ctx.rnd.choice(_ALPHABET) for _ in range(9)),
                    "submission_key": f"demo-{ctx.seed}-{i}",
                    "origin_province": province,
                    "origin_city": city,
                    "transport": "car" if i % 3 else "train",
                    "vehicle_number": f"{plate}{ctx.rnd.randrange(10000, 99999)}"
                    if i % 3
                    else f"G{ctx.rnd.randrange(1, 2000)}",
                    "arrival_date": arrival,
                    "channel": ("public_form", "checkpoint_device", "staff")[i % 3],
                    "destination_address": address,
                    "match_status": "unmatched" if unmatched else "matched",
                    "temperature": Decimal("36.") + Decimal(ctx.rnd.randint(0, 9)) / 10,
                    "area": area,
                },
            )
        )
    Person.objects.bulk_create(persons, batch_size=BATCH)
    regs = [
        TravellerRegistration(
            person=p,
            name=p.name,
            id_type=p.id_type,
            id_number=p.id_number,
            phone=p.phone,
            key_region=region,
            from_key_area=region is not None,
            submitted_at=dt.datetime.combine(fields["arrival_date"], dt.time(2), tzinfo=dt.UTC),
            **fields,
        )
        for p, (region, fields) in zip(persons, plans, strict=True)
    ]
    TravellerRegistration.objects.bulk_create(regs, batch_size=BATCH)
    key = [r for r in regs if r.from_key_area]
    flags, tasks = [], []
    committees = committees_of(list({r.area.pk: r.area for r in key}.values()))
    for r in key:
        arrival_at = dt.datetime.combine(r.arrival_date, dt.time(2), tzinfo=dt.UTC)
        flags.append(
            KeyPersonFlag(
                person=r.person,
                category=KeyCategory.KEY_AREA_RETURNEE,
                since=arrival_at,
                until=arrival_at + dt.timedelta(days=14),
                source=f"registration:{r.pk}",
            )
        )
        done = (today - r.arrival_date).days > 2
        tasks.append(
            FollowUpTask(
                kind="key_area_arrival",
                person=r.person,
                area=committees[r.area.pk],
                source=f"reg:{r.pk}:key_area_arrival",
                summary=f"{r.name} {r.arrival_date:%m-%d} 自{r.origin_province}{r.origin_city}来沪",
                status="done" if done else "open",
                outcome="已上门，开始居家医学观察" if done else "",
                created_at=arrival_at,
                due_at=arrival_at + dt.timedelta(hours=24),
                closed_at=arrival_at + dt.timedelta(hours=20) if done else None,
            )
        )
    KeyPersonFlag.objects.bulk_create(flags, batch_size=BATCH)
    FollowUpTask.objects.bulk_create(tasks, batch_size=BATCH)
    orders = _observations(ctx, [r for r in key if r.match_status == "matched"], today, now)
    audit.record(
        SYSTEM,
        "demo.travellers",
        detail={"registrations": len(regs), "key_area": len(key), "observations": orders},
    )
    ctx.log(
        f"travellers: {len(regs):,} registrations, {len(key):,} from key areas, "
        f"{orders:,} observations"
    )


def _observations(
    ctx: DemoContext, key: list[TravellerRegistration], today: dt.date, now: dt.datetime
) -> int:
    """An order for each key-area arrival placed at a compound: active within 14 days, then
    released; twice-daily check-ins with a few fevers and missed slots raising alerts."""
    home = ObservationType.objects.filter(code="home").first()
    if home is None or not key:
        return 0
    orders = []
    for r in key:
        starts = r.arrival_date
        ends = starts + dt.timedelta(days=home.days - 1)
        released = ends < today
        orders.append(
            ObservationOrder(
                person=r.person,
                order_type=home,
                place_address=r.destination_address,
                starts_on=starts,
                ends_on=ends,
                status="released" if released else "active",
                registration=r,
                area=r.area,
                reason="重点地区来沪",
                notice_served_at=dt.datetime.combine(starts, dt.time(4), tzinfo=dt.UTC),
                commitment_signed_at=dt.datetime.combine(starts, dt.time(4), tzinfo=dt.UTC),
                released_at=dt.datetime.combine(
                    ends + dt.timedelta(days=1), dt.time(2), tzinfo=dt.UTC
                )
                if released
                else None,
                release_note="观察期满，体温正常" if released else "",
                created_at=dt.datetime.combine(starts, dt.time(3), tzinfo=dt.UTC),
            )
        )
    ObservationOrder.objects.bulk_create(orders, batch_size=BATCH)
    checkins: list[CheckIn] = []
    alerts: list[ObservationAlert] = []
    slot_hours = [0, 6]  # 08:00 and 14:00 in Shanghai, as UTC hours
    for o in orders:
        last = min(o.ends_on, today - dt.timedelta(days=1))
        day = o.starts_on
        while day <= last:
            for index, hour in enumerate(slot_hours):
                roll = ctx.rnd.random()
                if roll < 0.02:
                    alerts.append(
                        ObservationAlert(
                            order=o,
                            area=o.area,
                            kind="missed",
                            slot_key=f"{day.isoformat()}#{index}",
                            raised_at=dt.datetime.combine(day, dt.time(hour + 2), tzinfo=dt.UTC),
                            acknowledged_at=now if day < today - dt.timedelta(days=1) else None,
                            ack_note="电话联系，已补报"
                            if day < today - dt.timedelta(days=1)
                            else "",
                        )
                    )
                    continue
                fever = roll > 0.995
                temperature = (
                    Decimal("37.8")
                    if fever
                    else Decimal("36.") + Decimal(ctx.rnd.randint(0, 9)) / 10
                )
                at = dt.datetime.combine(day, dt.time(hour, ctx.rnd.randint(0, 50)), tzinfo=dt.UTC)
                checkins.append(
                    CheckIn(
                        order=o,
                        area=o.area,
                        slot_date=day,
                        slot_index=index,
                        temperature=temperature,
                        source="self" if ctx.rnd.random() < 0.8 else "visit",
                        reported_at=at,
                    )
                )
                if fever:
                    alerts.append(
                        ObservationAlert(
                            order=o,
                            area=o.area,
                            kind="fever",
                            slot_key=f"{day.isoformat()}#{index}",
                            temperature=temperature,
                            raised_at=at,
                            acknowledged_at=at + dt.timedelta(minutes=30),
                            ack_note="已上门复测并联系社区卫生服务中心",
                        )
                    )
            day += dt.timedelta(days=1)
    CheckIn.objects.bulk_create(checkins, batch_size=BATCH)
    ObservationAlert.objects.bulk_create(alerts, batch_size=BATCH, ignore_conflicts=True)
    KeyPersonFlag.objects.bulk_create(
        [
            KeyPersonFlag(
                person_id=o.person_id,
                category=KeyCategory.HOME_OBSERVATION,
                since=o.created_at,
                until=o.released_at,
                source=f"observation:{o.pk}",
            )
            for o in orders
        ],
        batch_size=BATCH,
    )
    return len(orders)
