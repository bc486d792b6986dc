"""The upload of gate events a scanner logged while offline (A2, decision 0008).

A phone back online sends its queue in batches of up to 5,000 events, each with the UUID it
chose when it scanned, so a batch sent twice (the phone never heard the answer) keeps each
event once. Bad rows are reported by index; the good rows land. On PostgreSQL the rows go in
with one `COPY` straight into the event table after one indexed look-up of the ids already
kept; if another upload of the same events wins the race, the batch goes through a staging
table and `INSERT … ON CONFLICT DO NOTHING` instead.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from gridguard.access.models import EntryPass, GateEvent, Verdict
from gridguard.access.services.scanning import MAX_EVENT_AGE, gate_for
from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.health import travel
from gridguard.health.services.registration import check_temperature
from gridguard.territory.models import Area

MAX_BATCH = 5000
_VERDICTS = frozenset(Verdict.values)
_LOW, _HIGH = float(travel.MIN_TEMPERATURE), float(travel.MAX_TEMPERATURE)


@dataclass
class UploadResult:
    """How many events landed, how many were already kept, and the refused rows."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


@dataclass(slots=True)
class _Row:
    event_id: str  # lower-case canonical UUID text
    area_id: int
    pass_id: str | None
    verdict: str
    temperature: str | None  # "36.5": already checked and rounded
    scanned_at: dt.datetime
    stamp: str  # scanned_at as ISO 8601 text, for COPY


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _temperature(value: Any) -> str | None:
    # The common case (a number in range) without Decimal; anything else goes through the
    # one temperature check of the project, which raises with the message.
    if value is None:
        return None
    if type(value) in (int, float) and _LOW <= value <= _HIGH:
        return f"{value:.1f}"
    checked = check_temperature(value)
    return None if checked is None else str(checked)


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class _Checker:
    """Checks rows one by one, remembering the gates already allowed in this batch."""

    def __init__(self, actor: Any, now: dt.datetime) -> None:
        self.actor = actor
        self.latest = now + dt.timedelta(minutes=5)
        self.earliest = now - MAX_EVENT_AGE
        self.gates: dict[str, Area | None] = {}
        self.gate_errors: dict[str, str] = {}
        self.gate_pks: dict[str, int] = {}  # the gates already allowed, for the fast path

    def gate(self, code: str) -> tuple[Area | None, str]:
        if code in self.gates:
            return self.gates[code], self.gate_errors.get(code, "")
        area, problem = None, ""
        try:
            area = gate_for(self.actor, code)
        except InvalidInput:
            problem = _("No gate has the code %(code)s.") % {"code": code}
        except (OutOfScope, NotPermitted):
            problem = _("You may not log scans at gate %(code)s.") % {"code": code}
        self.gates[code] = area
        self.gate_errors[code] = problem
        if area is not None:
            self.gate_pks[code] = area.pk
        return area, problem

    def fast(self, row: Any) -> _Row | None:
        """The row when it is plainly good (what a GridGuard phone sends), else None for
        `check` to say what is wrong. A batch has thousands of rows: this path avoids every
        conversion a good row does not need (UUID objects, Decimal, re-formatting times)."""
        if type(row) is not dict:
            return None
        eid, verdict, stamp = row.get("event_id"), row.get("verdict"), row.get("scanned_at")
        area_id = self.gate_pks.get(row.get("gate"))  # type: ignore[arg-type]
        if area_id is None or verdict not in _VERDICTS or type(stamp) is not str:
            return None
        if type(eid) is not str or _UUID.fullmatch(eid) is None:
            return None
        temperature = row.get("temperature")
        if temperature is not None:
            if type(temperature) not in (int, float) or not _LOW <= temperature <= _HIGH:
                return None
            temperature = f"{temperature:.1f}"
        pass_id = row.get("pass_id")
        if pass_id is not None and (type(pass_id) is not str or not 0 < len(pass_id) <= 16):
            return None
        try:
            when = dt.datetime.fromisoformat(stamp)
        except ValueError:
            return None
        if when.tzinfo is None or not self.earliest <= when <= self.latest:
            return None
        return _Row(eid.lower(), area_id, pass_id, verdict, temperature, when, stamp)

    def check(self, index: int, row: Any) -> tuple[_Row | None, list[dict[str, Any]]]:
        """The row, or every problem with it, each naming its field."""
        if not isinstance(row, dict):
            return None, [_problem(index, "", "events", _("Not an event."))]
        raw_id = row.get("event_id")
        problems: list[dict[str, Any]] = []
        try:
            eid = uuid.UUID(str(raw_id))
        except (ValueError, TypeError):
            problems.append(_problem(index, raw_id, "event_id", _("The event id must be a UUID.")))
        gate, problem = self.gate(str(row.get("gate") or "").strip())
        if problem:
            problems.append(_problem(index, raw_id, "gate", problem))
        verdict = row.get("verdict")
        if verdict not in _VERDICTS:
            problems.append(_problem(index, raw_id, "verdict", _("Unknown verdict.")))
        try:
            temperature = _temperature(row.get("temperature"))
        except InvalidInput as exc:
            temperature = None
            problems.append(_problem(index, raw_id, "temperature", str(exc.errors[0].message)))
        when = _when(row.get("scanned_at")) if row.get("scanned_at") else None
        if when is None:
            problems.append(_problem(index, raw_id, "scanned_at", _("Give the time of the scan.")))
        elif when > self.latest:
            message = _("This time is in the future: check the phone's clock.")
            problems.append(_problem(index, raw_id, "scanned_at", message))
        elif when < self.earliest:
            message = _("This scan is older than 30 days and is no longer accepted.")
            problems.append(_problem(index, raw_id, "scanned_at", message))
        pass_id = row.get("pass_id")
        if pass_id is not None and (type(pass_id) is not str or not 0 < len(pass_id) <= 16):
            problems.append(_problem(index, raw_id, "pass_id", _("This is not a pass number.")))
        if problems or gate is None or when is None:
            return None, problems
        return (
            _Row(str(eid), gate.pk, pass_id, str(verdict), temperature, when, when.isoformat()),
            [],
        )


def _problem(index: int, event_id: Any, field: str, message: str) -> dict[str, Any]:
    return {"index": index, "event_id": str(event_id or ""), "field": field, "message": message}


def upload_events(actor: Any, rows: Iterable[Any]) -> UploadResult:
    """Keep a batch of events a scanner logged offline (permission `gate.scan` at each gate).

    An event id already kept is a duplicate, not an error. Bad rows come back by index with
    the field and the reason; the good rows land. One audit row records the upload."""
    items = list(rows)
    if not items:
        raise InvalidInput.one("events", "required", _("Send at least one event."))
    if len(items) > MAX_BATCH:
        raise InvalidInput.one(
            "events", "too_many", _("Send at most %(n)d events at once.") % {"n": MAX_BATCH}
        )
    now = clock.now()
    checker = _Checker(actor, now)
    good: dict[str, _Row] = {}
    rejected: list[dict[str, Any]] = []
    repeats = 0
    for index, item in enumerate(items):
        row = checker.fast(item)
        problems: list[dict[str, Any]] = []
        if row is None:
            row, problems = checker.check(index, item)
        if row is None:
            rejected.extend(problems)
        elif row.event_id in good:
            repeats += 1  # the same event twice in one batch
        else:
            good[row.event_id] = row
    label = audit.describe_actor(actor)[1][:150]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            accepted = _copy_in(list(good.values()), now, label)
        else:
            accepted = _bulk_in(list(good.values()), now, label)
        duplicates = len(good) - accepted + repeats
        audit.record(
            actor,
            "access.events.upload",
            None,
            detail={
                "accepted": accepted,
                "duplicates": duplicates,
                "rejected": len({r["index"] for r in rejected}),
            },
        )
    return UploadResult(accepted, duplicates, rejected)


def _owners(rows: list[_Row]) -> dict[str, tuple[int, int]]:
    """{pass number: (pass pk, holder pk)} for the batch's passes, in one query."""
    wanted = list({r.pass_id for r in rows if r.pass_id})
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        # One array parameter: thousands of IN placeholders cost more to build than to run.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT pass_id, id, person_id FROM {EntryPass._meta.db_table} "
                "WHERE pass_id = ANY(%s)",
                [wanted],
            )
            return {pid: (pk, person) for pid, pk, person in cursor.fetchall()}
    found = EntryPass.objects.filter(pass_id__in=wanted).values_list("pass_id", "pk", "person_id")
    return {pid: (pk, person) for pid, pk, person in found}


_NULL = "\\N"  # NULL in COPY's text format


def _copy_text(
    rows: list[_Row], owners: dict[str, tuple[int, int]], received: str, label: str
) -> str:
    """The rows in COPY's text format: tab-separated, one line each."""
    label = label.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    tail = f"\t{received}\tt\t{label}\t\n"
    lines = []
    for r in rows:
        pk, person = owners.get(r.pass_id, (_NULL, _NULL)) if r.pass_id else (_NULL, _NULL)
        lines.append(
            f"{r.event_id}\t{r.area_id}\t{pk}\t{person}\t{r.verdict}\t"
            f"{r.temperature or _NULL}\t{r.stamp}{tail}"
        )
    return "".join(lines)


_COPY_COLUMNS = (
    "event_id, area_id, entry_pass_id, person_id, verdict, temperature, scanned_at, "
    "received_at, offline, recorded_by, flagged"
)


def _copy_in(rows: list[_Row], now: dt.datetime, label: str) -> int:
    table = GateEvent._meta.db_table
    text = _copy_text(rows, _owners(rows), now.isoformat(), label)
    with connection.cursor() as cursor:
        try:
            # The common case, a batch never sent before: one COPY, as fast as COPY gets.
            with (
                transaction.atomic(),
                cursor.cursor.copy(f"COPY {table} ({_COPY_COLUMNS}) FROM STDIN") as copy,
            ):
                copy.write(text)
            return len(rows)
        except (IntegrityError, psycopg.errors.UniqueViolation):
            pass  # some of these events are kept already: a replayed batch
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS gate_upload ON COMMIT DELETE ROWS AS "
            f"SELECT {_COPY_COLUMNS} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY gate_upload ({_COPY_COLUMNS}) FROM STDIN") as copy:
            copy.write(text)
        cursor.execute(
            f"INSERT INTO {table} ({_COPY_COLUMNS}) SELECT {_COPY_COLUMNS} FROM gate_upload "
            "ON CONFLICT (event_id) DO NOTHING"
        )
        inserted = int(cursor.rowcount)
        cursor.execute("DELETE FROM gate_upload")
        return inserted


def _bulk_in(rows: list[_Row], now: dt.datetime, label: str) -> int:
    """The embedded (SQLite) path: the same rows through bulk_create, skipping kept ids."""
    kept = {
        str(e)
        for e in GateEvent.objects.filter(
            event_id__in=[uuid.UUID(r.event_id) for r in rows]
        ).values_list("event_id", flat=True)
    }
    owners = _owners(rows)
    fresh = []
    for r in rows:
        if r.event_id in kept:
            continue
        pk, person = owners.get(r.pass_id, (None, None)) if r.pass_id else (None, None)
        fresh.append(
            GateEvent(
                event_id=uuid.UUID(r.event_id),
                area_id=r.area_id,
                entry_pass_id=pk,
                person_id=person,
                verdict=r.verdict,
                temperature=r.temperature,
                scanned_at=r.scanned_at,
                received_at=now,
                offline=True,
                recorded_by=label,
            )
        )
    GateEvent.objects.bulk_create(fresh, batch_size=500)
    return len(fresh)
