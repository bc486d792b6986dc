"""Territory export (T1): an actor's part of the tree, and its responsible persons, as CSV or XLSX.

The area export has the import's columns in path order (parents before children), so an
export of the whole city imports into an empty database as the same tree. Rows are read with
a server-side iterator and CSV is produced in chunks, so a city-sized tree streams without
being held in memory. Every export is audited (`territory.export`) with its row count.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridguard.core import audit, clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.core.scoping import WHOLE_CITY, paths_of, require_in_scope
from gridguard.territory import selectors
from gridguard.territory.import_table import COLUMNS, FORMULA_START
from gridguard.territory.models import Area

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RESPONSIBLE_COLUMNS = (
    "area_code",
    "area_name",
    "kind",
    "person_name",
    "phone",
    "since",
    "until",
)
TEXT_COLUMNS = {"name", "address", "area_name", "person_name"}
CHUNK_ROWS = 2000


@dataclass
class ExportFile:
    """A file ready to send: its name, media type, row count and content in chunks."""

    filename: str
    content_type: str
    count: int
    chunks: Iterable[bytes]

    def read(self) -> bytes:
        """All of it at once (tests, the command line)."""
        return b"".join(self.chunks)


def _check(actor: Any, fmt: str, within: Area | None, permission: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput.one(
            "format", "unknown", f"format: one of {', '.join(FORMATS)}, not “{fmt}”"
        )
    if not actor.can(permission):
        raise NotPermitted()
    if within is not None:
        require_in_scope(actor, within)


def _areas(actor: Any, within: Area | None) -> Any:
    qs = selectors.areas_visible_to(actor)
    return (qs.subtree(within) if within is not None else qs).order_by("path")


def area_rows(actor: Any, within: Area | None = None) -> Iterator[tuple[Any, ...]]:
    """The actor's areas (inside `within`) as rows of COLUMNS, parents first."""
    rows = _areas(actor, within).values_list(
        "code",
        "name",
        "kind",
        "path",
        "address",
        "latitude",
        "longitude",
        "households",
        "population",
    )
    for code, name, kind, path, address, lat, lon, households, population in rows.iterator(
        chunk_size=CHUNK_ROWS
    ):
        codes = [c for c in path.split("/") if c]
        parent = codes[-2] if len(codes) > 1 else ""
        yield (code, name, kind, parent, address, lat, lon, households, population)


def responsible_rows(actor: Any, within: Area | None = None) -> Iterator[tuple[Any, ...]]:
    """Current responsible persons inside `within`, phones as the actor may see them."""
    qs = selectors.responsibilities_visible_to(actor)
    if within is not None:
        qs = qs.within(within)
    rows = qs.order_by("area__path", "kind").values_list(
        "area__code", "area__name", "kind", "person_name", "phone", "since", "until"
    )
    for code, name, kind, person, phone, since, until in rows.iterator(chunk_size=CHUNK_ROWS):
        yield (code, name, kind, person, masking.phone_for(actor, phone), since, until)


def _safe_text(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_chunks(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (so Excel shows Chinese), a chunk per CHUNK_ROWS rows."""
    text = {i for i, c in enumerate(columns) if c in TEXT_COLUMNS}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    buf.write("\ufeff")
    writer.writerow(columns)
    for n, row in enumerate(rows, start=1):
        writer.writerow(
            [
                "" if v is None else (_safe_text(v) if i in text and isinstance(v, str) else str(v))
                for i, v in enumerate(row)
            ]
        )
        if n % CHUNK_ROWS == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def xlsx_bytes(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]], title: str) -> bytes:
    """An XLSX workbook written in openpyxl's write-only mode (rows go to disk as they come)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(columns))
    for row in rows:
        out: list[Any] = []
        for v in row:
            if isinstance(v, str) and v.startswith("="):
                # openpyxl would store it as a formula; keep it as the text it is.
                cell = WriteOnlyCell(sheet, value=v)
                cell.data_type = "s"
                out.append(cell)
            elif v is None:
                out.append(None)
            elif isinstance(v, Decimal):
                # Six decimals survive the float: its shortest repr re-imports as the same value.
                out.append(float(v))
            else:
                out.append(v)
        sheet.append(out)
    with tempfile.TemporaryFile() as fh:
        book.save(fh)
        fh.seek(0)
        return fh.read()


def _audit_path(actor: Any, within: Area | None) -> str:
    """Where the export happened, so the audit shows it to those who oversee that area."""
    if within is not None:
        return within.path
    paths = paths_of(actor)
    return paths[0] if len(paths) == 1 and paths[0] != WHOLE_CITY else ""


def _filename(stem: str, within: Area | None, fmt: str) -> str:
    where = within.code if within is not None else "all"
    return f"{stem}-{where}-{clock.today():%Y%m%d}.{fmt}"


def export_territory(actor: Any, *, within: Area | None = None, fmt: str = "csv") -> ExportFile:
    """The actor's areas (inside `within`) with the import's columns; audited with its count."""
    _check(actor, fmt, within, "territory.export")
    count = _areas(actor, within).count()
    audit.record(
        actor,
        "territory.export",
        within,
        area_path=_audit_path(actor, within),
        object_type="territory.area",
        detail={"what": "areas", "format": fmt, "count": count},
    )
    rows = area_rows(actor, within)
    chunks: Iterable[bytes] = (
        csv_chunks(COLUMNS, rows) if fmt == "csv" else [xlsx_bytes(COLUMNS, rows, "territory")]
    )
    return ExportFile(_filename("territory", within, fmt), FORMATS[fmt], count, chunks)


def export_responsible(actor: Any, *, within: Area | None = None, fmt: str = "csv") -> ExportFile:
    """Current responsible persons (names and phones, masked unless the role needs them).

    One audit row records the export of these personal records and how many there were.
    """
    _check(actor, fmt, within, "territory.export")
    if not actor.can("responsibility.view"):
        raise NotPermitted()
    qs = selectors.responsibilities_visible_to(actor)
    count = (qs.within(within) if within is not None else qs).count()
    audit.record(
        actor,
        "territory.export",
        within,
        area_path=_audit_path(actor, within),
        object_type="territory.responsibility",
        detail={
            "what": "responsible",
            "format": fmt,
            "count": count,
            "fields": ["person_name", "phone"],
        },
    )
    rows = responsible_rows(actor, within)
    chunks: Iterable[bytes] = (
        csv_chunks(RESPONSIBLE_COLUMNS, rows)
        if fmt == "csv"
        else [xlsx_bytes(RESPONSIBLE_COLUMNS, rows, "responsible")]
    )
    return ExportFile(_filename("responsible", within, fmt), FORMATS[fmt], count, chunks)


EXPORTERS = {"areas": export_territory, "responsible": export_responsible}
