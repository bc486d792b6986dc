"""Reading a territory file (CSV or XLSX) and checking each row on its own.

Line numbers are spreadsheet rows: the header is line 1, the first data row line 2. Blank rows
are skipped but still counted, so a line number always points at the row the person sees.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from gridguard.core.errors import FieldError, InvalidInput
from gridguard.territory.kinds import AreaKind

REQUIRED = ("code", "name", "kind", "parent_code")
OPTIONAL = ("address", "latitude", "longitude", "households", "population")
COLUMNS = REQUIRED + OPTIONAL
# Offices often head their sheets in Chinese; these names mean the same columns.
ALIASES = {
    "编码": "code",
    "代码": "code",
    "名称": "name",
    "类型": "kind",
    "上级编码": "parent_code",
    "上级代码": "parent_code",
    "地址": "address",
    "纬度": "latitude",
    "经度": "longitude",
    "户数": "households",
    "人口": "population",
}
MAX_LENGTH = {"code": 40, "name": 100, "address": 255, "parent_code": 40}
MAX_COUNT = 2_147_483_647  # PositiveIntegerField on every backend
RANGES = {"latitude": Decimal(90), "longitude": Decimal(180)}
MICRO = Decimal("0.000001")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "@", "\t", "\r")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls

Table = list[tuple[int, list[str]]]


@dataclass
class ParsedRow:
    """One data row: its line, the cleaned cells, and the problems found in it alone."""

    line: int
    code: str
    name: str
    kind: str
    parent_code: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    broken: bool = False


def _file_error(code: str, message: str, line: int | None = None) -> InvalidInput:
    return InvalidInput([FieldError("file", code, message, line=line)])


def read_table(data: bytes, filename: str = "") -> tuple[list[str], Table]:
    """(header cells, [(line, cells)]) of a CSV (UTF-8, BOM or not) or XLSX file."""
    name = filename.lower()
    if not data.strip():
        raise _file_error("empty", _("The file is empty."))
    if data.startswith(OLE_MAGIC) or name.endswith(".xls"):
        raise _file_error("format", _("This is an old .xls workbook: save it as .xlsx or CSV."))
    if data.startswith(ZIP_MAGIC):
        header, table = _read_xlsx(data)
    elif name.endswith(".xlsx"):
        raise _file_error("format", _("The file is named .xlsx but is not an XLSX workbook."))
    else:
        header, table = _read_csv(data)
    if not any(header):
        raise _file_error("empty", _("The file has no header row."), line=1)
    return header, table


def _read_csv(data: bytes) -> tuple[list[str], Table]:
    if b"\x00" in data:
        raise _file_error("format", _("The file is neither CSV text nor an XLSX workbook."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            "encoding",
            _("The file is not UTF-8 text: save it as “CSV UTF-8” or as XLSX."),
            line=line,
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: Table = []
    try:
        for index, cells in enumerate(reader, start=1):
            rows.append((index, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise _file_error(
            "format", _("The CSV cannot be read: %(e)s") % {"e": exc}, line=reader.line_num
        ) from exc
    return _split(rows)


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person typed (codes typed as numbers stay whole)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(data: bytes) -> tuple[list[str], Table]:
    from openpyxl import load_workbook

    unreadable = _file_error("format", _("The file is not a readable XLSX workbook."))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        # Besides BadZipFile, a zip whose parts are broken fails deep inside openpyxl with
        # whatever its XML parser or cell reader raises (ParseError, KeyError, ValueError, ...):
        # bad input, not a crash.
        raise unreadable from exc
    try:
        if not book.worksheets:
            raise _file_error("empty", _("The workbook has no sheet."))
        sheet = book.worksheets[0]
        # read_only mode parses the sheet lazily, so a broken sheet fails here.
        rows: Table = [
            (index, [_cell_text(v) for v in values])
            for index, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    except InvalidInput:
        raise
    except Exception as exc:
        raise unreadable from exc
    finally:
        book.close()
    return _split(rows)


def _split(rows: Table) -> tuple[list[str], Table]:
    """The header (the first row, wherever blank rows sit) and the non-blank rows below it."""
    if not rows or not any(rows[0][1]):
        return [], []
    header = rows[0][1]
    return header, [(line, cells) for line, cells in rows[1:] if any(cells)]


def _header_columns(header: list[str]) -> tuple[list[str | None], list[FieldError]]:
    """Each header cell's column (None for a blank trailing cell) and the header's problems."""
    errors: list[FieldError] = []
    names: list[str | None] = []
    seen: set[str] = set()
    for raw in header:
        text = raw.strip().lstrip("\ufeff")
        key = ALIASES.get(text, text.lower().replace(" ", "_"))
        if not text:
            names.append(None)
            continue
        if key not in COLUMNS:
            errors.append(
                FieldError(
                    text,
                    "unknown_column",
                    _("unknown column “%(c)s” (the columns are: %(all)s)")
                    % {"c": text, "all": ", ".join(COLUMNS)},
                    line=1,
                )
            )
        elif key in seen:
            errors.append(
                FieldError(
                    key, "duplicate_column", _("column “%(c)s” appears twice") % {"c": key}, line=1
                )
            )
        seen.add(key)
        names.append(key if key in COLUMNS else None)
    for col in REQUIRED:
        if col not in seen:
            errors.append(
                FieldError(
                    col, "missing_column", _("column “%(c)s” is missing") % {"c": col}, line=1
                )
            )
    return names, errors


def parse_rows(
    header: list[str], table: Table
) -> tuple[tuple[str, ...], list[ParsedRow], list[FieldError]]:
    """(columns present, rows, file problems): check every row on its own."""
    names, errors = _header_columns(header)
    if errors:
        return (), [], errors
    if not table:
        return (), [], [FieldError("file", "empty", _("The file has no data rows."), line=2)]
    columns = tuple(n for n in names if n)
    rows = [_parse_row(line, cells, names) for line, cells in table]
    return columns, rows, []


def _parse_row(line: int, cells: list[str], names: list[str | None]) -> ParsedRow:
    raw: dict[str, str] = {}
    extra = False
    for i, cell in enumerate(cells):
        col = names[i] if i < len(names) else None
        if col:
            raw[col] = cell.strip()
        elif cell.strip():
            extra = True
    row = ParsedRow(
        line=line,
        code=raw.get("code", "").upper(),
        name=raw.get("name", ""),
        kind=raw.get("kind", "").lower(),
        parent_code=raw.get("parent_code", "").upper(),
    )

    def bad(name: str, code: str, message: str) -> None:
        row.errors.append(FieldError(name, code, message, line=line))

    if extra:
        bad("file", "extra_cells", _("this row has more cells than the header has columns"))
    for col in ("code", "name", "kind"):
        if not raw.get(col):
            bad(col, "required", _("%(c)s is required") % {"c": col})
    if row.kind and row.kind not in AreaKind.values:
        bad(
            "kind",
            "unknown",
            _("unknown kind “%(k)s” (the kinds are: %(all)s)")
            % {"k": row.kind, "all": ", ".join(AreaKind.values)},
        )
    for col, limit in MAX_LENGTH.items():
        if len(raw.get(col, "")) > limit:
            bad(
                col, "too_long", _("%(c)s is longer than %(n)d characters") % {"c": col, "n": limit}
            )
    for col in ("name", "address"):
        if raw.get(col, "").startswith(FORMULA_START):
            bad(
                col,
                "formula",
                _("%(c)s starts with “%(ch)s”: spreadsheets would run it as a formula")
                % {"c": col, "ch": raw[col][0]},
            )
    for col in OPTIONAL:
        if col in raw:
            value, problem = _optional(col, raw[col])
            if problem:
                bad(col, "invalid", problem)
            row.values[col] = value
    return row


def _optional(col: str, text: str) -> tuple[Any, str]:
    """(value, problem) of an optional cell; blank means "not known"."""
    if col == "address":
        return text, ""
    if not text:
        return None, ""
    if col in RANGES:
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, _("%(c)s “%(v)s” is not a number") % {"c": col, "v": text}
        if not value.is_finite() or abs(value) > RANGES[col]:
            return None, _("%(c)s %(v)s is outside -%(n)s..%(n)s") % {
                "c": col,
                "v": text,
                "n": RANGES[col],
            }
        return value.quantize(MICRO), ""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_COUNT:
        return None, _("%(c)s “%(v)s” is not a whole number of at least 0") % {"c": col, "v": text}
    return int(text), ""


def common_path(paths: list[str]) -> str:
    """The deepest path containing every one of `paths` ("/" when they share none)."""
    if not paths:
        return ""
    split = [[c for c in p.split("/") if c] for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/" + "".join(c + "/" for c in common)
