"""Reads of what happened at gates: visitors, vehicles and the hourly statistics of a day, for
one gate or all the gates of a compound (A2). Always scoped with `visible_to`.

The statistics are three grouped queries (scans by hour and verdict, visitors by hour, vehicles
by hour), each using the (area, time) index and grouping by the Shanghai hour in SQL, on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour

from gridguard.access.models import GateEvent, GateVehicle, GateVisitor, Verdict
from gridguard.core import clock
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.scoping import ScopedQuerySet, covers, scope_q
from gridguard.people.models import Household
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

VIEW = "gate.view"
SCAN = "gate.scan"
# Places whose gates a day page can add up: a compound, a market, an office building…
GATED_PLACES = (AreaKind.COMPOUND, AreaKind.MARKET, AreaKind.OFFICE_BUILDING, AreaKind.ENTERPRISE)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[00:00, next day's 00:00) of a Shanghai day, as aware datetimes."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=clock.SHANGHAI)
    return start, start + dt.timedelta(days=1)


def _need(actor: Any, *permissions: str) -> None:
    if not any(actor.can(p) for p in permissions):
        raise NotPermitted()


def gates_for(actor: Any, permission: str = SCAN, *, limit: int = 500) -> list[Area]:
    """The gates where the actor holds `permission`, in path order (a volunteer's gates)."""
    if not actor.can(permission):
        return []
    qs = Area.objects.filter(kind=AreaKind.GATE).select_related("parent").order_by("path")
    q = scope_q(actor, "path")
    if q is not None:
        qs = qs.filter(q)
    return [a for a in qs[:limit] if actor.can_at(permission, a.path)]


def place_by_code(actor: Any, code: str, permission: str = VIEW) -> Area:
    """A gate, or a compound (or other gated place), the actor covers and holds `permission`
    over; OutOfScope otherwise, also when there is no such place."""
    area = (
        Area.objects.filter(code=str(code or "")[:40], kind__in=(AreaKind.GATE, *GATED_PLACES))
        .select_related("parent")
        .first()
    )
    if area is None or not covers(actor, area.path) or not actor.can_at(permission, area.path):
        raise OutOfScope()
    return area


def gate_by_code(actor: Any, code: str, permission: str = SCAN) -> Area:
    """A gate the actor holds `permission` at; OutOfScope otherwise."""
    area = place_by_code(actor, code, permission)
    if area.kind != AreaKind.GATE:
        raise OutOfScope()
    return area


def _at(qs: ScopedQuerySet[Any], place: Area) -> ScopedQuerySet[Any]:
    # A gate's own rows by its id (the (area, time) index); a place's through the subtree.
    return qs.filter(area=place) if place.kind == AreaKind.GATE else qs.within(place)


def visitors_visible_to(
    actor: Any, *, place: Area | None = None, day: dt.date | None = None
) -> ScopedQuerySet[GateVisitor]:
    """Visitors registered at gates the actor covers, newest first (one place, one day)."""
    _need(actor, VIEW)
    qs = GateVisitor.objects.visible_to(actor).select_related("area", "host_household")
    if place is not None:
        qs = _at(qs, place)
    if day is not None:
        start, end = day_bounds(day)
        qs = qs.filter(time_in__gte=start, time_in__lt=end)
    return qs.order_by("-time_in", "-pk")


def visitor_for(actor: Any, pk: int, permission: str = VIEW) -> GateVisitor:
    """One visitor at a gate the actor covers (and holds `permission` at); OutOfScope else."""
    _need(actor, permission)
    found = (
        GateVisitor.objects.visible_to(actor)
        .select_related("area", "host_household")
        .filter(pk=pk)
        .first()
    )
    if found is None or not actor.can_at(permission, found.area.path):
        raise OutOfScope()
    return found


def vehicles_visible_to(
    actor: Any, *, place: Area | None = None, day: dt.date | None = None
) -> ScopedQuerySet[GateVehicle]:
    """Vehicles registered at gates the actor covers, newest first (one place, one day)."""
    _need(actor, VIEW)
    qs = GateVehicle.objects.visible_to(actor).select_related("area")
    if place is not None:
        qs = _at(qs, place)
    if day is not None:
        start, end = day_bounds(day)
        qs = qs.filter(at__gte=start, at__lt=end)
    return qs.order_by("-at", "-pk")


@dataclass
class HourRow:
    """One hour of a gate's day (hour 0 is 00:00-00:59 Shanghai time)."""

    hour: int
    entries: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    visitors: int = 0
    visitors_refused: int = 0
    vehicles: int = 0
    vehicles_refused: int = 0

    @property
    def refused(self) -> int:
        return sum(self.refusals.values())

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"

    def add(self, other: HourRow) -> None:
        self.entries += other.entries
        for reason, n in other.refusals.items():
            self.refusals[reason] = self.refusals.get(reason, 0) + n
        self.visitors += other.visitors
        self.visitors_refused += other.visitors_refused
        self.vehicles += other.vehicles
        self.vehicles_refused += other.vehicles_refused

    def as_dict(self) -> dict[str, Any]:
        return {
            "hour": self.hour,
            "entries": self.entries,
            "refused": self.refused,
            "refusals": dict(sorted(self.refusals.items())),
            "visitors": self.visitors,
            "visitors_refused": self.visitors_refused,
            "vehicles": self.vehicles,
            "vehicles_refused": self.vehicles_refused,
        }


@dataclass
class GateDayStats:
    """A gate's (or a compound's gates') day: 24 hour rows, the totals, and the refusal
    reasons that occurred (the table's columns), in the order of `Verdict`."""

    place: Area
    day: dt.date
    hours: list[HourRow]
    total: HourRow
    reasons: list[str]

    def reason_labels(self) -> list[tuple[str, str]]:
        labels = dict(Verdict.choices)
        return [(r, str(labels.get(r, r))) for r in self.reasons]


def hourly_stats(actor: Any, place: Area, day: dt.date) -> GateDayStats:
    """Entries (scans with verdict "ok"), refusals by reason (every other verdict), visitors
    and vehicles per Shanghai hour of `day`, at a gate or all the gates of a place."""
    _need(actor, VIEW, SCAN)
    if not covers(actor, place.path):
        raise OutOfScope()
    start, end = day_bounds(day)
    hours = [HourRow(h) for h in range(24)]
    hour = ExtractHour("scanned_at", tzinfo=clock.SHANGHAI)
    scans = (
        _at(GateEvent.objects.visible_to(actor), place)
        .filter(scanned_at__gte=start, scanned_at__lt=end)
        .annotate(h=hour)
        .values("h", "verdict")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in scans:
        target = hours[row["h"]]
        if row["verdict"] == Verdict.OK:
            target.entries += row["n"]
        else:
            target.refusals[row["verdict"]] = target.refusals.get(row["verdict"], 0) + row["n"]
    visitors = (
        _at(GateVisitor.objects.visible_to(actor), place)
        .filter(time_in__gte=start, time_in__lt=end)
        .annotate(h=ExtractHour("time_in", tzinfo=clock.SHANGHAI))
        .values("h")
        .annotate(n=Count("id"), refused=Count("id", filter=Q(admitted=False)))
        .order_by()
    )
    for row in visitors:
        hours[row["h"]].visitors = row["n"]
        hours[row["h"]].visitors_refused = row["refused"]
    vehicles = (
        _at(GateVehicle.objects.visible_to(actor), place)
        .filter(at__gte=start, at__lt=end)
        .annotate(h=ExtractHour("at", tzinfo=clock.SHANGHAI))
        .values("h")
        .annotate(n=Count("id"), refused=Count("id", filter=Q(admitted=False)))
        .order_by()
    )
    for row in vehicles:
        hours[row["h"]].vehicles = row["n"]
        hours[row["h"]].vehicles_refused = row["refused"]
    total = HourRow(-1)
    for h in hours:
        total.add(h)
    order = {v: i for i, v in enumerate(Verdict.values)}
    reasons = sorted(total.refusals, key=lambda r: order.get(r, len(order)))
    return GateDayStats(place=place, day=day, hours=hours, total=total, reasons=reasons)


def households_of(gate: Area) -> list[Household]:
    """The households of the compound a gate opens into (none for markets, offices…), for the
    volunteer to choose a visitor's host from. The caller has checked the gate is theirs."""
    place = gate.parent
    if place is None or place.kind != AreaKind.COMPOUND:
        return []
    return list(
        Household.objects.filter(area__path__startswith=place.path)
        .select_related("area")
        .order_by("address", "room", "pk")[:1000]
    )
