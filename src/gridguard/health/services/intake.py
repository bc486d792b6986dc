"""Placing queued registrations (the intake queue) in batches.

`accept_registration` keeps each checked declaration durably; `process_intake` takes a batch
of waiting rows (SKIP LOCKED, so several workers can share the queue), matches the addresses,
finds or creates the persons, writes the registrations, key-area flags and follow-up tasks
and their audit rows with a few statements for the whole batch, and links each intake row to
its registration. A batch that fails is retried row by row, and a row that still fails keeps
its reason in `problem` and stays in the queue: nothing accepted is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from gridguard.core import audit, clock, context
from gridguard.health import travel
from gridguard.health.models import (
    FollowUpTask,
    MatchStatus,
    RegistrationIntake,
    TravellerRegistration,
)
from gridguard.health.services.followups import committees_of
from gridguard.health.services.registration import follow_up_kinds
from gridguard.people.duplicates import flag_possible_duplicates_many
from gridguard.people.models import KeyCategory, KeyPersonFlag, Person
from gridguard.people.signals import announce
from gridguard.territory.address_match import place_address
from gridguard.territory.models import Area

log = logging.getLogger(__name__)
BATCH = 200
FOLLOW_UP_DUE = dt.timedelta(hours=24)


@dataclass
class _Row:
    intake: RegistrationIntake
    d: dict[str, Any]
    area: Area
    matched: bool
    region: tuple[int, int] | None
    person: Person | None = None
    moved: bool = False


def pending_count() -> int:
    """How many accepted registrations wait to be placed."""
    return RegistrationIntake.objects.filter(processed_at__isnull=True).count()


def process_intake(*, ids: list[int] | None = None, limit: int = BATCH) -> int:
    """Place up to `limit` waiting registrations (or exactly `ids`); returns how many."""
    try:
        return _process_batch(ids=ids, limit=limit)
    except Exception:
        if ids is not None and len(ids) == 1:
            _record_problem(ids[0])
            return 0
        log.exception("intake batch failed; placing its rows one by one")
    waiting = list(
        RegistrationIntake.objects.filter(processed_at__isnull=True, **_only(ids))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    done = 0
    for pk in waiting:
        try:
            done += _process_batch(ids=[pk], limit=1)
        except Exception:
            _record_problem(pk)
    return done


def _only(ids: list[int] | None) -> dict[str, Any]:
    return {"pk__in": ids} if ids is not None else {}


def _record_problem(pk: int) -> None:
    log.exception("intake row %s could not be placed", pk)
    RegistrationIntake.objects.filter(pk=pk).update(problem="could not be placed; will retry")


def _process_batch(*, ids: list[int] | None, limit: int) -> int:
    with transaction.atomic(), audit.batched():
        qs = RegistrationIntake.objects.filter(processed_at__isnull=True, **_only(ids))
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        intakes = list(qs.order_by("id")[:limit])
        if not intakes:
            return 0
        now = clock.now()
        placed = [place_address(i.declaration["destination_address"]) for i in intakes]
        areas = Area.objects.in_bulk({pk for pk, _m, _n in placed})
        rows = []
        for i, (area_pk, matched, _norm) in zip(intakes, placed, strict=True):
            d = i.declaration
            region = travel.key_region_for(
                d["origin_province"], d["origin_city"], dt.date.fromisoformat(d["arrival_date"])
            )
            rows.append(_Row(i, d, areas[area_pk], matched, region))
        new_persons = _persons(rows, now)
        regs = _registrations(rows, now)
        _flags_and_tasks(rows, regs, now)
        # Link each intake row to its registration (same submission key) in one statement.
        RegistrationIntake.objects.filter(pk__in=[r.intake.pk for r in rows]).update(
            processed_at=now,
            problem="",
            registration=Subquery(
                TravellerRegistration.objects.filter(
                    submission_key=OuterRef("submission_key")
                ).values("pk")[:1]
            ),
        )
        flag_possible_duplicates_many(new_persons)
        announce(Person, *[r.person.pk for r in rows if r.person is not None])
        return len(rows)


def _persons(rows: list[_Row], now: dt.datetime) -> list[Person]:
    """Find or create the person of each row (one person per identity, also within the batch);
    a known person moves to the new destination. Returns the persons created."""
    numbers = {r.d["id_number"] for r in rows}
    known = {
        (p.id_type, p.id_number): p
        for p in Person.objects.select_for_update().filter(id_number__in=numbers)
    }
    created: dict[tuple[str, str], Person] = {}
    moved: dict[int, Person] = {}
    for r in rows:
        key = (r.d["id_type"], r.d["id_number"])
        person = known.get(key) or created.get(key)
        if person is None:
            born = r.d.get("birth_date")
            person = Person(
                id_type=key[0],
                id_number=key[1],
                name=r.d["name"],
                sex=r.d.get("sex") or "unknown",
                birth_date=dt.date.fromisoformat(born) if born else None,
                phone=r.d["phone"],
                area=r.area,
                address=r.d["destination_address"],
                created_at=now,
                updated_at=now,
            )
            created[key] = person
        elif person.area_id != r.area.pk or person.phone != r.d["phone"]:
            person.area, person.phone = r.area, r.d["phone"]
            person.address, person.updated_at = r.d["destination_address"], now
            if person.pk is not None:
                moved[person.pk] = person
                r.moved = True
        r.person = person
    Person.objects.bulk_create(list(created.values()))
    if moved:
        Person.objects.bulk_update(list(moved.values()), ["area", "phone", "address", "updated_at"])
    audited: set[int] = set()
    for r in rows:
        assert r.person is not None
        key = (r.person.id_type, r.person.id_number)
        if created.get(key) is r.person and id(r.person) not in audited:
            _audit(r, "person.create", r.person, {})
            audited.add(id(r.person))
        elif r.moved:
            _audit(r, "person.update", r.person, {"fields": ["area", "phone"]})
    return list(created.values())


def _registrations(rows: list[_Row], now: dt.datetime) -> list[TravellerRegistration]:
    regs = []
    for r in rows:
        d = r.d
        assert r.person is not None
        regs.append(
            TravellerRegistration(
                receipt_code=r.intake.receipt_code,
                submission_key=r.intake.submission_key,
                person=r.person,
                name=d["name"],
                id_type=d["id_type"],
                id_number=d["id_number"],
                phone=d["phone"],
                origin_province=d["origin_province"],
                origin_city=d["origin_city"],
                route=d["route"],
                transport=d["transport"],
                vehicle_number=d["vehicle_number"],
                arrival_date=dt.date.fromisoformat(d["arrival_date"]),
                checkpoint_id=r.intake.checkpoint_id,
                channel=r.intake.channel,
                destination_address=d["destination_address"],
                match_status=MatchStatus.MATCHED if r.matched else MatchStatus.UNMATCHED,
                symptoms=d["symptoms"],
                temperature=Decimal(d["temperature"]) if d["temperature"] else None,
                contact_history=d["contact_history"],
                contact_detail=d["contact_detail"],
                key_region_id=r.region[0] if r.region else None,
                from_key_area=r.region is not None,
                language=r.intake.language,
                submitted_at=r.intake.received_at,
                area=r.area,
            )
        )
    TravellerRegistration.objects.bulk_create(regs)
    for r, reg in zip(rows, regs, strict=True):
        _audit(r, "registration.create", reg, {"channel": reg.channel, "matched": r.matched})
    return regs


def _audit(r: _Row, action: str, obj: Any, detail: dict[str, Any]) -> None:
    token = context.set_current(
        context.RequestContext(ip=r.intake.origin_ip, channel=r.intake.origin_channel or "api")
    )
    try:
        audit.record(
            audit.RecordedActor(r.intake.actor_id, r.intake.actor_label),
            action,
            obj,
            detail=detail or None,
        )
    finally:
        context.reset(token)


def _flags_and_tasks(rows: list[_Row], regs: list[TravellerRegistration], now: dt.datetime) -> None:
    committees = committees_of(list({r.area.pk: r.area for r in rows}.values()))
    flags: list[tuple[_Row, KeyPersonFlag]] = []
    tasks: list[tuple[_Row, FollowUpTask]] = []
    for r, reg in zip(rows, regs, strict=True):
        if r.region is not None:
            until = dt.datetime.combine(
                reg.arrival_date + dt.timedelta(days=r.region[1]), dt.time(), tzinfo=dt.UTC
            )
            flags.append(
                (
                    r,
                    KeyPersonFlag(
                        person=reg.person,
                        category=KeyCategory.KEY_AREA_RETURNEE,
                        since=now,
                        until=until,
                        source=f"registration:{reg.pk}",
                    ),
                )
            )
        for kind, summary in follow_up_kinds(reg):
            tasks.append(
                (
                    r,
                    FollowUpTask(
                        kind=kind,
                        person=reg.person,
                        area=committees[r.area.pk],
                        source=f"reg:{reg.pk}:{kind}",
                        summary=summary[:255],
                        due_at=now + FOLLOW_UP_DUE,
                        created_at=now,
                    ),
                )
            )
    KeyPersonFlag.objects.bulk_create([f for _r, f in flags])
    FollowUpTask.objects.bulk_create([t for _r, t in tasks])
    for r, f in flags:
        _audit(r, "person.flag", f.person, {"category": f.category, "source": f.source})
    for r, t in tasks:
        _audit(r, "followup.open", t, {"kind": t.kind, "source": t.source})
