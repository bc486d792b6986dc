"""Gate scanning (A2): the bundle an offline scanner needs, one scan checked and logged
online, and the idempotent upload of the logs a scanner kept while offline. Decision 0008.

The online scan is the hottest write of the city (every entry at 52,755 gates), so it keeps
to three statements: one read of the pass with its holder's code and last entry, one insert of
the event (`ON CONFLICT (event_id) DO NOTHING`, so a retry is one event), one audit-inbox
insert. Gates and the trust list are cached per process for a few seconds.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridguard.access import credential
from gridguard.access.models import EntryPass, GateEvent, PassStatus, Verdict
from gridguard.access.services.keys import trust_list, trusted_keys
from gridguard.core import audit, clock, leansql
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import require_permission_at
from gridguard.health.models import HealthCode
from gridguard.health.services.registration import FEVER_FROM, check_temperature
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

CACHE_SECONDS = 30.0  # how long a process trusts its cached gates and trust list
REFRESH_SECONDS = 300  # how often an online scanner refetches its bundle
MAX_BATCH = 5000
MAX_EVENT_AGE = dt.timedelta(days=30)  # older offline logs are refused, not silently kept

_lock = threading.Lock()
_gates: dict[str, tuple[float, Area]] = {}
_trust: list[Any] = [0.0, None]


def forget_cached() -> None:
    """Drop the cached gates and trust list (after a key rotation or in tests)."""
    with _lock:
        _gates.clear()
        _trust[0], _trust[1] = 0.0, None


def _gate(code: str) -> Area:
    """The gate with this code (with its compound as `parent`), cached for a few seconds."""
    hit = _gates.get(code)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    gate = Area.objects.select_related("parent").filter(code=code, kind=AreaKind.GATE).first()
    if gate is None:
        raise InvalidInput.one(
            "gate", "unknown", _("No gate has the code %(code)s.") % {"code": code}
        )
    with _lock:
        _gates[code] = (now, gate)
    return gate


def _trust_list() -> credential.TrustList:
    now = time.monotonic()
    if _trust[1] is None or now - _trust[0] >= CACHE_SECONDS:
        fresh = trust_list()
        with _lock:
            _trust[0], _trust[1] = now, fresh
    return _trust[1]


def gate_for(actor: Any, code: str) -> Area:
    """The gate `code`, if the actor may scan there (OutOfScope/NotPermitted otherwise)."""
    gate = _gate(str(code).strip())
    require_permission_at(actor, "gate.scan", gate)
    return gate


# --------------------------------------------------------------------------- the bundle


def bundle(actor: Any, gate_code: str) -> dict[str, Any]:
    """Everything a scanner at `gate_code` needs to decide offline (decision 0008): the
    trusted public keys, the revoked pass numbers of the compound, and the compound's active
    passes whose holder's code is not green (colour only: no reason, no health detail)."""
    gate = gate_for(actor, gate_code)
    compound = gate.parent
    assert compound is not None  # a gate always hangs under a compound
    now = clock.now()
    late = now - dt.timedelta(seconds=credential.DISPLAY_SKEW + 300)
    revoked = list(
        EntryPass.objects.filter(
            area=compound, status=PassStatus.REVOKED, valid_until__gt=late
        ).values_list("pass_id", flat=True)
    )
    not_green = dict(
        EntryPass.objects.filter(area=compound, status=PassStatus.ACTIVE, valid_until__gt=now)
        .filter(person__health_code__colour__in=["yellow", "red"])
        .values_list("pass_id", "person__health_code__colour")
    )
    keys = [
        {
            "kid": k.kid,
            "street": k.area.code,
            "public_key": base64.b64encode(bytes(k.public_key)).decode("ascii"),
        }
        for k in trusted_keys(now)
    ]
    audit.defer(actor, "access.bundle", gate, detail={"not_green": len(not_green)})
    return {
        "gate": gate.code,
        "gate_name": gate.name,
        "compound": compound.code,
        "compound_name": compound.name,
        "server_time": int(now.timestamp()),
        "skew": 300,
        "display_lifetime": credential.DISPLAY_LIFETIME,
        "display_skew": credential.DISPLAY_SKEW,
        "fever_from": float(FEVER_FROM),
        "refresh_s": REFRESH_SECONDS,
        "keys": keys,
        "revoked": sorted(revoked),
        "not_green": not_green,
    }


# --------------------------------------------------------------------------- one scan online


@dataclass
class ScanResult:
    """What the scanner shows and what was logged."""

    event_id: uuid.UUID
    verdict: str
    colour: str | None
    flagged: str
    claims: credential.PassClaims | None
    logged: bool  # False when this event id had been logged before (a retry)

    @property
    def ok(self) -> bool:
        return self.verdict == Verdict.OK


def _when(value: Any) -> dt.datetime | None:
    """An aware datetime from an API value or a raw column (SQLite gives naive UTC)."""
    if value is None:
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass
class _PassFacts:
    pk: int
    status: str
    person_id: int
    colour: str | None
    code_expires: dt.datetime | None
    last_gate: int | None
    last_at: dt.datetime | None


def _pass_sql() -> str:
    p, e, h = EntryPass._meta.db_table, GateEvent._meta.db_table, HealthCode._meta.db_table
    last = (
        f"FROM {e} e WHERE e.entry_pass_id = p.id AND e.verdict = 'ok' "
        "ORDER BY e.scanned_at DESC LIMIT 1"
    )
    return (
        f"SELECT p.id, p.status, p.person_id, h.colour, h.expires_at, "
        f"(SELECT e.area_id {last}), (SELECT e.scanned_at {last}) "
        f"FROM {p} p LEFT JOIN {h} h ON h.person_id = p.person_id WHERE p.pass_id = %s"
    )


_PASS_SQL: dict[str, str] = {}


def _pass_facts(pass_id: str) -> _PassFacts | None:
    sql = _PASS_SQL.get(connection.vendor) or _PASS_SQL.setdefault(connection.vendor, _pass_sql())
    with connection.cursor() as cursor:
        cursor.execute(sql, [pass_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return _PassFacts(row[0], row[1], row[2], row[3], _when(row[4]), row[5], _when(row[6]))


def _colour(facts: _PassFacts, now: dt.datetime) -> str | None:
    if facts.colour is not None and facts.code_expires is not None and facts.code_expires > now:
        return facts.colour
    # Missing or expired: compute it now (rare; the recompute job keeps codes fresh).
    from gridguard.health.services.codes import recompute

    result = recompute([facts.person_id], now).get(facts.person_id)
    return getattr(result, "colour", None)


def _event_id(value: Any) -> uuid.UUID:
    if value is None or value == "":
        return uuid.uuid4()
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput.one("event_id", "invalid", _("The event id must be a UUID.")) from None


def scan(
    actor: Any,
    *,
    gate_code: str,
    qr: str,
    temperature: Any = None,
    event_id: Any = None,
    scanned_at: Any = None,
) -> ScanResult:
    """Check the pass scanned at `gate_code` and log the scan with its verdict.

    The pass is verified as the offline scanner does (credential.verify), but against the
    database's revocation state and the holder's current health code; then the temperature
    (fever from 37.3 °C). A refusal is logged too. The same `event_id` again logs nothing new
    and answers the first verdict. Bad input (unknown gate, temperature out of range, an
    event id that is not a UUID) raises InvalidInput and logs nothing.
    """
    gate = gate_for(actor, gate_code)
    errors: list[FieldError] = []
    temp: Decimal | None = None
    try:
        temp = check_temperature(temperature)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    try:
        eid = _event_id(event_id)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    now = clock.now()
    when = _when(scanned_at) if scanned_at not in (None, "") else now
    if when is None or when > now + dt.timedelta(minutes=5) or when < now - MAX_EVENT_AGE:
        errors.append(
            FieldError("scanned_at", "invalid", _("The scan time must be a recent past time."))
        )
    if not isinstance(qr, str) or len(qr) > credential.MAX_TEXT:
        errors.append(FieldError("qr", "invalid", _("This is not the text of a pass.")))
    if errors:
        raise InvalidInput(errors)
    compound = gate.parent
    assert compound is not None and when is not None
    checks = {"now": int(when.timestamp()), "compound": compound.code, "gate": gate.code}
    verdict = credential.verify(qr, _trust_list(), **checks)  # type: ignore[arg-type]
    if verdict.reason == "unknown_key" and _trust[0] < time.monotonic() - 1:
        # A key made in another process since this one cached the list: look once more
        # (at most once a second, so unknown keys cannot make every scan query the keys).
        _trust[1] = None
        verdict = credential.verify(qr, _trust_list(), **checks)  # type: ignore[arg-type]
    reason, colour, flagged = verdict.reason, None, ""
    facts = _pass_facts(verdict.claims.pass_id) if verdict.claims is not None else None
    if verdict.ok and (facts is None or facts.status != PassStatus.ACTIVE):
        # Signed but revoked since the scanner's lists, or never issued in this database.
        reason = Verdict.REVOKED
    if reason == Verdict.OK and facts is not None:
        colour = _colour(facts, now)
        if colour == "red":
            reason = Verdict.CODE_RED
        elif colour == "yellow":
            reason = Verdict.CODE_YELLOW
        elif temp is not None and temp >= FEVER_FROM:
            reason = Verdict.FEVER
    if (
        reason == Verdict.OK
        and facts is not None
        and facts.last_gate not in (None, gate.pk)
        and facts.last_at is not None
        and abs((when - facts.last_at).total_seconds()) < settings.TWO_GATES_SECONDS
    ):
        flagged = "two_gates"
    event = GateEvent(
        event_id=eid,
        area_id=gate.pk,
        entry_pass_id=facts.pk if facts else None,
        person_id=facts.person_id if facts else None,
        verdict=reason,
        temperature=temp,
        scanned_at=when,
        received_at=now,
        offline=False,
        recorded_by=audit.describe_actor(actor)[1][:150],
        flagged=flagged,
    )
    logged = leansql.insert(event, unless_exists="event_id")
    if not logged:
        first = GateEvent.objects.filter(event_id=eid).first()
        if first is not None and first.area_id != gate.pk:
            raise InvalidInput.one(
                "event_id", "taken", _("This event id was used for another gate.")
            )
        if first is not None:
            reason, flagged = first.verdict, first.flagged
    if facts is not None:
        # The holder's code was read (its colour decides): audited, in the inbox (one insert).
        audit.defer(
            actor,
            "read",
            object_type="people.person",
            object_id=str(facts.person_id),
            area_path=compound.path,
            detail={"fields": ["health_code"], "gate": gate.code},
        )
    return ScanResult(eid, reason, colour, flagged, verdict.claims, logged)


# --------------------------------------------------------------------------- offline upload


@dataclass
class UploadResult:
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


def _check_row(
    actor: Any, index: int, row: dict[str, Any], now: dt.datetime, gates: dict[str, Area]
) -> tuple[tuple[Any, ...] | None, list[dict[str, Any]]]:
    """One uploaded event as a tuple for the staging table, or its errors."""
    problems: list[dict[str, Any]] = []
    raw_id = row.get("event_id")

    def bad(field: str, message: str) -> None:
        problems.append(
            {"index": index, "event_id": str(raw_id or ""), "field": field, "message": message}
        )

    try:
        eid = uuid.UUID(str(raw_id))
    except (ValueError, TypeError):
        bad("event_id", _("The event id must be a UUID."))
        eid = None
    code = str(row.get("gate") or "").strip()
    gate = gates.get(code)
    if gate is None:
        try:
            gate = gates[code] = gate_for(actor, code)
        except InvalidInput:
            bad("gate", _("No gate has the code %(code)s.") % {"code": code})
        except (OutOfScope, NotPermitted):
            bad("gate", _("You may not log scans at gate %(code)s.") % {"code": code})
    verdict = row.get("verdict")
    if verdict not in Verdict.values:
        bad("verdict", _("Unknown verdict."))
    try:
        temp = check_temperature(row.get("temperature"))
    except InvalidInput as exc:
        temp = None
        bad("temperature", str(exc.errors[0].message))
    when = _when(row.get("scanned_at")) if row.get("scanned_at") else None
    if when is None:
        bad("scanned_at", _("Give the time of the scan."))
    elif when > now + dt.timedelta(minutes=5):
        bad("scanned_at", _("This time is in the future: check the phone's clock."))
    elif when < now - MAX_EVENT_AGE:
        bad("scanned_at", _("This scan is older than 30 days and is no longer accepted."))
    pass_id = row.get("pass_id")
    if pass_id is not None and (not isinstance(pass_id, str) or len(pass_id) > 16):
        bad("pass_id", _("This is not a pass number."))
    if problems or gate is None or eid is None or when is None:
        return None, problems
    return (eid, gate.pk, pass_id or None, verdict, temp, when), []


def upload_events(actor: Any, rows: Iterable[dict[str, Any]]) -> UploadResult:
    """Keep a batch of events a scanner logged offline; an event id already kept is a
    duplicate, not an error. Bad rows are reported by index and the good rows land."""
    items = list(rows)
    if not items:
        raise InvalidInput.one("events", "required", _("Send at least one event."))
    if len(items) > MAX_BATCH:
        raise InvalidInput.one(
            "events", "too_many", _("Send at most %(n)d events at once.") % {"n": MAX_BATCH}
        )
    now = clock.now()
    gates: dict[str, Area] = {}
    good: list[tuple[Any, ...]] = []
    rejected: list[dict[str, Any]] = []
    for index, row in enumerate(items):
        if not isinstance(row, dict):
            rejected.append(
                {"index": index, "event_id": "", "field": "events", "message": _("Not an event.")}
            )
            continue
        tup, problems = _check_row(actor, index, row, now, gates)
        if tup is None:
            rejected.extend(problems)
        else:
            good.append(tup)
    label = audit.describe_actor(actor)[1][:150]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            accepted = _copy_in(good, now, label)
        else:
            accepted = _bulk_in(good, now, label)
        audit.record(
            actor,
            "access.events.upload",
            None,
            detail={
                "accepted": accepted,
                "duplicates": len(good) - accepted,
                "rejected": len({r["index"] for r in rejected}),
            },
        )
    return UploadResult(accepted, len(good) - accepted, rejected)


_COLUMNS = (
    "event_id",
    "area_id",
    "entry_pass_id",
    "person_id",
    "verdict",
    "temperature",
    "scanned_at",
    "received_at",
    "offline",
    "recorded_by",
    "flagged",
)


def _copy_in(good: list[tuple[Any, ...]], now: dt.datetime, label: str) -> int:
    """COPY the rows into a staging table, then one INSERT … SELECT that finds each pass and
    its holder and skips event ids already kept."""
    table = GateEvent._meta.db_table
    passes = EntryPass._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS gate_upload (event_id uuid, area_id bigint, "
            "pass_id text, verdict text, temperature numeric(4,1), scanned_at timestamptz) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(  # psycopg 3
            "COPY gate_upload (event_id, area_id, pass_id, verdict, temperature, scanned_at) "
            "FROM STDIN"
        ) as copy:
            for row in good:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "
            "SELECT u.event_id, u.area_id, p.id, p.person_id, u.verdict, u.temperature, "
            "u.scanned_at, %s, true, %s, '' "
            f"FROM gate_upload u LEFT JOIN {passes} p ON p.pass_id = u.pass_id "
            "ON CONFLICT (event_id) DO NOTHING",
            [now, label],
        )
        return int(cursor.rowcount)


def _bulk_in(good: list[tuple[Any, ...]], now: dt.datetime, label: str) -> int:
    """The embedded (SQLite) path: the same rows through bulk_create, skipping kept ids."""
    ids = [g[0] for g in good]
    kept = set(GateEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    pass_ids = {g[2] for g in good if g[2]}
    owners = dict(
        (pid, (pk, person))
        for pid, pk, person in EntryPass.objects.filter(pass_id__in=pass_ids).values_list(
            "pass_id", "pk", "person_id"
        )
    )
    fresh: dict[uuid.UUID, GateEvent] = {}
    for eid, area_id, pass_id, verdict, temp, when in good:
        if eid in kept or eid in fresh:
            continue
        pk, person = owners.get(pass_id, (None, None)) if pass_id else (None, None)
        fresh[eid] = GateEvent(
            event_id=eid,
            area_id=area_id,
            entry_pass_id=pk,
            person_id=person,
            verdict=verdict,
            temperature=temp,
            scanned_at=when,
            received_at=now,
            offline=True,
            recorded_by=label,
        )
    GateEvent.objects.bulk_create(fresh.values(), batch_size=500)
    return len(fresh)
