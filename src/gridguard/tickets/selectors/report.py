"""The daily ticket report (C2, 新冠疫情工单日报): one Shanghai day of tickets in an area's subtree.

Every figure comes from a grouped query; nothing walks the tickets in Python. The counts by
channel and subclass come from one query grouped by (day, channel, subclass) over the day and
the 7 days before it, and the counts by class and priority, the trend, the changes and the
rising topics are summed from those few rows. The streets come from one query grouped by the
prefix of the ticket's area path at street depth; hot places, merged repeats and overdue cases
are one query each.

The result is plain JSON (codes, numbers, ISO dates), so it can be stored as a snapshot;
`present()` adds the labels in the active language for pages, the command and XLSX.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case as Choose
from django.db.models import Count, F, IntegerField, Q, When
from django.db.models.functions import Substr, TruncDate
from django.utils.translation import gettext as _

from gridguard.core import clock
from gridguard.core.errors import NotPermitted, OutOfScope
from gridguard.core.scoping import covers
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area
from gridguard.tickets import taxonomy
from gridguard.tickets.models import Case, CaseStatus, Channel, Ticket

PERMISSIONS = ("tickets.report", "tickets.view")
HISTORY_DAYS = 7
HOT_PLACES = 10
# A subclass is rising when today's count is at least this many and this many times its
# average over the previous 7 days.
RISING_MIN = 3
RISING_FACTOR = 2.0
STREET_KINDS = (AreaKind.STREET, AreaKind.TOWNSHIP)
# Places inside a compound (or market, office building) count for the place that holds them.
INNER_PLACES = (AreaKind.BUILDING, AreaKind.GATE, AreaKind.BUILDING_GROUP)


def check_access(actor: Any, area: Area) -> None:
    """NotPermitted without tickets.report or tickets.view; OutOfScope outside the actor's
    territory."""
    if not any(actor.can(p) for p in PERMISSIONS):
        raise NotPermitted()
    if not covers(actor, area.path):
        raise OutOfScope()


def day_bounds(day: dt.date, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """[`day` 00:00, `day` + `days` 00:00) in Shanghai time."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=clock.SHANGHAI)
    return start, start + dt.timedelta(days=days)


def _change(today: int, previous: int, average: float) -> dict[str, Any]:
    def pct(base: float) -> float | None:
        return None if not base else round((today - base) * 100.0 / base, 1)

    return {
        "today": today,
        "previous_day": previous,
        "average_7d": round(average, 2),
        "change_previous_day": today - previous,
        "change_previous_day_pct": pct(previous),
        "change_average_7d": round(today - average, 2),
        "change_average_7d_pct": pct(average),
    }


def _tickets(area: Area, start: dt.datetime, end: dt.datetime) -> Any:
    return Ticket.objects.filter(
        area__path__startswith=area.path, received_at__gte=start, received_at__lt=end
    )


def daily_report(actor: Any, date: dt.date, area: Area) -> dict[str, Any]:
    """The report of tickets received on Shanghai day `date` in `area`'s subtree (see the
    module docstring for what it holds); scoped to the actor."""
    check_access(actor, area)
    start, end = day_bounds(date)
    history_start = start - dt.timedelta(days=HISTORY_DAYS)
    previous_day = date - dt.timedelta(days=1)
    days = [date - dt.timedelta(days=n) for n in range(HISTORY_DAYS, -1, -1)]

    # (day, channel, subclass) → count, over the day and the 7 before it.
    grouped: list[dict[str, Any]] = list(
        _tickets(area, history_start, end)
        .annotate(day=TruncDate("received_at", tzinfo=clock.SHANGHAI))
        .values("day", "channel", "subclass")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_day: dict[dt.date, int] = dict.fromkeys(days, 0)
    channel_counts: dict[tuple[str, dt.date], int] = {}
    sub_counts: dict[tuple[str, dt.date], int] = {}
    for r in grouped:
        day = r["day"]
        if isinstance(day, dt.datetime):  # some backends hand back a datetime
            day = day.date()
        per_day[day] = per_day.get(day, 0) + r["n"]
        key = (r["channel"], day)
        channel_counts[key] = channel_counts.get(key, 0) + r["n"]
        key = (r["subclass"], day)
        sub_counts[key] = sub_counts.get(key, 0) + r["n"]

    def figures(counts: dict[tuple[str, dt.date], int], codes: list[str]) -> list[dict[str, Any]]:
        out = []
        for code in codes:
            week = sum(counts.get((code, d), 0) for d in days[:-1])
            row = _change(
                counts.get((code, date), 0),
                counts.get((code, previous_day), 0),
                week / HISTORY_DAYS,
            )
            out.append({"code": code, **row})
        return out

    subs = taxonomy.subclasses()
    sub_codes = list(subs)
    unknown = sorted({s for s, _ in sub_counts if s not in subs})

    def rolled(attr: str, codes: list[str]) -> list[dict[str, Any]]:
        counts: dict[tuple[str, dt.date], int] = {}
        for (code, day), n in sub_counts.items():
            s = subs.get(code)
            key = (getattr(s, attr) if s else "", day)
            counts[key] = counts.get(key, 0) + n
        return figures(counts, codes)

    by_subclass = figures(sub_counts, sub_codes + unknown)
    rising = [
        {**r, "ratio": round(r["today"] / r["average_7d"], 2) if r["average_7d"] else None}
        for r in by_subclass
        if r["today"] >= RISING_MIN and r["today"] >= RISING_FACTOR * r["average_7d"]
    ]
    rising.sort(key=lambda r: (-(r["today"] - r["average_7d"]), r["code"]))

    day_qs = _tickets(area, start, end)
    week_total = sum(per_day.get(d, 0) for d in days[:-1])
    total = _change(per_day.get(date, 0), per_day.get(previous_day, 0), week_total / HISTORY_DAYS)
    merged = day_qs.aggregate(
        merged=Count("id", filter=Q(merge_score__isnull=False)),
        unplaced=Count("id", filter=Q(place_matched=False)),
    )
    return {
        "date": date.isoformat(),
        "area": {"code": area.code, "name": area.name, "kind": area.kind, "path": area.path},
        "generated_at": clock.now().isoformat(),
        "total": total,
        "new_cases": total["today"] - int(merged["merged"]),
        "merged": int(merged["merged"]),
        "unplaced": int(merged["unplaced"]),
        "trend": [{"date": d.isoformat(), "count": per_day.get(d, 0)} for d in days],
        "by_channel": figures(channel_counts, list(Channel.values)),
        "by_priority": rolled("priority_code", taxonomy.priority_codes()),
        "by_class": rolled("class_code", taxonomy.class_codes()),
        "by_subclass": by_subclass,
        "rising": rising,
        "by_street": _by_street(area, start, end, total["today"]),
        "hot_places": _hot_places(day_qs),
        "overdue": _overdue(area, end),
    }


def _street_paths(area: Area) -> dict[str, Area]:
    """The streets (and townships) the report covers, by path: those in the subtree, or the
    one above when the area lies inside a street."""
    found = {
        a.path: a
        for a in Area.objects.filter(path__startswith=area.path, kind__in=STREET_KINDS).only(
            "code", "name", "path"
        )
    }
    if not found:
        above = Area.paths_above(area.path)
        found = {
            a.path: a
            for a in Area.objects.filter(path__in=above, kind__in=STREET_KINDS).only(
                "code", "name", "path"
            )
        }
    return found


def _by_street(
    area: Area, start: dt.datetime, end: dt.datetime, total: int
) -> list[dict[str, Any]]:
    """Tickets per street: one grouped query per length of street path (one, where codes
    follow the national scheme) on the prefix of the ticket's area path."""
    streets = _street_paths(area)
    counts: dict[str, int] = {}
    for length in sorted({len(p) for p in streets}):
        rows = (
            _tickets(area, start, end)
            .annotate(prefix=Substr("area__path", 1, length))
            .values("prefix")
            .annotate(n=Count("id"))
            .order_by()
        )
        for r in rows:
            if r["prefix"] in streets:
                counts[r["prefix"]] = counts.get(r["prefix"], 0) + r["n"]
    out: list[dict[str, Any]] = [
        {"code": s.code, "name": s.name, "path": path, "count": counts.get(path, 0)}
        for path, s in sorted(streets.items())
    ]
    out.sort(key=lambda r: (-r["count"], r["path"]))
    placed = sum(counts.values())
    rest = total - placed
    if rest:
        out.append({"code": "", "name": "", "path": "", "count": rest})
    return out


def _hot_places(day_qs: Any) -> list[dict[str, Any]]:
    """The places with most tickets that day: matched tickets by their place (a building or
    gate counts for its compound), unmatched ones by the case's place text."""
    matched = (
        day_qs.filter(place_matched=True)
        .annotate(
            place=Choose(
                When(area__kind__in=INNER_PLACES, then=F("area__parent_id")),
                default=F("area_id"),
                output_field=IntegerField(),
            )
        )
        .values("place")
        .annotate(n=Count("id"))
        .order_by("-n", "place")[:HOT_PLACES]
    )
    rows: list[dict[str, Any]] = []
    found = list(matched)
    names = {
        a.pk: a
        for a in Area.objects.filter(pk__in=[r["place"] for r in found]).only("code", "name")
    }
    for r in found:
        a = names.get(r["place"])
        if a is not None:
            rows.append({"name": a.name, "code": a.code, "matched": True, "count": r["n"]})
    unmatched = (
        day_qs.filter(place_matched=False)
        .exclude(case__place_text="")
        .values("case__place_text")
        .annotate(n=Count("id"))
        .order_by("-n", "case__place_text")[:HOT_PLACES]
    )
    rows += [
        {"name": r["case__place_text"], "code": "", "matched": False, "count": r["n"]}
        for r in unmatched
    ]
    rows.sort(key=lambda r: (-r["count"], not r["matched"], r["name"]))
    return rows[:HOT_PLACES]


def _overdue(area: Area, end: dt.datetime) -> list[dict[str, Any]]:
    """Dispatched cases in the subtree whose deadline passed before the end of the day, per
    department."""
    rows = (
        Case.objects.filter(
            area__path__startswith=area.path, status=CaseStatus.DISPATCHED, due_at__lt=end
        )
        .values("department_id", "department__name", "department__kind")
        .annotate(n=Count("id"))
        .order_by("-n", "department__name")
    )
    return [
        {
            "department": r["department__name"] or "",
            "kind": r["department__kind"] or "",
            "count": r["n"],
        }
        for r in rows
    ]


def present(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of a report with a `label` on every row, in the active language."""
    out = dict(report)
    channels = dict(Channel.choices)
    subs = taxonomy.subclasses()
    classes = {s.class_code: s for s in subs.values()}
    priorities = {s.priority_code: s for s in subs.values()}
    out["by_channel"] = [
        {**r, "label": str(channels.get(r["code"], r["code"]))} for r in report["by_channel"]
    ]

    def sub_label(code: str) -> str:
        s = subs.get(code)
        return f"{code} {s.label()}" if s else code

    out["by_subclass"] = [{**r, "label": sub_label(r["code"])} for r in report["by_subclass"]]
    out["rising"] = [{**r, "label": sub_label(r["code"])} for r in report["rising"]]
    out["by_class"] = [
        {
            **r,
            "label": f"{r['code']} {classes[r['code']].class_label()}"
            if r["code"] in classes
            else r["code"],
        }
        for r in report["by_class"]
    ]
    out["by_priority"] = [
        {
            **r,
            "label": f"{r['code']} {priorities[r['code']].priority_label()}"
            if r["code"] in priorities
            else r["code"],
        }
        for r in report["by_priority"]
    ]
    out["by_street"] = [
        {**r, "label": r["name"] or _("Not placed in a street")} for r in report["by_street"]
    ]
    departments = taxonomy.departments()
    out["overdue"] = [
        {**r, "label": r["department"] or departments.get(r["kind"], "") or _("No department")}
        for r in report["overdue"]
    ]
    out["hot_places"] = [
        {
            **r,
            "label": r["name"]
            if r["matched"]
            else _("%(place)s (not matched)") % {"place": r["name"]},
        }
        for r in report["hot_places"]
    ]
    return out
