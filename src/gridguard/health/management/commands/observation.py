"""`gridguard observation sweep|escalate [--at ISO-TIME]`: the scheduled observation jobs.

`sweep` raises missed-check-in alerts (set-based) and recomputes today's "in observation"
snapshot per committee; `escalate` moves unacknowledged alerts up one level. Run both every
few minutes from the scheduler. `--at` replays a moment (tests, catching up).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridguard.core import clock
from gridguard.health.services import observation_jobs as jobs


def _moment(value: str | None) -> dt.datetime:
    if not value:
        return clock.now()
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--at: not an ISO time: {value}") from exc
    return at if at.tzinfo else at.replace(tzinfo=clock.SHANGHAI)


class Command(BaseCommand):
    help = "Home observation jobs: sweep missed check-ins, escalate unacknowledged alerts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="job", required=True, metavar="{sweep,escalate}")
        for name, text in (
            ("sweep", "raise missed-check-in alerts and refresh today's counts"),
            ("escalate", "move unacknowledged alerts up one level"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--at", help="act as if it were this time (Shanghai if no zone)")

    def handle(self, *args: Any, **opts: Any) -> None:
        at = _moment(opts.get("at"))
        if opts["job"] == "sweep":
            missed = jobs.sweep_missed(at)
            counted = jobs.refresh_in_observation(clock.local(at).date())
            self.stdout.write(f"missed alerts raised: {missed}; in observation: {counted}")
        else:
            moved = jobs.escalate_overdue(at)
            self.stdout.write(f"alerts escalated: {moved}")
