"""`gridguard audit verify` and `gridguard audit tail [-n N] [--action A] [--detail]`.

`verify` walks the hash chain (`gridguard.core.audit.verify`) and fails with every problem it
finds. `tail` prints the latest entries; their detail may hold personal data, so it is shown
only when asked for with `--detail`.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.core.selectors import audit_entries


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError as exc:
        raise CommandError(_("-n: a whole number, not “%(v)s”") % {"v": value}) from exc
    if n < 1:
        raise CommandError(_("-n: at least 1, not %(n)d") % {"n": n})
    return n


def format_entry(entry: AuditEntry, *, detail: bool = False) -> str:
    """One line per entry: seq, local time, actor, action, object, area (and the detail)."""
    obj = f"{entry.object_type}:{entry.object_id}" if entry.object_type else "-"
    line = (
        f"{entry.seq:>8}  {clock.local(entry.at):%Y-%m-%d %H:%M:%S}  "
        f"{entry.actor_label or '-'}  {entry.action}  {obj}  {entry.area_path or '-'}"
    )
    if detail and entry.detail:
        line += "  " + json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)
    return line


class Command(BaseCommand):
    help = "Check the audit trail's hash chain, or show its latest entries."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,tail}")
        sub.add_parser("verify", help="walk the hash chain; fail on any changed or deleted row")
        tail = sub.add_parser("tail", help="print the latest entries (newest last)")
        tail.add_argument("-n", type=str, default="20", help="how many entries (default 20)")
        tail.add_argument("--action", default="", help="only actions starting with this")
        tail.add_argument(
            "--detail",
            action="store_true",
            help="also print each entry's detail (may hold personal data)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["subcommand"] == "verify":
            self._verify()
        else:
            self._tail(_positive(opts["n"]), opts["action"], opts["detail"])

    def _verify(self) -> None:
        result = audit.verify()
        if result.ok:
            self.stdout.write(_("audit trail intact: %(n)d entries") % {"n": result.checked})
            return
        for problem in result.problems:
            self.stderr.write(problem)
        raise CommandError(
            _("audit trail broken: %(p)d problem(s) in %(n)d entries checked")
            % {"p": len(result.problems), "n": result.checked}
        )

    def _tail(self, n: int, action: str, detail: bool) -> None:
        # The CLI runs as the system actor: whoever holds the server reads the whole trail.
        entries = list(audit_entries(SYSTEM, action=action)[:n])
        if not entries:
            self.stdout.write(_("no audit entries"))
            return
        for entry in reversed(entries):
            self.stdout.write(format_entry(entry, detail=detail))
