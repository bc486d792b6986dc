"""Daily ticket reports (C2): stored snapshots, generated once per district and day, and the
report as an XLSX workbook (one sheet per table)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.scoping import SYSTEM
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area
from gridguard.tickets.models import TicketReport
from gridguard.tickets.selectors.report import daily_report, present

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def store_report(actor: Any, area: Area, date: dt.date) -> tuple[TicketReport, bool]:
    """The stored report of `area` for `date`: (report, created). An existing snapshot is
    kept as it is (generation is idempotent; two workers at once make one row)."""
    existing = TicketReport.objects.filter(area=area, date=date).first()
    if existing is not None:
        return existing, False
    data = daily_report(actor, date, area)
    try:
        with transaction.atomic():
            report = TicketReport.objects.create(
                area=area, date=date, data=data, generated_at=clock.now()
            )
            audit.record(actor, "tickets.report_stored", report, area_path=area.path)
    except IntegrityError:
        return TicketReport.objects.get(area=area, date=date), False
    return report, True


def generate_due_reports(now: dt.datetime | None = None) -> int:
    """After settings.TICKET_REPORT_HOUR (Shanghai), store yesterday's report of every
    district that has none yet; returns how many were stored."""
    now = now or clock.now()
    local = clock.local(now)
    if local.hour < settings.TICKET_REPORT_HOUR:
        return 0
    day = local.date() - dt.timedelta(days=1)
    districts = Area.objects.filter(kind=AreaKind.DISTRICT, active=True).order_by("path")
    done = set(
        TicketReport.objects.filter(date=day, area__in=districts).values_list("area_id", flat=True)
    )
    made = 0
    for district in districts:
        if district.pk in done:
            continue
        made += int(store_report(SYSTEM, district, day)[1])
    return made


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # a place text typed by a citizen is never run as a formula
    return value


def _sheet(book: Any, title: str, header: list[str], rows: Iterable[list[Any]]) -> None:
    sheet = book.create_sheet(title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(v) for v in row])


def report_xlsx(report: dict[str, Any]) -> bytes:
    """The report as an XLSX workbook: a summary sheet, then one sheet per table."""
    from openpyxl import Workbook

    r = present(report)
    book = Workbook(write_only=True)
    t = r["total"]
    _sheet(
        book,
        _("Summary"),
        [_("Item"), _("Value")],
        [
            [_("Area"), f"{r['area']['name']} ({r['area']['code']})"],
            [_("Date"), r["date"]],
            [_("Tickets"), t["today"]],
            [_("Previous day"), t["previous_day"]],
            [_("Change against the previous day"), t["change_previous_day"]],
            [_("Average of the previous 7 days"), t["average_7d"]],
            [_("Change against the 7-day average"), t["change_average_7d"]],
            [_("New cases"), r["new_cases"]],
            [_("Repeats merged into open cases"), r["merged"]],
            [_("Tickets without a matched place"), r["unplaced"]],
            [_("Generated at"), r["generated_at"]],
        ],
    )
    figures = [_("Today"), _("Previous day"), _("Change"), _("7-day average"), _("Change")]

    def rows(items: list[dict[str, Any]]) -> Iterable[list[Any]]:
        for i in items:
            yield [
                i["label"],
                i["today"],
                i["previous_day"],
                i["change_previous_day"],
                i["average_7d"],
                i["change_average_7d"],
            ]

    _sheet(book, _("By channel"), [_("Channel"), *figures], rows(r["by_channel"]))
    _sheet(book, _("By priority"), [_("Priority"), *figures], rows(r["by_priority"]))
    _sheet(book, _("By class"), [_("Class"), *figures], rows(r["by_class"]))
    _sheet(book, _("By subclass"), [_("Subclass"), *figures], rows(r["by_subclass"]))
    _sheet(
        book,
        _("By street"),
        [_("Street"), _("Code"), _("Tickets")],
        ([s["label"], s["code"], s["count"]] for s in r["by_street"]),
    )
    _sheet(
        book,
        _("Trend"),
        [_("Date"), _("Tickets")],
        ([d["date"], d["count"]] for d in r["trend"]),
    )
    _sheet(
        book,
        _("Hot places"),
        [_("Place"), _("Code"), _("Tickets")],
        ([p["label"], p["code"], p["count"]] for p in r["hot_places"]),
    )
    _sheet(
        book,
        _("Rising topics"),
        [_("Subclass"), _("Today"), _("7-day average")],
        ([x["label"], x["today"], x["average_7d"]] for x in r["rising"]),
    )
    _sheet(
        book,
        _("Overdue"),
        [_("Department"), _("Overdue cases")],
        ([o["label"], o["count"]] for o in r["overdue"]),
    )
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
