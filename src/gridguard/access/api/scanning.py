"""Access API: gate scanning (decision 0008). The bundle an offline scanner caches, one scan
checked and logged online, and the upload of logs kept offline. Scanners use a volunteer's
session or a `gate_scanner` device token; each call needs `gate.scan` at the gate."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from gridguard.access.models import Verdict
from gridguard.access.services import scanning, uploads
from gridguard.core.api import ERROR_RESPONSES, need

router = Router(tags=["access-scanning"])


class KeyOut(Schema):
    kid: str
    street: str
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")


class BundleOut(Schema):
    gate: str
    gate_name: str
    compound: str
    compound_name: str
    server_time: int = Field(description="Unix seconds: scanners keep their clock offset")
    skew: int
    display_lifetime: int
    display_skew: int
    fever_from: float
    refresh_s: int
    keys: list[KeyOut]
    revoked: list[str] = Field(description="pass numbers revoked at this compound")
    not_green: dict[str, str] = Field(description="pass number → yellow or red")


@router.get("/bundle/{gate_code}", response={200: BundleOut, **ERROR_RESPONSES})
def gate_bundle(request: HttpRequest, gate_code: str) -> Any:
    """Everything a scanner at this gate needs to decide offline."""
    actor = need(request, "gate.scan")
    return scanning.bundle(actor, gate_code)


class ScanIn(Schema):
    gate: str = Field(max_length=40, description="the gate's area code")
    qr: str = Field(max_length=1024, description="the scanned text, GG1:…")
    temperature: float | None = Field(None, description="°C, when taken")
    event_id: str | None = Field(
        None, max_length=64, description="UUID chosen by the scanner; a retry reuses it"
    )
    scanned_at: dt.datetime | None = None


class PassOut(Schema):
    pass_id: str
    masked_name: str
    kind: str
    compound: str
    valid_until: dt.datetime


class ScanOut(Schema):
    event_id: str
    ok: bool
    verdict: str
    message: str
    colour: str | None
    flagged: str
    logged: bool = Field(description="false when this event id had been logged before")
    pass_: PassOut | None = Field(None, alias="pass")


@router.post("/scan", response={200: ScanOut, **ERROR_RESPONSES}, by_alias=True)
def scan(request: HttpRequest, payload: ScanIn) -> Any:
    """Check one scanned pass at a gate and log it. A refusal is a 200 with `ok: false` and
    the reason in `verdict`; bad input is a 422 and logs nothing."""
    actor = need(request, "gate.scan")
    result = scanning.scan(
        actor,
        gate_code=payload.gate,
        qr=payload.qr,
        temperature=payload.temperature,
        event_id=payload.event_id,
        scanned_at=payload.scanned_at,
    )
    claims = result.claims
    return {
        "event_id": str(result.event_id),
        "ok": result.ok,
        "verdict": result.verdict,
        "message": str(Verdict(result.verdict).label),
        "colour": result.colour,
        "flagged": result.flagged,
        "logged": result.logged,
        "pass": None
        if claims is None
        else {
            "pass_id": claims.pass_id,
            "masked_name": claims.masked_name,
            "kind": claims.kind,
            "compound": claims.compound,
            "valid_until": dt.datetime.fromtimestamp(claims.expires_at, dt.UTC),
        },
    }


class UploadIn(Schema):
    events: list[Any] = Field(
        description=(
            f"1 to {uploads.MAX_BATCH} events, each {{event_id (UUID), gate (code), pass_id "
            "(or null), verdict, temperature (°C or null), scanned_at (ISO 8601)}}. Each event "
            "is checked on its own, so one bad event is reported by index and does not stop "
            "the others."
        )
    )


class RejectedOut(Schema):
    index: int
    event_id: str
    field: str
    message: str


class UploadOut(Schema):
    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


@router.post("/events", response={200: UploadOut, **ERROR_RESPONSES})
def upload(request: HttpRequest, payload: UploadIn) -> Any:
    """Upload the events a scanner logged offline. An event id already kept counts as a
    duplicate; bad rows come back by index with the field and the reason, good rows land."""
    actor = need(request, "gate.scan")
    result = uploads.upload_events(actor, payload.events)
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
    }
