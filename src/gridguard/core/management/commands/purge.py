"""`gridguard purge [--dry-run] [--list]`: remove personal records past their retention period.

Each app registers its kinds with `gridguard.core.retention`; a real run records one PurgeRun
and one audit entry per kind, and leaves the aggregate counts as they were.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from gridguard.core import retention


class Command(BaseCommand):
    help = "Delete personal records past their retention period (see --list for the periods)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would go, delete nothing"
        )
        parser.add_argument(
            "--list", action="store_true", help="print each kind, its period and what it holds"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        rules = retention.rules()
        if opts["list"]:
            width = max((len(r.kind) for r in rules), default=0)
            for rule in rules:
                self.stdout.write(
                    _("%(kind)s  %(days)d days  %(desc)s")
                    % {"kind": rule.kind.ljust(width), "days": rule.days, "desc": rule.description}
                )
            return
        dry_run = bool(opts["dry_run"])
        counts = retention.purge(dry_run=dry_run)
        width = max((len(k) for k in counts), default=0)
        verb = _("would delete") if dry_run else _("deleted")
        for kind, n in counts.items():
            self.stdout.write(f"{kind.ljust(width)}  {verb} {n}")
        total = sum(counts.values())
        if dry_run:
            self.stdout.write(
                _("dry run: %(n)d rows would be deleted; nothing changed") % {"n": total}
            )
        else:
            self.stdout.write(_("purge done: %(n)d rows deleted") % {"n": total})
