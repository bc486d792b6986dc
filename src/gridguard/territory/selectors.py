"""Reads for the territory: every function takes the actor and returns only what it covers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from gridguard.core import audit
from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import ScopedQuerySet, paths_of
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import (
    Area,
    AreaQuerySet,
    DutyShift,
    DutyShiftQuerySet,
    GridCell,
    Responsibility,
)


def areas_visible_to(actor: Any) -> AreaQuerySet:
    return Area.objects.visible_to(actor)


def root_areas_for(actor: Any) -> list[Area]:
    """The tops of the actor's territory (the areas its bindings name)."""
    paths = paths_of(actor)
    if "/" in paths:
        return list(Area.objects.filter(parent__isnull=True))
    return list(Area.objects.filter(path__in=paths).order_by("path"))


def area_by_code(actor: Any, code: str) -> Area:
    """One area, if the actor covers it; OutOfScope otherwise (also when it does not exist)."""
    area = areas_visible_to(actor).filter(code=code).first()
    if area is None:
        raise OutOfScope()
    return area


def children_of(actor: Any, area: Area) -> AreaQuerySet:
    return areas_visible_to(actor).filter(parent=area).order_by("code")


def places_of_kind(actor: Any, kind: str, within: Area | None = None) -> AreaQuerySet:
    qs = areas_visible_to(actor).filter(kind=kind)
    return qs.subtree(within) if within is not None else qs


def counts_by_kind(actor: Any, within: Area | None = None) -> dict[str, int]:
    """How many areas of each kind the actor covers (inside `within` if given)."""
    from django.db.models import Count

    qs = areas_visible_to(actor)
    if within is not None:
        qs = qs.subtree(within)
    rows = qs.values("kind").annotate(n=Count("id")).order_by()
    found = {r["kind"]: r["n"] for r in rows}
    return {k: found.get(k, 0) for k in AreaKind.values}


def grid_cells_visible_to(actor: Any) -> ScopedQuerySet[GridCell]:
    return GridCell.objects.visible_to(actor).select_related("area")


def responsibilities_visible_to(
    actor: Any, *, current: bool = True
) -> ScopedQuerySet[Responsibility]:
    qs = Responsibility.objects.visible_to(actor).select_related("area")
    return qs.filter(until__isnull=True) if current else qs


def responsibility_detail(actor: Any, pk: int) -> Responsibility:
    """One responsible person's record; reading it (with the phone) is audited."""
    row = responsibilities_visible_to(actor, current=False).filter(pk=pk).first()
    if row is None:
        raise OutOfScope()
    audit.record_read(actor, row, fields=["person_name", "phone"])
    return row


def shifts_visible_to(actor: Any) -> DutyShiftQuerySet:
    return DutyShift.objects.visible_to(actor).select_related("area", "user")


def shifts_of_user_on(user: Any, day: dt.date) -> QuerySet[DutyShift]:
    """A volunteer's own shifts that touch `day` (Shanghai time), for the clock-in page."""
    from gridguard.core.clock import SHANGHAI

    start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)
    end = start + dt.timedelta(days=1)
    return (
        DutyShift.objects.filter(user=user, starts_at__lt=end, ends_at__gt=start)
        .select_related("area")
        .order_by("starts_at")
    )


@dataclass(frozen=True)
class HoursTotal:
    key: str
    label: str
    hours: float
    shifts: int


def duty_hours(
    actor: Any,
    *,
    by: str,
    within: Area | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[HoursTotal]:
    """Hours served, totalled per person, per post (gate/checkpoint) or per street.

    `by` is "person", "post" or "street".
    """
    if by not in {"person", "post", "street"}:
        raise ValueError(by)
    qs = shifts_visible_to(actor).served()
    if within is not None:
        qs = qs.within(within)
    if since is not None:
        qs = qs.filter(clocked_in_at__gte=since)
    if until is not None:
        qs = qs.filter(clocked_in_at__lt=until)
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    rows = qs.values_list(
        "user__username",
        "user__display_name",
        "area__code",
        "area__name",
        "area__path",
        "clocked_in_at",
        "clocked_out_at",
    )
    street_codes: set[str] = set()
    for username, display, code, name, path, t_in, t_out in rows.iterator():
        if by == "person":
            key, label = username, display or username
        elif by == "post":
            key, label = code, name
        else:
            codes = [c for c in path.split("/") if c]
            key = next((c for c in codes if len(c) == 9 and c.isdigit()), codes[0])
            street_codes.add(key)
            label = key
        if t_in is None or t_out is None:  # served() excludes these; keeps mypy honest
            continue
        seconds[key] += (t_out - t_in).total_seconds()
        counts[key] += 1
        labels[key] = label
    if street_codes:
        labels.update(dict(Area.objects.filter(code__in=street_codes).values_list("code", "name")))
    return sorted(
        (HoursTotal(k, labels[k], round(s / 3600, 2), counts[k]) for k, s in seconds.items()),
        key=lambda t: (-t.hours, t.key),
    )


def ancestors_in_scope(actor: Any, area: Area) -> list[Area]:
    """The areas above `area` that the actor covers, from the top down (for breadcrumbs)."""
    codes = area.codes[:-1]
    if not codes:
        return []
    return list(areas_visible_to(actor).filter(code__in=codes).order_by("depth"))


def grid_cells_within(actor: Any, area: Area) -> ScopedQuerySet[GridCell]:
    """Grid cells inside `area` that the actor covers, with their workers."""
    return grid_cells_visible_to(actor).within(area).prefetch_related("workers").order_by("code")


def places_for_duty(actor: Any) -> AreaQuerySet:
    """Gates and checkpoints the actor covers: where shifts are planned."""
    return areas_visible_to(actor).filter(kind__in=[AreaKind.GATE, AreaKind.CHECKPOINT])


def upcoming_shifts(actor: Any, since: dt.datetime) -> DutyShiftQuerySet:
    """Shifts in the actor's territory that have not ended before `since`, soonest first."""
    return shifts_visible_to(actor).filter(ends_at__gte=since).order_by("starts_at", "pk")


def grid_cells_for_api(actor: Any, within: Area | None = None) -> ScopedQuerySet[GridCell]:
    """Grid cells the actor covers (inside `within` if given), with their workers and only
    those of their places the actor covers, prefetched for listing."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    qs = grid_cells_visible_to(actor)
    if within is not None:
        qs = qs.within(within)
    places = Prefetch("places", queryset=areas_visible_to(actor).order_by("code").only("code"))
    workers = Prefetch(
        "workers",
        queryset=get_user_model().objects.order_by("username").only("username", "display_name"),
    )
    return qs.prefetch_related(places, workers).order_by("code")
