"""Scheduled observation jobs, set-based: missed-check-in sweep, escalation of unacknowledged
alerts, and the daily "in observation" snapshot per committee (`gridguard observation ...`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max

from gridguard.core import audit, clock
from gridguard.health.models import (
    AlertKind,
    AlertLevel,
    CheckIn,
    ObservationAlert,
    ObservationDailyCount,
    ObservationOrder,
    ObservationType,
    OrderStatus,
)
from gridguard.health.services.observation import (
    bump,
    committees_of,
    slot_deadline,
    slot_key,
    slot_start,
)
from gridguard.people.models import Person
from gridguard.people.signals import announce


def escalate_overdue(now: dt.datetime | None = None) -> int:
    """Unacknowledged alerts older than their type's `escalate_after_minutes` (since raised or
    last escalated) move up one level; returns how many moved. One UPDATE per order type."""
    when = now or clock.now()
    moved = 0
    with transaction.atomic():
        for kind in ObservationType.objects.all():
            cutoff = when - dt.timedelta(minutes=kind.escalate_after_minutes)
            open_alerts = ObservationAlert.objects.filter(
                order__order_type=kind, acknowledged_at__isnull=True, level__lt=AlertLevel.DISTRICT
            )
            moved += open_alerts.filter(escalated_at__isnull=True, raised_at__lte=cutoff).update(
                level=F("level") + 1, escalated_at=when
            )
            moved += (
                open_alerts.filter(escalated_at__lte=cutoff)
                .exclude(escalated_at=when)
                .update(level=F("level") + 1, escalated_at=when)
            )
        if moved:
            audit.record(
                None,
                "observation.escalate",
                object_type="health.observationalert",
                detail={"moved": moved},
            )
    return moved


_MISSED_SQL = """
WITH s (type_id, day, idx, skey, opened) AS (VALUES {values})
INSERT INTO {alert} (order_id, area_id, kind, slot_key, detail, raised_at, level, ack_note)
SELECT o.id, o.area_id, %s, s.skey, '', %s, 0, ''
FROM {order} o JOIN s ON o.order_type_id = s.type_id
WHERE o.status = %s AND o.starts_on <= s.day AND o.ends_on >= s.day AND o.created_at <= s.opened
  AND NOT EXISTS (SELECT 1 FROM {checkin} c
                  WHERE c.order_id = o.id AND c.slot_date = s.day AND c.slot_index = s.idx)
  AND NOT EXISTS (SELECT 1 FROM {alert} a
                  WHERE a.order_id = o.id AND a.kind = %s AND a.slot_key = s.skey)
ON CONFLICT DO NOTHING
"""


def _due_slots(when: dt.datetime) -> list[tuple[int, dt.date, int, str, dt.datetime]]:
    """(type, day, index, key, opened) of yesterday's and today's slots past their deadline."""
    today = clock.local(when).date()
    due = []
    for kind in ObservationType.objects.all():
        for day in (today - dt.timedelta(days=1), today):
            for index in range(len(kind.slots)):
                if slot_deadline(kind, day, index) <= when:
                    due.append(
                        (kind.pk, day, index, slot_key(day, index), slot_start(kind, day, index))
                    )
    return due


def sweep_missed(now: dt.datetime | None = None) -> int:
    """Raise one missed alert for every slot of every active order whose deadline has passed
    with no check-in (today's and yesterday's slots only). One INSERT … SELECT for all of them
    (the due slots are a small VALUES table joined to the orders); idempotent; returns how
    many alerts it raised."""
    when = now or clock.now()
    due = _due_slots(when)
    if not due:
        return 0
    ops = connection.ops
    typed = connection.vendor == "postgresql"
    row = "(%s, %s::date, %s, %s, %s::timestamptz)" if typed else "(%s, %s, %s, %s, %s)"
    sql = _MISSED_SQL.format(
        values=", ".join([row] * len(due)),
        alert=ObservationAlert._meta.db_table,
        order=ObservationOrder._meta.db_table,
        checkin=CheckIn._meta.db_table,
    )
    params: list[Any] = []
    for type_id, day, index, key, opened in due:
        params += [
            type_id,
            ops.adapt_datefield_value(day),
            index,
            key,
            ops.adapt_datetimefield_value(opened),
        ]
    params += [
        AlertKind.MISSED,
        ops.adapt_datetimefield_value(when),
        OrderStatus.ACTIVE,
        AlertKind.MISSED,
    ]
    with transaction.atomic():
        before = ObservationAlert.objects.aggregate(m=Max("id"))["m"] or 0
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        new = ObservationAlert.objects.filter(id__gt=before, kind=AlertKind.MISSED)
        groups = list(new.values("area_id", "slot_key").annotate(n=Count("id")))
        if not groups:
            return 0
        committee = committees_of(g["area_id"] for g in groups)
        totals: dict[tuple[int, dt.date], int] = defaultdict(int)
        for g in groups:
            day = dt.date.fromisoformat(g["slot_key"].split("#")[0])
            totals[(committee[g["area_id"]], day)] += g["n"]
        for (committee_id, day), n in totals.items():
            bump(committee_id, day, "missed", n)
        count = sum(totals.values())
        audit.record(
            None,
            "observation.sweep",
            object_type="health.observationalert",
            detail={"missed": count},
        )
        announce(Person, *new.values_list("order__person_id", flat=True))
    return count


def refresh_in_observation(day: dt.date | None = None) -> int:
    """Recompute the `in_observation` snapshot of `day` (today) for every committee from the
    active orders, one grouped query; returns the number of people counted."""
    day = day or clock.today()
    groups = list(
        ObservationOrder.objects.filter(
            status=OrderStatus.ACTIVE, starts_on__lte=day, ends_on__gte=day
        )
        .values("area_id")
        .annotate(n=Count("id"))
    )
    committee = committees_of(g["area_id"] for g in groups)
    totals: dict[int, int] = defaultdict(int)
    for g in groups:
        totals[committee[g["area_id"]]] += g["n"]
    with transaction.atomic():
        ObservationDailyCount.objects.filter(day=day).exclude(area_id__in=totals).update(
            in_observation=0
        )
        for committee_id, n in totals.items():
            row, _created = ObservationDailyCount.objects.get_or_create(
                area_id=committee_id, day=day
            )
            if row.in_observation != n:
                ObservationDailyCount.objects.filter(pk=row.pk).update(in_observation=n)
    return sum(totals.values())
