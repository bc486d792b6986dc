"""Gate scanning on the server (decision 0008): the bundle, one online scan, offline upload."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard.access import credential
from gridguard.access.models import EntryPass, GateEvent
from gridguard.access.services import scanning, uploads
from gridguard.access.services.passes import issue_pass, revoke_pass
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry, AuditInbox
from gridguard.core.scoping import SYSTEM
from gridguard.territory import services as territory
from gridguard.territory.models import Area
from tests import factories
from tests.conftest import City
from tests.people.makers import health_code

API = "/api/v1/access"


def _pass(city: City, compound: str = "compound_a1", committee: str = "committee_a1") -> EntryPass:
    now = clock.now()
    return issue_pass(
        city.users.get(committee, SYSTEM),
        factories.person(city[compound]),
        city[compound],
        kind="resident",
        valid_from=now - dt.timedelta(hours=1),
        valid_until=now + dt.timedelta(days=30),
    )


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"{API}{path}", json.dumps(body), content_type="application/json")


@pytest.fixture
def volunteer(login: Callable[[str], Client]) -> Client:
    return login("volunteer_a1")


def _second_gate(city: City) -> Area:
    compound = city["compound_a1"]
    return territory.create_area(
        SYSTEM, code=compound.code + "G02", name="A小区南门", kind="gate", parent=compound
    )


# --------------------------------------------------------------------------- bundle


def test_bundle_holds_keys_revocations_and_non_green_passes(city: City, volunteer: Client) -> None:
    good, yellow, revoked = _pass(city), _pass(city), _pass(city)
    other_compound = _pass(city, "compound_a2", "nobody")
    health_code(yellow.person, "yellow")
    health_code(good.person, "green")
    revoke_pass(city.users["committee_a1"], revoked, "lost")
    r = volunteer.get(f"{API}/bundle/{city['gate_a1'].code}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["compound"] == city["compound_a1"].code
    assert body["revoked"] == [revoked.pass_id]
    assert body["not_green"] == {yellow.pass_id: "yellow"}
    assert other_compound.pass_id not in body["revoked"] + list(body["not_green"])
    kids = {k["kid"]: k for k in body["keys"]}
    assert good.signing_key is not None and good.signing_key.kid in kids
    assert kids[good.signing_key.kid]["street"] == city["street_a"].code
    assert abs(body["server_time"] - clock.now().timestamp()) < 5
    # The keys as served verify the pass, exactly as a phone would use them.
    trust = credential.TrustList.from_raw(
        {bytes.fromhex(k["kid"]): base64.b64decode(k["public_key"]) for k in body["keys"]},
        {bytes.fromhex(k["kid"]): k["street"] for k in body["keys"]},
    )
    assert credential.verify(good.credential, trust, now=int(clock.now().timestamp())).ok


def test_bundle_is_scoped_and_needs_gate_scan(city: City, login: Callable[[str], Client]) -> None:
    assert login("volunteer_a1").get(f"{API}/bundle/{city['gate_b1'].code}").status_code == 404
    assert login("operator_a").get(f"{API}/bundle/{city['gate_a1'].code}").status_code == 403
    r = login("volunteer_a1").get(f"{API}/bundle/NOPE")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "gate"


# --------------------------------------------------------------------------- online scan


def _scan(client: Client, city: City, qr: str, **extra: Any) -> Any:
    body = {"gate": city["gate_a1"].code, "qr": qr, **extra}
    return _post(client, "/scan", body)


def test_a_good_pass_is_let_in_logged_and_the_code_read_audited(
    city: City, volunteer: Client
) -> None:
    p = _pass(city)
    health_code(p.person, "green")
    inbox_before = AuditInbox.objects.count()
    r = _scan(volunteer, city, p.credential, temperature=36.6)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["ok"] is True and body["verdict"] == "ok" and body["colour"] == "green"
    assert body["pass"]["pass_id"] == p.pass_id and "*" in body["pass"]["masked_name"]
    event = GateEvent.objects.get(event_id=body["event_id"])
    assert (event.entry_pass_id, event.person_id, event.area_id) == (
        p.pk,
        p.person_id,
        city["gate_a1"].pk,
    )
    assert str(event.temperature) == "36.6" and event.offline is False
    row = AuditInbox.objects.order_by("-id").first()
    assert AuditInbox.objects.count() == inbox_before + 1
    assert row is not None and row.object_type == "people.person"
    assert row.object_id == str(p.person_id) and row.detail["fields"] == ["health_code"]


@pytest.mark.parametrize(
    ("colour", "temperature", "verdict"),
    [
        ("yellow", None, "code_yellow"),
        ("red", 36.5, "code_red"),
        ("green", 37.3, "fever"),
        ("green", 37.2, "ok"),
    ],
)
def test_code_and_fever_refuse_at_the_gate(
    city: City, volunteer: Client, colour: str, temperature: float | None, verdict: str
) -> None:
    p = _pass(city)
    health_code(p.person, colour)
    body = _scan(volunteer, city, p.credential, temperature=temperature).json()
    assert body["verdict"] == verdict and body["ok"] is (verdict == "ok")
    assert GateEvent.objects.get(event_id=body["event_id"]).verdict == verdict


def test_refusals_are_logged_with_their_reason(city: City, volunteer: Client) -> None:
    revoked, elsewhere = _pass(city), _pass(city, "compound_a2", "nobody")
    revoke_pass(city.users["committee_a1"], revoked, "moved out")
    now = clock.now()
    stranger = Ed25519PrivateKey.generate()
    forged = credential.sign(
        credential.PassClaims(
            pass_id="FORGED0001",
            compound=city["compound_a1"].code,
            gates=(),
            masked_name="王*",
            kind="resident",
            issuer=city["street_a"].code,
            issued_at=int(now.timestamp()),
            not_before=int(now.timestamp()) - 60,
            expires_at=int(now.timestamp()) + 3600,
        ),
        stranger,
    )
    cases = {
        revoked.credential: "revoked",
        elsewhere.credential: "wrong_compound",
        forged: "unknown_key",
        "GG1:NOT-A-PASS": "malformed",
        "hello": "malformed",
        revoked.credential[:-20]: "malformed",
    }
    for qr, expected in cases.items():
        body = _scan(volunteer, city, qr).json()
        assert (body["verdict"], body["ok"]) == (expected, False), qr
    assert GateEvent.objects.count() == len(cases)
    assert GateEvent.objects.filter(verdict="revoked", entry_pass=revoked).count() == 1
    assert GateEvent.objects.filter(verdict="malformed", entry_pass=None).count() == 3


def test_a_pass_revoked_after_signing_is_refused_online_even_with_a_valid_signature(
    city: City, volunteer: Client
) -> None:
    p = _pass(city)
    EntryPass.objects.filter(pk=p.pk).update(status="revoked")  # lists not refetched
    assert _scan(volunteer, city, p.credential).json()["verdict"] == "revoked"


def test_the_same_event_id_twice_is_one_event(city: City, volunteer: Client) -> None:
    p = _pass(city)
    health_code(p.person, "green")
    eid = str(uuid.uuid4())
    first = _scan(volunteer, city, p.credential, event_id=eid).json()
    second = _scan(volunteer, city, p.credential, event_id=eid).json()
    assert first["logged"] is True and second["logged"] is False
    assert second["verdict"] == first["verdict"] == "ok"
    assert GateEvent.objects.filter(event_id=eid).count() == 1


def test_a_pass_at_two_gates_within_two_minutes_is_flagged(city: City, volunteer: Client) -> None:
    p = _pass(city)
    health_code(p.person, "green")
    south = _second_gate(city)
    t0 = clock.now() - dt.timedelta(minutes=10)
    first = _scan(volunteer, city, p.credential, scanned_at=t0.isoformat()).json()
    again_same_gate = _scan(
        volunteer, city, p.credential, scanned_at=(t0 + dt.timedelta(seconds=20)).isoformat()
    ).json()
    other_gate = _post(
        volunteer,
        "/scan",
        {
            "gate": south.code,
            "qr": p.credential,
            "scanned_at": (t0 + dt.timedelta(seconds=60)).isoformat(),
        },
    ).json()
    later = _scan(
        volunteer, city, p.credential, scanned_at=(t0 + dt.timedelta(minutes=5)).isoformat()
    ).json()
    assert [first["flagged"], again_same_gate["flagged"], other_gate["flagged"]] == [
        "",
        "",
        "two_gates",
    ]
    assert later["flagged"] == ""  # 4 minutes after the south gate: fine
    assert other_gate["ok"] is True  # flagged for the committee, not refused at the gate


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"temperature": 45}, "temperature"),
        ({"temperature": 30}, "temperature"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"scanned_at": "2999-01-01T00:00:00+00:00"}, "scanned_at"),
        ({"gate": "NOPE"}, "gate"),
        ({"qr": "x" * 2000}, "qr"),
    ],
)
def test_bad_scan_input_names_the_field_and_logs_nothing(
    city: City, volunteer: Client, body: dict[str, Any], field: str
) -> None:
    p = _pass(city)
    r = _post(volunteer, "/scan", {"gate": city["gate_a1"].code, "qr": p.credential, **body})
    assert r.status_code == 422, r.content
    assert field in {e["field"] for e in r.json()["errors"]}
    assert GateEvent.objects.count() == 0


def test_scans_are_scoped_and_need_gate_scan(city: City, login: Callable[[str], Client]) -> None:
    p = _pass(city, "compound_b1", "committee_b1")
    r = _post(login("volunteer_a1"), "/scan", {"gate": city["gate_b1"].code, "qr": p.credential})
    assert r.status_code == 404
    r = _post(login("operator_a"), "/scan", {"gate": city["gate_a1"].code, "qr": p.credential})
    assert r.status_code == 403
    assert GateEvent.objects.count() == 0


def test_a_gate_scanner_token_scans_at_its_own_gates_only(city: City) -> None:
    _token, secret = accounts.issue_token(
        city.users["admin"], name="turnstile", purpose="gate_scanner", area=city["compound_a1"]
    )
    device = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    p = _pass(city)
    health_code(p.person, "green")
    assert _scan(device, city, p.credential).json()["verdict"] == "ok"
    r = _post(device, "/scan", {"gate": city["gate_b1"].code, "qr": p.credential})
    assert r.status_code == 404


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    junk=st.one_of(
        st.text(max_size=300),
        st.text(alphabet=credential._B45, max_size=300).map(lambda s: "GG1:" + s),
    )
)
def test_any_text_gets_a_refusal_never_an_error(city: City, junk: str) -> None:
    before = GateEvent.objects.count()
    result = scanning.scan(city.users["volunteer_a1"], gate_code=city["gate_a1"].code, qr=junk)
    assert result.verdict in {"malformed", "unknown_key", "forged"}
    assert GateEvent.objects.count() == before + 1


def test_service_refuses_out_of_scope_and_without_permission(city: City) -> None:
    with pytest.raises(OutOfScope):
        scanning.scan(city.users["volunteer_a1"], gate_code=city["gate_b1"].code, qr="x")
    with pytest.raises(NotPermitted):
        scanning.scan(city.users["operator_a"], gate_code=city["gate_a1"].code, qr="x")
    with pytest.raises(InvalidInput):
        scanning.scan(city.users["volunteer_a1"], gate_code="nope", qr="x")


# --------------------------------------------------------------------------- offline upload


def _event(city: City, p: EntryPass | None, **extra: Any) -> dict[str, Any]:
    row = {
        "event_id": str(uuid.uuid4()),
        "gate": city["gate_a1"].code,
        "pass_id": p.pass_id if p else None,
        "verdict": "ok",
        "temperature": 36.5,
        "scanned_at": (clock.now() - dt.timedelta(hours=1)).isoformat(),
    }
    row.update(extra)
    return row


def test_offline_upload_lands_each_event_once(city: City, volunteer: Client) -> None:
    p = _pass(city)
    events = [_event(city, p), _event(city, p, verdict="code_yellow"), _event(city, None)]
    events.append(dict(events[0]))  # the same event twice in one batch
    r = _post(volunteer, "/events", {"events": events})
    assert r.status_code == 200, r.content
    assert r.json() == {"accepted": 3, "duplicates": 1, "rejected": []}
    kept = GateEvent.objects.order_by("scanned_at", "id")
    assert kept.count() == 3 and all(e.offline for e in kept)
    first = GateEvent.objects.get(event_id=events[0]["event_id"])
    assert (first.entry_pass_id, first.person_id) == (p.pk, p.person_id)
    assert GateEvent.objects.get(event_id=events[2]["event_id"]).entry_pass_id is None
    # The phone sends the whole queue again (it never heard the answer): nothing doubles.
    r = _post(volunteer, "/events", {"events": events})
    assert r.json() == {"accepted": 0, "duplicates": 4, "rejected": []}
    assert GateEvent.objects.count() == 3
    assert AuditEntry.objects.filter(action="access.events.upload").count() == 2


def test_uploaded_references_are_resolved_and_still_protected(
    city: City, volunteer: Client
) -> None:
    """The database does not check a gate event's references (decision 0011): the upload
    resolves each one itself, so a pass number nobody holds is kept as no pass (never a
    dangling id), and the ORM still refuses to delete a pass, a person or a gate with events."""
    from django.db.models import ProtectedError

    p = _pass(city)
    events = [_event(city, p), _event(city, None, pass_id="ZZZZ9999")]
    r = _post(volunteer, "/events", {"events": events})
    assert r.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    unknown = GateEvent.objects.get(event_id=events[1]["event_id"])
    assert (unknown.entry_pass_id, unknown.person_id) == (None, None)
    known = GateEvent.objects.get(event_id=events[0]["event_id"])
    assert known.area_id == city["gate_a1"].pk and known.entry_pass_id == p.pk
    for referent in (p, p.person, city["gate_a1"]):
        with pytest.raises(ProtectedError) as refused:
            referent.delete()
        assert known in set(refused.value.protected_objects), referent
    assert GateEvent.objects.count() == 2 and EntryPass.objects.filter(pk=p.pk).exists()


def test_a_batch_with_bad_rows_keeps_the_good_ones_and_reports_the_bad(
    city: City, volunteer: Client
) -> None:
    p = _pass(city)
    future = (clock.now() + dt.timedelta(hours=2)).isoformat()
    old = (clock.now() - dt.timedelta(days=40)).isoformat()
    events = [
        _event(city, p),
        _event(city, p, event_id="nope"),
        _event(city, p, gate="NOPE"),
        _event(city, p, gate=city["gate_b1"].code),
        _event(city, p, verdict="maybe"),
        _event(city, p, temperature=45),
        _event(city, p, scanned_at=future),
        _event(city, p, scanned_at=old),
        _event(city, p),
    ]
    r = _post(volunteer, "/events", {"events": events})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [
        (1, "event_id"),
        (2, "gate"),
        (3, "gate"),
        (4, "verdict"),
        (5, "temperature"),
        (6, "scanned_at"),
        (7, "scanned_at"),
    ]
    assert all(x["message"] for x in body["rejected"])
    assert set(GateEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(events[0]["event_id"]),
        uuid.UUID(events[8]["event_id"]),
    }


def test_upload_needs_events_and_caps_the_batch(city: City, volunteer: Client) -> None:
    r = _post(volunteer, "/events", {"events": []})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "events"
    rows = [_event(city, None) for _ in range(uploads.MAX_BATCH + 1)]
    r = _post(volunteer, "/events", {"events": rows})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "events"
    assert GateEvent.objects.count() == 0


def test_a_scan_costs_two_statements_on_postgresql(
    city: City, django_assert_num_queries: Any
) -> None:
    from django.db import connection

    p = _pass(city)
    health_code(p.person, "green")
    volunteer = city.users["volunteer_a1"]
    volunteer.bindings()  # the user's role bindings are loaded once per request
    scanning.scan(volunteer, gate_code=city["gate_a1"].code, qr=p.credential)  # warm caches
    # Pass facts (state, code, last entry) in one; the event and its audit row in another
    # (two inserts on SQLite, which has no data-modifying WITH).
    expected = 2 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(expected):
        result = scanning.scan(volunteer, gate_code=city["gate_a1"].code, qr=p.credential)
    assert result.verdict == "ok" and result.logged


def test_a_malformed_event_is_reported_and_does_not_stop_the_batch(
    city: City, volunteer: Client
) -> None:
    good = _event(city, None)
    odd = _event(city, None, event_id="x" * 500, temperature="hot")
    r = _post(volunteer, "/events", {"events": [odd, good, "not an event", {}]})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["accepted"] == 1
    assert {(x["index"], x["field"]) for x in body["rejected"]} >= {
        (0, "event_id"),
        (0, "temperature"),
        (2, "events"),
        (3, "event_id"),
        (3, "gate"),
    }


def test_a_backdated_online_scan_cannot_revive_an_expired_pass(
    city: City, volunteer: Client
) -> None:
    p = _pass(city)
    health_code(p.person, "green")
    later = clock.now() + dt.timedelta(days=31)  # the pass ended yesterday
    with clock.frozen(later):
        back = (later - dt.timedelta(days=2)).isoformat()  # while the pass was still valid
        r = _scan(volunteer, city, p.credential, scanned_at=back)
    assert r.json()["verdict"] == "expired"
