"""`gridguard export territory [--area CODE] [--format csv|xlsx] [-o FILE]` (and `responsible`).

Runs as the system actor; CSV goes to stdout unless `-o` names a file, XLSX needs `-o`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridguard.core.scoping import SYSTEM
from gridguard.territory import exports
from gridguard.territory.commands import area_option


class Command(BaseCommand):
    help = "Export the territory tree or its responsible persons as CSV or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="{territory,responsible}")
        for name, text in (
            ("territory", "areas, with the columns the import reads"),
            ("responsible", "current responsible persons"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--area", help="only this area's subtree (its code)")
            p.add_argument("--format", choices=sorted(exports.FORMATS), default="csv")
            p.add_argument("-o", "--output", help="write to this file (default: stdout, CSV only)")

    def handle(self, *args: Any, **opts: Any) -> None:
        area = None
        if opts.get("area"):
            area = area_option(opts["area"])
        fmt = opts.get("format") or "csv"
        output = opts.get("output")
        if fmt == "xlsx" and not output:
            raise CommandError("XLSX is binary: name a file with -o")
        what = "areas" if opts["what"] == "territory" else "responsible"
        out = exports.EXPORTERS[what](SYSTEM, within=area, fmt=fmt)
        if output:
            with Path(output).open("wb") as fh:
                for chunk in out.chunks:
                    fh.write(chunk)
            self.stderr.write(f"{output}: {out.count} rows")
        else:
            for chunk in out.chunks:
                self.stdout.write(chunk.decode(), ending="")
