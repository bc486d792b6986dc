"""Demo: entry passes for residents and gate logs over weeks (A1, A2).

Nine residents in ten get a signed resident pass for their compound (some for one gate only, a
few revoked since). The gates log three weeks of entries as the rules of February 2020 had
them: one member of a household out every other day or so for shopping, back mostly in the
morning; people back at work returning in the evening; temperatures taken at the gate; and
refusals of every kind (fever, yellow and red codes, expired, revoked, another compound,
another gate, forged or unreadable passes).

Everything is written in bulk: passes signed in memory with each street's key, then passes,
their gates and the gate events inserted as plain rows (COPY on PostgreSQL, one executemany
on SQLite): building a model instance per event cost more than the rest of the step. At the
city preset only the first compounds get passes and logs, so the step stays short there too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, models

from gridguard.access import credential
from gridguard.access.models import EntryPass, GateEvent, PassKind, PassStatus, Verdict
from gridguard.access.services.keys import active_key, private_key
from gridguard.core import audit, clock, masking
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.people.models import Person
from gridguard.territory.models import Area

DAYS = 21
PASS_SHARE = 0.9
ONE_GATE_SHARE = 0.15  # passes valid at one gate only
REVOKED_SHARE = 0.005
SHOPPING_SHARE = 0.5  # households sending someone out on a given day
WORKER_SHARE = 0.08  # residents back at work (weekdays)
REFUSED_SHARE = 0.03
CITY_COMPOUNDS = 150  # compounds with passes and logs at a preset without per-place detail
_SERIAL = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# Hours of the day people come back through the gate, with weights (Shanghai time).
_SHOPPING_HOURS = [(7, 6), (8, 10), (9, 12), (10, 10), (11, 6), (12, 3), (13, 2), (14, 3)]
_SHOPPING_HOURS += [(15, 5), (16, 7), (17, 6), (18, 3), (19, 2), (20, 1), (21, 1)]
_WORK_HOURS = [(17, 4), (18, 8), (19, 5), (20, 2), (21, 1), (8, 1)]
# Refusals by reason, with weights, and whether the scan names a known pass (a forged or
# unreadable one names nobody).
_REFUSALS: list[tuple[str, int, bool]] = [
    (Verdict.FEVER, 10, True),
    (Verdict.CODE_YELLOW, 8, True),
    (Verdict.CODE_RED, 4, True),
    (Verdict.EXPIRED, 6, True),
    (Verdict.NOT_YET_VALID, 2, True),
    (Verdict.REVOKED, 4, True),
    (Verdict.WRONG_COMPOUND, 8, True),
    (Verdict.WRONG_GATE, 6, True),
    (Verdict.MALFORMED, 5, False),
    (Verdict.UNKNOWN_KEY, 2, False),
    (Verdict.FORGED, 2, False),
    (Verdict.WRONG_ISSUER, 2, False),
]
_NAMED = {str(v): named for v, _w, named in _REFUSALS}
_REFUSAL_WEIGHTS = [(str(v), w) for v, w, _named in _REFUSALS]


class _Pass(NamedTuple):
    pk: int
    person_id: int
    compound_id: int
    household_id: int
    gate_id: int | None  # the one gate it is valid at, if any
    revoked_at: dt.datetime | None


def _weighted(ctx: DemoContext, table: list[tuple[Any, int]]) -> Any:
    return ctx.rnd.choices([v for v, _w in table], weights=[w for _v, w in table])[0]


def _sqlite_datetime(value: dt.datetime) -> str:
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _sqlite_converter(field: models.Field[Any, Any]) -> Any:
    """How Django would store the field's values on SQLite, without a model instance per row
    (building one per gate event cost more than the rest of the step)."""
    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime
    if isinstance(field, models.UUIDField):
        return lambda v: v.hex
    if isinstance(field, models.DecimalField):
        return str
    return None


def insert_rows(model: type[models.Model], rows: Iterable[dict[str, Any]]) -> int:
    """Insert plain rows ({attname: value}; defaults for the rest) in one bulk statement:
    COPY on PostgreSQL, executemany on SQLite. Returns how many."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    names = [f.attname for f in fields]
    values = [tuple(row.get(n, defaults[n]) for n in names) for row in rows]
    if not values:
        return 0
    table = model._meta.db_table
    columns = ", ".join(connection.ops.quote_name(f.column or f.attname) for f in fields)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            raw: Any = cur.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for v in values:
                    copy.write_row(v)
        else:
            convert = [(i, c) for i, f in enumerate(fields) if (c := _sqlite_converter(f))]
            if convert:
                for n, v in enumerate(values):
                    row = list(v)
                    for i, c in convert:
                        if row[i] is not None:
                            row[i] = c(row[i])
                    values[n] = tuple(row)
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
    return len(values)


def _compounds(ctx: DemoContext) -> list[Area]:
    """The compounds that get passes and logs (read from the database, so `--only passes`
    works on an existing demo city)."""
    qs = Area.objects.filter(kind="compound").order_by("path")
    return list(qs if ctx.scale.detail else qs[:CITY_COMPOUNDS])


def _serial(ctx: DemoContext, used: set[str]) -> str:
    while True:
        value = "".join(ctx.rnd.choice(_SERIAL) for _ in range(10))
        if value not in used:
            used.add(value)
            return value


def _residents(compounds: list[Area]) -> dict[int, list[tuple[int, str, int]]]:
    """{compound pk: [(person pk, name, household pk)]} of the household members living there
    (in the compound or one of its buildings)."""
    places = {c.pk: c.pk for c in compounds}
    for pk, parent in Area.objects.filter(kind="building", parent__in=compounds).values_list(
        "pk", "parent_id"
    ):
        places[pk] = parent
    out: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    rows = (
        Person.objects.filter(
            area_id__in=list(places), household__isnull=False, merged_into__isnull=True
        )
        .order_by("pk")
        .values_list("pk", "name", "area_id", "household_id")
    )
    for pk, name, area_id, household in rows:
        out[places[area_id]].append((pk, name, household))
    return out


def _issue(
    ctx: DemoContext,
    compounds: list[Area],
    gates: dict[int, list[Area]],
    residents: dict[int, list[tuple[int, str, int]]],
) -> list[_Pass]:
    """Signed resident passes for most residents (the demo resident always), with their
    gates."""
    now = clock.now()
    valid_from = now - dt.timedelta(days=DAYS + 9)
    valid_until = valid_from + dt.timedelta(days=180)
    keep = getattr(ctx.key.get("resident_person"), "pk", None)
    used: set[str] = set()
    keys: dict[str, tuple[Any, Any]] = {}
    rows: list[dict[str, Any]] = []
    plans: list[tuple[str, int, int, int, int | None, dt.datetime | None]] = []
    for compound in compounds:
        street = compound.codes[2] if len(compound.codes) > 2 else compound.code
        if street not in keys:
            key = active_key(compound)
            keys[street] = (key, private_key(key))
        key, secret = keys[street]
        own_gates = gates.get(compound.pk, [])
        for pk, name, household in residents.get(compound.pk, []):
            if pk != keep and ctx.rnd.random() > PASS_SHARE:
                continue
            one_gate = own_gates[0] if own_gates and ctx.rnd.random() < ONE_GATE_SHARE else None
            revoked = (
                now - dt.timedelta(days=ctx.rnd.randint(1, 10))
                if pk != keep and ctx.rnd.random() < REVOKED_SHARE
                else None
            )
            pass_id = _serial(ctx, used)
            claims = credential.PassClaims(
                pass_id=pass_id,
                compound=compound.code,
                gates=(one_gate.code,) if one_gate is not None else (),
                masked_name=masking.mask_name(name),
                kind=PassKind.RESIDENT.value,  # the credential takes plain strings
                issuer=key.area.code,
                issued_at=int(valid_from.timestamp()),
                not_before=int(valid_from.timestamp()),
                expires_at=int(valid_until.timestamp()),
            )
            rows.append(
                {
                    "area_id": compound.pk,
                    "person_id": pk,
                    "pass_id": pass_id,
                    "kind": PassKind.RESIDENT.value,
                    "status": PassStatus.REVOKED.value if revoked else PassStatus.ACTIVE.value,
                    "valid_from": valid_from,
                    "valid_until": valid_until,
                    "requested_at": valid_from,
                    "decided_at": valid_from,
                    "decided_by": "demo",
                    "signing_key_id": key.pk,
                    "credential": credential.sign(claims, secret),
                    "revoked_at": revoked,
                    "revoked_by": "demo" if revoked else "",
                    "revoke_reason": "搬离小区" if revoked else "",
                }
            )
            gate_id = one_gate.pk if one_gate is not None else None
            plans.append((pass_id, pk, compound.pk, household, gate_id, revoked))
    insert_rows(EntryPass, rows)
    ids = dict(
        EntryPass.objects.filter(decided_by="demo", requested_at=valid_from).values_list(
            "pass_id", "pk"
        )
    )
    passes = [
        _Pass(ids[pid], person, compound, household, gate, revoked)
        for pid, person, compound, household, gate, revoked in plans
    ]
    through = EntryPass.gates.through
    insert_rows(
        through, ({"entrypass_id": p.pk, "area_id": p.gate_id} for p in passes if p.gate_id)
    )
    return passes


def _at(ctx: DemoContext, day: dt.date, hours: list[tuple[int, int]]) -> dt.datetime:
    hour = _weighted(ctx, hours)
    local = dt.datetime.combine(day, dt.time(hour), tzinfo=clock.SHANGHAI)
    return (local + dt.timedelta(seconds=ctx.rnd.randrange(3600))).astimezone(dt.UTC)


def _temperature(ctx: DemoContext, fever: bool = False) -> Decimal:
    value = ctx.rnd.uniform(37.3, 38.8) if fever else min(37.2, ctx.rnd.gauss(36.5, 0.25))
    return Decimal(f"{max(35.8, value):.1f}")


def _events(
    ctx: DemoContext, compounds: list[Area], gates: dict[int, list[Area]], passes: list[_Pass]
) -> list[dict[str, Any]]:
    """Three weeks of scans at the gates of `compounds`."""
    now = clock.now()
    today = clock.today()
    households: dict[int, dict[int, list[_Pass]]] = defaultdict(lambda: defaultdict(list))
    for p in passes:
        households[p.compound_id][p.household_id].append(p)
    events: list[dict[str, Any]] = []

    def scan(p: _Pass, at: dt.datetime) -> None:
        own = gates[p.compound_id]
        # The main gate takes half the traffic, the others share the rest.
        gate_id = p.gate_id or (own[0] if ctx.rnd.random() < 0.5 else ctx.rnd.choice(own)).pk
        verdict = str(Verdict.OK)
        if p.revoked_at is not None and at >= p.revoked_at:
            verdict = str(Verdict.REVOKED)
        elif ctx.rnd.random() < REFUSED_SHARE:
            verdict = _weighted(ctx, _REFUSAL_WEIGHTS)
        shown: _Pass | None = p
        if verdict == Verdict.WRONG_GATE and len(own) > 1:
            gate_id = next(g.pk for g in own if g.pk != gate_id)
        elif verdict == Verdict.WRONG_COMPOUND:
            # A pass of another compound, shown here by its holder.
            shown = ctx.rnd.choice(passes)
            while shown.compound_id == p.compound_id and len(households) > 1:
                shown = ctx.rnd.choice(passes)
        elif not _NAMED.get(verdict, True):
            shown = None
        offline = ctx.rnd.random() < 0.05
        taken = verdict == Verdict.FEVER or ctx.rnd.random() < 0.95
        late = dt.timedelta(minutes=ctx.rnd.randint(20, 240)) if offline else dt.timedelta()
        events.append(
            {
                "event_id": uuid.UUID(int=ctx.rnd.getrandbits(128), version=4),
                "area_id": gate_id,
                "entry_pass_id": shown.pk if shown is not None else None,
                "person_id": shown.person_id if shown is not None else None,
                "verdict": verdict,
                "temperature": _temperature(ctx, verdict == Verdict.FEVER) if taken else None,
                "scanned_at": at,
                "received_at": at + late,
                "offline": offline,
                "recorded_by": "demo",
                "flagged": "",
            }
        )

    for back in range(DAYS - 1, -1, -1):
        day = today - dt.timedelta(days=back)
        weekday = day.weekday() < 5
        for compound in compounds:
            if not gates.get(compound.pk):
                continue
            for members in households[compound.pk].values():
                if ctx.rnd.random() < SHOPPING_SHARE:
                    at = _at(ctx, day, _SHOPPING_HOURS)
                    if at <= now:
                        scan(ctx.rnd.choice(members), at)
                if weekday:
                    for p in members:
                        if ctx.rnd.random() < WORKER_SHARE:
                            at = _at(ctx, day, _WORK_HOURS)
                            if at <= now:
                                scan(p, at)
    # Gate by gate, in time order, as the scanners upload them: the (area, scanned_at)
    # index then grows at its ends (a fifth faster on SQLite than in global time order).
    events.sort(key=lambda e: (e["area_id"], e["scanned_at"]))
    return events


@demo_step(order=700, name="passes")
def passes_and_gate_logs(ctx: DemoContext) -> None:
    """Resident passes for most residents, and three weeks of gate logs."""
    compounds = _compounds(ctx)
    if not compounds:
        return
    gates: dict[int, list[Area]] = defaultdict(list)
    for gate in Area.objects.filter(kind="gate", parent__in=compounds).order_by("code"):
        gates[gate.parent_id].append(gate)  # type: ignore[index]
    passes = _issue(ctx, compounds, gates, _residents(compounds))
    events = _events(ctx, compounds, gates, passes)
    insert_rows(GateEvent, events)
    refused = sum(1 for e in events if e["verdict"] != Verdict.OK)
    audit.record(
        SYSTEM,
        "demo.passes",
        detail={"passes": len(passes), "gate_events": len(events), "refused": refused},
    )
    ctx.log(
        f"passes: {len(passes):,} resident passes, {len(events):,} gate events "
        f"over {DAYS} days ({refused:,} refused)"
    )
