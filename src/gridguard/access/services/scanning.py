"""Gate scanning (A2): the bundle an offline scanner needs, and one scan checked and logged
online (the upload of logs kept offline is in `uploads.py`). Decision 0008.

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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from gridguard.access import credential
from gridguard.access.models import EntryPass, GateEvent, PassStatus, Verdict
from gridguard.access.services.keys import trust_list, trusted_keys
from gridguard.core import audit, clock, leansql
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission_at
from gridguard.health.models import HealthCode
from gridguard.health.services.registration import FEVER_FROM, check_temperature
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

CACHE_SECONDS = 30.0  # how long a process trusts its cached gates and trust list
REFRESH_SECONDS = 300  # how often an online scanner refetches its bundle
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
    # The pass is checked against the server's clock, not the scanner's `scanned_at` (which
    # only dates the log): a backdated scan must not let an expired pass or an old screenshot
    # of a display credential through.
    checks = {"now": int(now.timestamp()), "compound": compound.code, "gate": gate.code}
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
    if facts is None:
        logged = leansql.insert(event, unless_exists="event_id")
    else:
        # The holder's code was read (its colour decides): audited through the inbox, in the
        # same statement as the event (one round trip, one commit).
        read = audit.inbox_row(
            actor,
            "read",
            object_type="people.person",
            object_id=str(facts.person_id),
            area_path=compound.path,
            detail={"fields": ["health_code"], "gate": gate.code},
        )
        logged = leansql.insert_together(event, read, unless_exists="event_id")
    if not logged:
        first = GateEvent.objects.filter(event_id=eid).first()
        if first is not None and first.area_id != gate.pk:
            raise InvalidInput.one(
                "event_id", "taken", _("This event id was used for another gate.")
            )
        if first is not None:
            reason, flagged = first.verdict, first.flagged
    return ScanResult(eid, reason, colour, flagged, verdict.claims, logged)
