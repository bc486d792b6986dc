"""Import of a hotline's ticket export (CSV or XLSX) through the intake every channel uses.

Columns may be headed in Chinese or English (渠道/channel, 工单编号/channel_ref, 受理时间/
received_at, 诉求内容/text, 地点/place, 姓名/reporter_name, 电话/reporter_phone); columns the
import does not know (a hotline's own status or operator columns) are reported and skipped. CSV
may be UTF-8 (with or without BOM) or GB18030, which Chinese offices' spreadsheets save. The
file is read by the territory import's reader (`read_table`), so both imports read files alike.

Unlike the territory import, good rows land even when other rows are bad (a hotline export is
a batch of independent reports, and the issue asks that its good rows are not held back by a
bad one); every bad row is reported with its spreadsheet line (the header is line 1). A file
that cannot be read, or lacks a column it needs, lands nothing. Rows go to `receive_many` in
batches of at most 1000, each batch in its own transaction; the same reference again answers
with the ticket already there, so importing a file twice lands it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from gridguard.core import audit
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission
from gridguard.territory.import_table import ZIP_MAGIC, read_table
from gridguard.tickets.models import Channel
from gridguard.tickets.services import intake

BATCH = intake.MAX_BATCH
COLUMNS = (
    "channel",
    "channel_ref",
    "received_at",
    "text",
    "place",
    "reporter_name",
    "reporter_phone",
)
# The headings Chinese hotline exports use for the same columns.
ALIASES = {
    "渠道": "channel",
    "来源渠道": "channel",
    "工单编号": "channel_ref",
    "工单号": "channel_ref",
    "受理时间": "received_at",
    "诉求内容": "text",
    "地点": "place",
    "事发地点": "place",
    "姓名": "reporter_name",
    "来电人": "reporter_name",
    "电话": "reporter_phone",
    "联系电话": "reporter_phone",
}


@dataclass
class ImportResult:
    """What an import did: tickets created, rows that repeated a ticket already there, and
    every problem of the bad rows (with their lines)."""

    filename: str = ""
    rows: int = 0
    created: int = 0
    repeated: int = 0
    errors: list[FieldError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({e.line for e in self.errors})


_SLASHED = re.compile(r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")


def _iso(value: str) -> str:
    """2020/2/14 9:30 as 2020-02-14T09:30:00 (still naive: Shanghai time)."""
    m = _SLASHED.match(value)
    assert m is not None
    y, mo, d, h, mi, sec = m.groups()
    return f"{y}-{int(mo):02d}-{int(d):02d}T{int(h or 0):02d}:{mi or '00'}:{sec or '00'}"


def _file_error(code: str, message: str, line: int | None = None) -> InvalidInput:
    return InvalidInput([FieldError("file", code, message, line=line)])


def _as_utf8(data: bytes) -> bytes:
    """CSV bytes as UTF-8: UTF-8 (BOM or not) as it is, else GB18030 re-encoded (the reader
    takes UTF-8 only). XLSX passes through untouched."""
    if data.startswith(ZIP_MAGIC):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise _file_error(
                "encoding",
                _("The file is neither UTF-8 nor GB18030 text: save it as CSV or XLSX."),
                line=line,
            ) from exc
    return data


def _columns(header: list[str], channel: str | None) -> tuple[list[str | None], list[str]]:
    """Each header cell's column (None: skipped) and the unknown headings; InvalidInput when
    a column appears twice or one the rows need is missing."""
    names: list[str | None] = []
    ignored: list[str] = []
    errors: list[FieldError] = []
    for raw in header:
        text = raw.strip().lstrip("\ufeff")
        key = ALIASES.get(text, text.lower().replace(" ", "_"))
        if key not in COLUMNS:
            names.append(None)
            if text:
                ignored.append(text)
            continue
        if key in names:
            errors.append(
                FieldError(
                    key, "duplicate_column", _("column “%(c)s” appears twice") % {"c": key}, line=1
                )
            )
        names.append(key)
    needed = ["text"] if channel else ["channel", "text"]
    for col in needed:
        if col not in names:
            errors.append(
                FieldError(
                    col, "missing_column", _("column “%(c)s” is missing") % {"c": col}, line=1
                )
            )
    if errors:
        raise InvalidInput(errors)
    return names, ignored


def import_tickets(
    actor: Any, data: bytes, filename: str, channel: str | None = None
) -> ImportResult:
    """Take in the tickets of a hotline export. `channel` fills the rows whose channel cell is
    blank (an export of one hotline has no channel column). Needs `tickets.import`.

    Returns what landed and each bad row's problems (each with its line); raises InvalidInput
    (nothing landed) when the file cannot be read or lacks a needed column."""
    require_permission(actor, "tickets.import")
    if channel is not None and channel not in Channel.values:
        raise InvalidInput.one(
            "channel",
            "unknown",
            _("Choose the channel: 12345, 12319, 12320, web or opinion."),
        )
    header, table = read_table(_as_utf8(data), filename)
    names, ignored = _columns(header, channel)
    result = ImportResult(filename=filename, rows=len(table), ignored_columns=ignored)
    lines: list[int] = []
    rows: list[dict[str, Any]] = []
    for line, cells in table:
        row: dict[str, Any] = {n: c for n, c in zip(names, cells, strict=False) if n is not None}
        if channel and not row.get("channel"):
            row["channel"] = channel
        when = row.get("received_at") or ""
        if _SLASHED.match(when):
            # Spreadsheets in Chinese locales write 2020/2/14 9:30; ISO 8601 wants dashes.
            row["received_at"] = _iso(when)
        lines.append(line)
        rows.append(row)
    for start in range(0, len(rows), BATCH):
        batch_lines = lines[start : start + BATCH]
        # Intake's permission is not asked again: importing is its own permission.
        outcomes = intake.receive_many(actor, rows[start : start + BATCH], permission="")
        for outcome in outcomes:
            line = batch_lines[outcome.line - 1]
            if outcome.errors:
                result.errors += [
                    FieldError(e.field, e.code, e.message, line) for e in outcome.errors
                ]
            elif outcome.created:
                result.created += 1
            else:
                result.repeated += 1
    audit.record(
        actor,
        "ticket.import",
        object_type="file",
        object_id=filename[:64],
        detail={"rows": result.rows, "created": result.created, "bad_rows": result.bad_rows},
    )
    return result
