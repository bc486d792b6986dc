"""`gridguard report tickets --date 2020-02-14 --area 310101 [--json] [--xlsx FILE]`.

Prints the daily ticket report (C2) of an area for a Shanghai day as a readable summary, or as
JSON, and writes it as XLSX when asked. Runs as the system actor. Other apps add their report
kinds as further subcommands here.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.territory.models import Area


class Command(BaseCommand):
    help = "Print a report: `report tickets` is the daily ticket report of an area."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="kind", required=True, metavar="{tickets}")
        t = sub.add_parser("tickets", help="the daily ticket report (新冠疫情工单日报)")
        t.add_argument("--date", help="the Shanghai day, YYYY-MM-DD (default: yesterday)")
        t.add_argument("--area", required=True, help="the area's code, e.g. 310101")
        t.add_argument("--json", action="store_true", help="print the report as JSON")
        t.add_argument("--xlsx", metavar="FILE", help="also write the report to this XLSX file")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["kind"] == "tickets":
            self._tickets(opts)

    def _tickets(self, opts: dict[str, Any]) -> None:
        from gridguard.tickets.selectors.report import daily_report, present
        from gridguard.tickets.services.reports import report_xlsx

        day = parse_date(opts.get("date"))
        code = str(opts.get("area") or "").strip()
        area = Area.objects.filter(code=code).first()
        if area is None:
            raise CommandError(f"--area: no area with the code “{code}”")
        report = daily_report(SYSTEM, day, area)
        if opts.get("xlsx"):
            target = Path(opts["xlsx"])
            if not target.parent.is_dir():
                raise CommandError(f"--xlsx: no such folder: {target.parent}")
            target.write_bytes(report_xlsx(report))
        if opts.get("json"):
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(summary(present(report)))
        if opts.get("xlsx"):
            self.stderr.write(f"written to {opts['xlsx']}")


def parse_date(value: str | None) -> dt.date:
    """The --date option (default yesterday in Shanghai); CommandError naming it when bad."""
    if not value:
        return clock.today() - dt.timedelta(days=1)
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise CommandError(f"--date: not a date (YYYY-MM-DD): “{value}”") from exc
    if day > clock.today():
        raise CommandError(f"--date: {day} is in the future")
    return day


def _signed(n: float) -> str:
    return f"{n:+g}"


def summary(r: dict[str, Any]) -> str:
    """A readable plain-text summary of a presented report."""
    t = r["total"]
    lines = [
        f"Ticket report {r['date']} — {r['area']['name']} ({r['area']['code']})",
        f"Tickets: {t['today']} (previous day {t['previous_day']}, "
        f"{_signed(t['change_previous_day'])}; 7-day average {t['average_7d']:g}, "
        f"{_signed(t['change_average_7d'])})",
        f"New cases: {r['new_cases']}   merged repeats: {r['merged']}   "
        f"without a matched place: {r['unplaced']}",
    ]

    def block(title: str, rows: list[dict[str, Any]], key: str = "today") -> None:
        shown = [x for x in rows if x.get(key)]
        if not shown:
            return
        lines.append("")
        lines.append(title)
        for x in shown:
            extra = ""
            if "previous_day" in x:
                extra = f"  ({_signed(x['change_previous_day'])} on the previous day)"
            lines.append(f"  {x['label']}: {x[key]}{extra}")

    block("By channel", r["by_channel"])
    block("By priority", r["by_priority"])
    block("By class", r["by_class"])
    block("By street", r["by_street"], "count")
    block("Hot places", r["hot_places"], "count")
    if r["rising"]:
        lines += ["", "Rising topics"]
        lines += [
            f"  {x['label']}: {x['today']} (7-day average {x['average_7d']:g})" for x in r["rising"]
        ]
    block("Overdue cases by department", r["overdue"], "count")
    return "\n".join(lines)
