"""Reads of checkpoints and their checks (A3), always scoped with `visible_to`.

The daily counts are one grouped query each: per checkpoint and Shanghai day, and per street
(the territory parent that runs the checkpoint: a street or township, or the district for the
checkpoints a district runs itself) and day; the totals of a range are one more aggregate.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils.translation import gettext as _

from gridguard.access.models import CheckOutcome, Checkpoint, CheckpointCheck
from gridguard.core import clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import ScopedQuerySet, covers
from gridguard.territory.models import Area

VIEW = "checkpoint.view"
RECORD = "checkpoint.record"
MAX_RANGE_DAYS = 366


def _need(actor: Any, *permissions: str) -> None:
    if not any(actor.can(p) for p in permissions):
        raise NotPermitted()


def day_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[since 00:00, the day after `until` 00:00) in Shanghai time."""
    start = dt.datetime.combine(since, dt.time.min, tzinfo=clock.SHANGHAI)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=clock.SHANGHAI)
    return start, end


def check_range(
    since: dt.date | None, until: dt.date | None, fields: tuple[str, str] = ("from", "to")
) -> tuple[dt.date, dt.date]:
    """The range asked for (defaults: the last 7 days to today); InvalidInput naming the
    field when the end is before the start or the range is longer than a year."""
    today = clock.today()
    until = until or today
    try:
        since = since or until - dt.timedelta(days=6)
    except OverflowError:  # an `until` in the first days of year 1
        raise InvalidInput(
            [FieldError(fields[1], "out_of_range", _("Choose a date after the year 2000."))]
        ) from None
    if until < since:
        raise InvalidInput([FieldError(fields[1], "before_start", _("This is before the start."))])
    if (until - since).days >= MAX_RANGE_DAYS:
        raise InvalidInput(
            [FieldError(fields[0], "too_long", _("Ask for at most a year at a time."))]
        )
    return since, until


def checkpoints_visible_to(actor: Any) -> ScopedQuerySet[Checkpoint]:
    """Checkpoints in the actor's territory, in territory order."""
    _need(actor, VIEW, RECORD)
    return (
        Checkpoint.objects.visible_to(actor)
        .select_related("area", "area__parent")
        .order_by("area__path")
    )


def checkpoints_for(actor: Any, permission: str = RECORD) -> list[Checkpoint]:
    """Active checkpoints where the actor holds `permission` (the recording page's choice)."""
    if not actor.can(permission):
        return []
    return [
        c
        for c in checkpoints_visible_to(actor).filter(active=True)[:500]
        if actor.can_at(permission, c.area.path)
    ]


def checkpoint_by_code(actor: Any, code: str, permission: str = VIEW) -> Checkpoint:
    """The checkpoint at the place with this code, if the actor covers it and holds
    `permission` there; OutOfScope otherwise (also when there is none)."""
    _need(actor, permission)
    found = (
        Checkpoint.objects.visible_to(actor)
        .select_related("area", "area__parent")
        .filter(area__code=str(code or "")[:40])
        .first()
    )
    if found is None or not actor.can_at(permission, found.area.path):
        raise OutOfScope()
    return found


def checkpoint_place(actor: Any, code: str) -> Area:
    """A territory place of kind checkpoint the actor covers (to set one up)."""
    area = Area.objects.filter(code=str(code or "")[:40], kind="checkpoint").first()
    if area is None or not covers(actor, area.path):
        raise OutOfScope()
    return area


def checks_visible_to(
    actor: Any, *, checkpoint: Checkpoint | None = None, day: dt.date | None = None
) -> ScopedQuerySet[CheckpointCheck]:
    """Checks at checkpoints the actor covers, newest first (one checkpoint, one day)."""
    _need(actor, VIEW, RECORD)
    qs = CheckpointCheck.objects.visible_to(actor).select_related("area")
    if checkpoint is not None:
        qs = qs.filter(checkpoint=checkpoint)
    if day is not None:
        start, end = day_bounds(day, day)
        qs = qs.filter(checked_at__gte=start, checked_at__lt=end)
    return qs.order_by("-checked_at", "-pk")


def _counts() -> dict[str, Any]:
    """What every count row carries: checks, vehicles (checks with a plate), travellers,
    travellers with a fever, checks turned back."""
    return {
        "checks": Count("id"),
        "vehicles": Count("id", filter=~Q(plate="")),
        "travellers": Coalesce(Sum("passengers"), 0),
        "fevers": Coalesce(Sum("fever_count"), 0),
        "turned_back": Count("id", filter=Q(outcome=CheckOutcome.TURNED_BACK)),
    }


def _range(
    actor: Any, since: dt.date, until: dt.date, within: Area | None
) -> ScopedQuerySet[CheckpointCheck]:
    _need(actor, VIEW)
    start, end = day_bounds(since, until)
    qs = CheckpointCheck.objects.visible_to(actor).filter(checked_at__gte=start, checked_at__lt=end)
    if within is not None:
        if not covers(actor, within.path):
            raise OutOfScope()
        qs = qs.within(within)
    return qs


def daily_counts_per_checkpoint(
    actor: Any, since: dt.date, until: dt.date, *, within: Area | None = None
) -> list[dict[str, Any]]:
    """Per checkpoint and Shanghai day: checks, vehicles, travellers, fevers, turned back
    (newest day first, then territory order)."""
    rows: Any = (
        _range(actor, since, until, within)
        .annotate(day=TruncDate("checked_at", tzinfo=clock.SHANGHAI))
        .values("day", "checkpoint_id", "area__code", "area__name", "area__path")
        .annotate(**_counts())
        .order_by("-day", "area__path")
    )
    return [_tidy(r) for r in rows]


def daily_counts_per_street(
    actor: Any, since: dt.date, until: dt.date, *, within: Area | None = None
) -> list[dict[str, Any]]:
    """Per street (the checkpoint's parent) and Shanghai day: how many checkpoints checked,
    and their checks, vehicles, travellers, fevers and vehicles turned back."""
    rows: Any = (
        _range(actor, since, until, within)
        .annotate(day=TruncDate("checked_at", tzinfo=clock.SHANGHAI))
        .values(
            "day",
            "area__parent__code",
            "area__parent__name",
            "area__parent__kind",
            "area__parent__path",
        )
        .annotate(**_counts(), checkpoints=Count("checkpoint", distinct=True))
        .order_by("-day", "area__parent__path")
    )
    return [
        {
            "day": r["day"],
            "street_code": r["area__parent__code"],
            "street_name": r["area__parent__name"],
            "street_kind": r["area__parent__kind"],
            "checkpoints": int(r["checkpoints"]),
            **{k: int(r[k]) for k in _counts()},
        }
        for r in rows
    ]


def totals(
    actor: Any, since: dt.date, until: dt.date, *, within: Area | None = None
) -> dict[str, int]:
    """The range's totals: how many checkpoints checked, and all the counts
    ("154 checkpoints checked 22,278 vehicles")."""
    found = _range(actor, since, until, within).aggregate(
        **_counts(), checkpoints=Count("checkpoint", distinct=True)
    )
    return {k: int(v or 0) for k, v in found.items()}


def today_counts(actor: Any, checkpoints: list[Checkpoint]) -> dict[int, dict[str, int]]:
    """Today's counts of each of `checkpoints` (the list page), one grouped query."""
    today = clock.today()
    start, end = day_bounds(today, today)
    rows: Any = (
        CheckpointCheck.objects.visible_to(actor)
        .filter(checkpoint__in=checkpoints, checked_at__gte=start, checked_at__lt=end)
        .values("checkpoint_id")
        .annotate(**_counts())
        .order_by()
    )
    return {r["checkpoint_id"]: {k: int(r[k]) for k in _counts()} for r in rows}


def _tidy(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "day": r["day"],
        "checkpoint_id": r["checkpoint_id"],
        "checkpoint_code": r["area__code"],
        "checkpoint_name": r["area__name"],
        **{k: int(r[k]) for k in _counts()},
    }
