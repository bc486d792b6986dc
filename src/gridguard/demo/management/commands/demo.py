"""`gridguard demo [--preset default|shanghai] [--people N] [--seed S] [--reset] [--only STEP]`.

Generates the demo city deterministically (same seed, same city) through the step registry in
`gridguard.demo.registry`, then prints one login per role with the demo password. Refuses to
write into a database that already holds a territory unless `--reset` is given, and `--reset`
refuses to wipe a database whose territory the demo did not make.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from gridguard.accounts.roles import Role
from gridguard.core import audit
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.demo.presets import PRESETS
from gridguard.demo.registry import DemoContext, run_demo, steps
from gridguard.territory.models import Area

GENERATED = "demo.generate"  # the audit action that marks a database as the demo's


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError as exc:
        raise CommandError(f"--people: a whole number, not “{value}”") from exc
    if n < 1 or n > 1_000_000:
        raise CommandError(f"--people: between 1 and 1,000,000, not {n}")
    return n


def wipe_database() -> None:
    """Drop every table and migrate again: the audit trail is append-only, so rows cannot be
    deleted one by one; the whole database is replaced instead."""
    if connection.vendor == "sqlite":
        name = Path(str(connection.settings_dict["NAME"]))
        connection.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    else:  # pragma: no cover - only the two supported databases
        raise CommandError(f"--reset: not supported on {connection.vendor}")
    call_command("migrate", verbosity=0, interactive=False)


class Command(BaseCommand):
    help = "Generate the demo city (territory, grid, responsible persons, duty, logins)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            default="default",
            help="default: one district, seconds; shanghai: the whole city's territory",
        )
        parser.add_argument(
            "--people",
            type=str,
            default=None,
            help="staff on duty (grid workers and gate volunteers); the preset's number if unset",
        )
        parser.add_argument("--seed", type=int, default=2020, help="same seed, same city")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="replace an earlier demo city (wipes the database; refused for real data)",
        )
        parser.add_argument(
            "--only",
            action="append",
            metavar="STEP",
            help="run only these steps (repeatable; for developing a step)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        self.verbosity = int(opts.get("verbosity", 1))
        people = _positive(opts["people"]) if opts.get("people") is not None else None
        only = set(opts["only"]) if opts.get("only") else None
        known = {s.name for s in steps()}
        if only and only - known:
            raise CommandError(
                f"--only: unknown step(s) {', '.join(sorted(only - known))}; "
                f"steps are {', '.join(sorted(known))}"
            )
        if Area.objects.exists() and only is None:
            if not opts["reset"]:
                raise CommandError(
                    "this database already holds a territory; pass --reset to replace the demo city"
                )
            if not AuditEntry.objects.filter(action=GENERATED).exists():
                raise CommandError(
                    "--reset: this database holds a territory the demo did not make; "
                    "refusing to wipe it"
                )
            wipe_database()
        scale = PRESETS[opts["preset"]].with_people(people)
        ctx = DemoContext(scale=scale, seed=opts["seed"], log=self._log)
        # Marked before the steps run, so a run cut short can still be reset.
        with transaction.atomic():
            audit.record(
                SYSTEM,
                GENERATED,
                object_type="demo",
                detail={"preset": scale.name, "seed": ctx.seed, "people": scale.people},
            )
        t0 = time.perf_counter()
        run_demo(ctx, only=only)
        elapsed = time.perf_counter() - t0
        self._print_logins(ctx, elapsed)

    def _log(self, line: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(line)

    def _print_logins(self, ctx: DemoContext, elapsed: float) -> None:
        if self.verbosity < 1:
            return
        out = self.stdout
        out.write(f"\nDemo city “{ctx.scale.name}” (seed {ctx.seed}) generated in {elapsed:.1f} s.")
        if not ctx.logins:
            return
        out.write("Logins (one per role), all with the password: " + ctx.password)
        width = max(len(login.username) for login in ctx.logins)
        for login in ctx.logins:
            out.write(
                f"  {login.username.ljust(width)}  {Role(login.role).label:<16} "
                f"{login.area_name} ({login.area_code})"
            )
        out.write("Open http://127.0.0.1:8000/ and log in.")
