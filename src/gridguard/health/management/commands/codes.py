"""`gridguard codes recompute [--all | --person ID ...] [--batch N]`: recompute health codes.

Runs as the system actor. `--all` walks every person by primary-key range (the nightly run);
`--person` recomputes the named persons at once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridguard.health.services import codes


class Command(BaseCommand):
    help = "Recompute health codes from the current rules and facts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="{recompute}")
        p = sub.add_parser("recompute", help="recompute every code, or some persons' codes")
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument("--all", action="store_true", help="every person")
        group.add_argument(
            "--person", type=int, action="append", metavar="ID", help="a person id (repeatable)"
        )
        p.add_argument("--batch", type=int, default=codes.DEFAULT_BATCH, help="persons per batch")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts.get("all"):
            if opts["batch"] < 1:
                raise CommandError("--batch must be at least 1")
            s = codes.recompute_all(batch=opts["batch"])
            colours = ", ".join(f"{k} {v}" for k, v in s.colours.items())
            self.stdout.write(
                f"{s.persons} persons in {s.batches} batches, {s.seconds:.1f} s: {colours}; "
                f"{s.changed} changed"
            )
            return
        ids = opts.get("person") or []
        done = codes.recompute(ids)
        missing = sorted(set(ids) - set(done))
        for pid, r in sorted(done.items()):
            self.stdout.write(
                f"{pid}: {r.colour} {' '.join(x['rule'] for x in r.reasons)}".rstrip()
            )
        if missing:
            raise CommandError(f"no such person: {', '.join(map(str, missing))}")
