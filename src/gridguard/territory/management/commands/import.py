"""`gridguard import territory FILE [--update]` and `gridguard import boundaries FILE.geojson`.

Bad input prints every problem as `line N: field: message` on stderr, changes nothing and
exits with status 1. Runs as the system actor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.territory import imports


class Command(BaseCommand):
    help = "Import the territory tree (CSV/XLSX) or area boundaries (GeoJSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="{territory,boundaries}")
        territory = sub.add_parser(
            "territory",
            help="areas from a CSV (UTF-8) or XLSX file with columns " + ",".join(imports.COLUMNS),
        )
        territory.add_argument("file")
        territory.add_argument(
            "--update",
            action="store_true",
            help="rows naming existing areas change their name, address, coordinates, counts",
        )
        boundaries = sub.add_parser(
            "boundaries", help="area boundaries from a GeoJSON FeatureCollection (properties.code)"
        )
        boundaries.add_argument("file")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from exc
        try:
            if opts["what"] == "territory":
                result = imports.import_territory(
                    SYSTEM, data, filename=path.name, update=opts.get("update", False)
                )
                self.stdout.write(
                    f"{path.name}: {result.count} areas imported "
                    f"({result.created} created, {result.updated} updated)"
                )
            else:
                count = imports.import_boundaries(SYSTEM, data, filename=path.name)
                self.stdout.write(f"{path.name}: {count} boundaries imported")
        except InvalidInput as exc:
            for e in exc.errors:
                where = f"line {e.line}: " if e.line is not None else ""
                field = f"{e.field}: " if e.field else ""
                self.stderr.write(f"{where}{field}{e.message}")
            raise CommandError(
                f"{path.name}: {len(exc.errors)} problem(s); nothing was imported"
            ) from exc
