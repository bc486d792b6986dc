"""Demo: checkpoints with their logs, gate visitors and vehicles (A2, A3).

Every street and township also runs a road checkpoint of its own (the plan puts the big ones,
stations and ports, under the district), so each street's officials have counts to read. Each
checkpoint has two weeks of checks, about a tenth on foot, a few with a fever (referred) or
turned back; the checkpoint-device registrations of the travellers step are linked to a check
on their arrival day, as if their receipt had been scanned. A sample of compound gates (always
the demo volunteer's) has two weeks of visitors, with their host household, and vehicles.
Everything is bulk-inserted; one audit row summarises the step.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q

from gridguard.access.models import (
    CheckOutcome,
    Checkpoint,
    CheckpointCheck,
    CheckpointKind,
    GateVehicle,
    GateVisitor,
)
from gridguard.accounts.models import RoleBinding, User
from gridguard.accounts.roles import Role
from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.demo import names as N
from gridguard.demo.registry import DemoContext, Login, demo_step
from gridguard.demo.steps.people import password_hash, phone
from gridguard.demo.steps.residents import BATCH
from gridguard.health.models import TravellerRegistration
from gridguard.people.models import Household
from gridguard.territory.bulk import AreaRow, bulk_load_areas
from gridguard.territory.models import Area

DAYS = 14
GATES = 40  # compound gates with a visitor book (the demo volunteer's always among them)
CHECKS_PER_DAY = (15, 45)
VISITORS_PER_DAY = (3, 12)
VEHICLES_PER_DAY = (1, 6)
LOGIN = "checkpoint_official"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Origins of the vehicles checked (province, city, plate prefix); Shanghai's own most often.
_ORIGINS = [("上海市", "", "沪")] * 6 + [
    ("湖北省", "武汉市", "鄂A"),
    ("浙江省", "嘉兴市", "浙F"),
    ("江苏省", "苏州市", "苏E"),
    ("安徽省", "合肥市", "皖A"),
    ("江西省", "南昌市", "赣A"),
    ("河南省", "信阳市", "豫S"),
]
_VISIT_PURPOSES = ["探亲", "送物资", "维修", "护理老人", "送药", "看望父母"]
_VEHICLE_PURPOSES = ["送物资", "业主车辆", "垃圾清运", "医疗救护", "生鲜配送"]


def _plate(ctx: DemoContext, prefix: str) -> str:
    if len(prefix) == 1:  # a Shanghai plate: the letter is drawn too
        prefix += ctx.rnd.choice("ABCDEFGHJKLMN")
    if ctx.rnd.random() < 0.15:  # a new-energy plate
        return f"{prefix}D{ctx.rnd.randrange(10000, 99999)}"
    tail = "".join(ctx.rnd.choice("0123456789" + _PLATE_LETTERS[:8]) for _ in range(4))
    return f"{prefix}{ctx.rnd.randrange(1, 10)}{tail}"


def _moment(ctx: DemoContext, day: dt.date, now: dt.datetime) -> dt.datetime | None:
    """A time of day on `day` (mostly 6:00-22:00 Shanghai), or None when it is still ahead."""
    hour = ctx.rnd.choice([ctx.rnd.randint(6, 21)] * 9 + [ctx.rnd.randint(0, 23)])
    at = dt.datetime.combine(
        day, dt.time(hour, ctx.rnd.randrange(60), ctx.rnd.randrange(60)), tzinfo=clock.SHANGHAI
    )
    return at.astimezone(dt.UTC) if at <= now else None


@demo_step(order=720, name="checkpoints")
def checkpoints(ctx: DemoContext) -> None:
    """Street checkpoints, two weeks of checks at every checkpoint, and gate books."""
    if not ctx.kind("district"):
        return
    now = clock.now()
    today = clock.today()
    days = [today - dt.timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
    places = _street_checkpoints(ctx)
    made = _checkpoints(ctx, places)
    checks, links = _checks(ctx, made, days, now)
    _login(ctx, made)
    visitors, vehicles, gates = _gate_books(ctx, days, now)
    audit.record(
        SYSTEM,
        "demo.checkpoints",
        detail={
            "checkpoints": len(made),
            "checks": checks,
            "receipts_linked": links,
            "gates": gates,
            "visitors": visitors,
            "vehicles": vehicles,
        },
    )
    ctx.log(
        f"checkpoints: {len(made)} checkpoints, {checks:,} checks ({links} receipts linked); "
        f"{visitors:,} visitors and {vehicles:,} vehicles at {gates} gates"
    )


def _street_checkpoints(ctx: DemoContext) -> list[Any]:
    """One road checkpoint under each street and township, added to the territory."""
    streets = ctx.kind("street") + ctx.kind("township")
    rows = [
        AreaRow(
            code=f"{s.code}K01",
            name=N.word(ctx.rnd) + "道口",
            kind="checkpoint",
            parent_code=s.code,
        )
        for s in streets
        if f"{s.code}K01" not in ctx.by_code
    ]
    if rows:
        bulk_load_areas(rows, actor=SYSTEM)
        fields = ("id", "code", "name", "kind", "parent_id", "path", "depth")
        added = list(Area.objects.filter(code__in=[r.code for r in rows]).only(*fields))
        ctx.set_areas(sorted(ctx.areas + added, key=lambda a: a.path))
    return ctx.kind("checkpoint")


def _checkpoints(ctx: DemoContext, places: list[Any]) -> list[Checkpoint]:
    """A Checkpoint for every checkpoint place: the district's first is the railway station,
    its second the river port; every other one a road checkpoint."""
    by_id = {a.pk: a for a in ctx.areas}
    rows: list[Checkpoint] = []
    district_seen: dict[int, int] = defaultdict(int)
    for place in places:
        parent = by_id.get(place.parent_id)
        kind = CheckpointKind.ROAD
        if parent is not None and parent.kind == "district":
            district_seen[parent.pk] += 1
            kind = {1: CheckpointKind.RAIL, 2: CheckpointKind.PORT}.get(
                district_seen[parent.pk], CheckpointKind.ROAD
            )
        rows.append(Checkpoint(area=place, kind=kind, created_at=clock.now()))
    made = Checkpoint.objects.bulk_create(rows, batch_size=BATCH)
    if made and made[0].pk is None:  # no RETURNING: read the keys back
        keys = dict(Checkpoint.objects.values_list("area_id", "pk"))
        for c in made:
            c.pk = keys[c.area.pk]
    return made


def _checks(
    ctx: DemoContext, made: list[Checkpoint], days: list[dt.date], now: dt.datetime
) -> tuple[int, int]:
    """Two weeks of checks at every checkpoint; device registrations linked on arrival."""
    rows: list[CheckpointCheck] = []
    for cp in made:
        for day in days:
            for _ in range(ctx.rnd.randint(*CHECKS_PER_DAY)):
                at = _moment(ctx, day, now)
                if at is None:
                    continue
                province, city, prefix = ctx.rnd.choice(_ORIGINS)
                on_foot = cp.kind != CheckpointKind.ROAD or ctx.rnd.random() < 0.1
                travellers = 1 if on_foot else ctx.rnd.choice([1, 1, 2, 2, 3, 4, 5])
                fever = 1 if ctx.rnd.random() < 0.01 else 0
                turned_back = not fever and ctx.rnd.random() < 0.03
                outcome = (
                    CheckOutcome.REFERRED
                    if fever
                    else CheckOutcome.TURNED_BACK
                    if turned_back
                    else CheckOutcome.CLEARED
                )
                rows.append(
                    CheckpointCheck(
                        area_id=cp.area.pk,
                        checkpoint=cp,
                        checked_at=at,
                        plate="" if on_foot else _plate(ctx, prefix),
                        origin_province=province,
                        origin_city=city,
                        passengers=travellers,
                        fever_count=fever,
                        outcome=outcome,
                        note="体温复测38.1℃，已转社区卫生服务中心" if fever else "",
                        recorded_by="demo",
                    )
                )
    rows = CheckpointCheck.objects.bulk_create(rows, batch_size=BATCH)
    if rows and rows[0].pk is None:
        rows = list(CheckpointCheck.objects.order_by("id"))
    return len(rows), _link_receipts(ctx, made, rows)


def _link_receipts(ctx: DemoContext, made: list[Checkpoint], rows: list[CheckpointCheck]) -> int:
    """Each registration sent from a checkpoint device by car is linked to a check at a road
    checkpoint on its arrival day (as if its receipt had been scanned there)."""
    road = [c for c in made if c.kind == CheckpointKind.ROAD]
    if not road:
        return 0
    by_day: dict[tuple[int, dt.date], list[CheckpointCheck]] = defaultdict(list)
    for check in rows:
        if check.plate:
            by_day[(check.checkpoint_id, clock.local(check.checked_at).date())].append(check)
    regs = TravellerRegistration.objects.filter(
        channel="checkpoint_device", transport="car"
    ).values_list("pk", "arrival_date", "origin_province", "origin_city")
    through = CheckpointCheck.registrations.through
    links = []
    for pk, arrival, province, city in regs:
        candidates = by_day.get((ctx.rnd.choice(road).pk, arrival))
        if not candidates:
            continue
        # Each car once: travellers of one car come from one place.
        check = candidates.pop(ctx.rnd.randrange(len(candidates)))
        # The car the traveller came in: its origin is theirs.
        check.origin_province, check.origin_city = province[:40], city[:40]
        links.append(through(checkpointcheck_id=check.pk, travellerregistration_id=pk))
    linked = {link.checkpointcheck_id for link in links}
    CheckpointCheck.objects.bulk_update(
        [c for c in rows if c.pk in linked], ["origin_province", "origin_city"], batch_size=BATCH
    )
    through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)
    return len(links)


def _login(ctx: DemoContext, made: list[Checkpoint]) -> None:
    """A checkpoint official of the first street, on duty at its road checkpoint."""
    street = ctx.key.get("street_1")
    post = next((c for c in made if street is not None and c.area.parent_id == street.pk), None)
    if post is None or User.objects.filter(username=LOGIN).exists():
        return
    user = User.objects.create(
        username=LOGIN,
        password=password_hash(ctx),
        display_name=ctx.fake.name(),
        phone=phone(ctx),
    )
    RoleBinding.objects.create(user=user, role=Role.GATE_VOLUNTEER, area=post.area)
    audit.record(SYSTEM, "demo.staff.create", user, detail={"role": "gate_volunteer"})
    ctx.users[LOGIN] = user
    ctx.logins.append(Login(LOGIN, Role.GATE_VOLUNTEER, post.area.name, post.area.code))


def _sample_gates(ctx: DemoContext) -> list[Any]:
    by_id = {a.pk: a for a in ctx.areas}
    gates = [
        g for g in ctx.kind("gate") if getattr(by_id.get(g.parent_id), "kind", "") == "compound"
    ]
    chosen = ctx.rnd.sample(gates, min(GATES, len(gates)))
    first = ctx.key.get("gate_1")
    if first is not None and first.kind == "gate" and first not in chosen:
        chosen[0:0] = [first]
    return sorted(chosen, key=lambda g: g.path)


def _gate_books(ctx: DemoContext, days: list[dt.date], now: dt.datetime) -> tuple[int, int, int]:
    """Visitors (to a household of the compound) and vehicles at a sample of gates."""
    gates = _sample_gates(ctx)
    by_id = {a.pk: a for a in ctx.areas}
    compounds = {by_id[g.parent_id] for g in gates}
    homes: dict[str, list[int]] = defaultdict(list)
    paths = [c.path for c in compounds]
    within = Q()
    for path in paths:
        within |= Q(area__path__startswith=path)
    for pk, area_path in Household.objects.filter(within).values_list("pk", "area__path"):
        for path in paths:
            if area_path.startswith(path):
                homes[path].append(pk)
                break
    visitors: list[GateVisitor] = []
    vehicles: list[GateVehicle] = []
    for gate in gates:
        households = homes.get(by_id[gate.parent_id].path, [])
        for day in days:
            if households:
                for _ in range(ctx.rnd.randint(*VISITORS_PER_DAY)):
                    at = _moment(ctx, day, now)
                    if at is not None:
                        visitors.append(_visitor(ctx, gate, ctx.rnd.choice(households), at, now))
            for _ in range(ctx.rnd.randint(*VEHICLES_PER_DAY)):
                at = _moment(ctx, day, now)
                if at is not None:
                    vehicles.append(_vehicle(ctx, gate, at))
    GateVisitor.objects.bulk_create(visitors, batch_size=BATCH)
    GateVehicle.objects.bulk_create(vehicles, batch_size=BATCH)
    return len(visitors), len(vehicles), len(gates)


def _temperature(ctx: DemoContext) -> Decimal:
    if ctx.rnd.random() < 0.02:
        return Decimal("37.") + Decimal(ctx.rnd.randint(3, 9)) / 10
    return Decimal("36.") + Decimal(ctx.rnd.randint(0, 8)) / 10


def _visitor(
    ctx: DemoContext, gate: Any, household: int, at: dt.datetime, now: dt.datetime
) -> GateVisitor:
    temperature = _temperature(ctx)
    admitted = temperature < Decimal("37.3")
    left = at + dt.timedelta(minutes=ctx.rnd.randint(20, 240))
    return GateVisitor(
        area_id=gate.pk,
        name=ctx.fake.name(),
        phone=phone(ctx),
        host_household_id=household,
        purpose=ctx.rnd.choice(_VISIT_PURPOSES),
        time_in=at,
        time_out=left if admitted and left <= now else None,
        temperature=temperature,
        admitted=admitted,
        recorded_by="demo",
    )


def _vehicle(ctx: DemoContext, gate: Any, at: dt.datetime) -> GateVehicle:
    temperature = _temperature(ctx)
    incoming = ctx.rnd.random() < 0.6
    passengers = ctx.rnd.choice([0, 0, 0, 1, 1, 2])
    return GateVehicle(
        area_id=gate.pk,
        plate=_plate(ctx, "沪"),
        direction="in" if incoming else "out",
        driver_name=ctx.fake.name(),
        driver_phone=phone(ctx),
        passengers=passengers,
        purpose=ctx.rnd.choice(_VEHICLE_PURPOSES),
        temperature=temperature,
        at=at,
        admitted=not incoming or temperature < Decimal("37.3"),
        recorded_by="demo",
    )
