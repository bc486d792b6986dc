"""The entry-pass API (/api/v1/access/passes): list, one pass, issue, revoke, request, decide,
and the holder's display credential. Scoped, audited; bad input is a 422 naming the field and
changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassStatus
from gridguard.access.services import keys, passes
from gridguard.accounts.services import issue_token
from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people.models import Person
from tests import factories
from tests.conftest import City

URL = "/api/v1/access/passes"
Login = Callable[[str], Client]


@pytest.fixture
def resident(city: City) -> Person:
    return factories.person(city["building_a1"], "王小芳", user=city.users["resident_a1"])


def _issue(city: City, person: Person, side: str = "a", **extra: Any) -> EntryPass:
    now = clock.now()
    fields: dict[str, Any] = {
        "kind": "resident",
        "valid_from": now - dt.timedelta(hours=1),
        "valid_until": now + dt.timedelta(days=30),
    }
    fields.update(extra)
    return passes.issue_pass(
        city.users[f"committee_{side}1"], person, city[f"compound_{side}1"], **fields
    )


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def _state() -> tuple[list[tuple[str, str, str]], int]:
    rows = list(EntryPass.objects.order_by("pk").values_list("pass_id", "status", "credential"))
    return rows, AuditEntry.objects.exclude(action="read").count()


def _window(days: int = 30) -> dict[str, str]:
    now = clock.now()
    return {
        "valid_from": now.isoformat(),
        "valid_until": (now + dt.timedelta(days=days)).isoformat(),
    }


def _fields(r: Any) -> set[str]:
    return {e["field"] for e in r.json()["errors"]}


def test_list_is_scoped_paginated_masked_and_filtered(
    city: City, login: Login, resident: Person
) -> None:
    mine = [_issue(city, resident) for _ in range(3)]
    other = _issue(city, factories.person(city["compound_b1"]), side="b")
    c = login("committee_a1")
    r = c.get(f"{URL}?page_size=2")
    assert r.status_code == 200, r.content
    body = r.json()
    assert len(body["results"]) == 2 and body["next"]
    rest = c.get(body["next"]).json()
    got = [p["pass_id"] for p in body["results"] + rest["results"]]
    assert sorted(got) == sorted(p.pass_id for p in mine) and other.pass_id not in got
    first = body["results"][0]
    assert first["masked_name"] == "王*芳" and "name" not in first and "credential" not in first
    assert first["compound"] == city["compound_a1"].code
    assert c.get(f"{URL}?status=requested").json()["results"] == []
    r = c.get(f"{URL}?status=lost&kind=tourist&compound={city['compound_b1'].code}")
    assert r.status_code == 422 and _fields(r) == {"status", "kind", "compound"}
    assert login("volunteer_a1").get(URL).status_code == 403
    assert Client().get(URL).status_code == 401


def test_get_one_is_scoped_and_audited(city: City, login: Login, resident: Person) -> None:
    entry_pass = _issue(city, resident, gates=[city["gate_a1"]])
    r = login("committee_a1").get(f"{URL}/{entry_pass.pass_id}")
    assert r.status_code == 200
    body = r.json()
    assert body["credential"] == entry_pass.credential
    assert body["gates"] == [city["gate_a1"].code]
    assert AuditEntry.objects.filter(action="read", object_id=str(resident.pk)).count() == 1
    assert login("committee_b1").get(f"{URL}/{entry_pass.pass_id}").status_code == 404
    assert login("committee_a1").get(f"{URL}/NOSUCHPASS").status_code == 404


def test_issue_and_revoke(city: City, login: Login) -> None:
    person = factories.person(city["compound_a1"], "赵一鸣")
    c = login("committee_a1")
    r = _post(
        c,
        URL,
        {
            "person_id": person.pk,
            "kind": "visitor",
            "compound": city["compound_a1"].code,
            "gates": [city["gate_a1"].code],
            "reason": "visiting parents",
            **_window(days=2),
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "active" and body["kind"] == "visitor"
    verdict = credential.verify(
        body["credential"],
        keys.trust_list(),
        now=int(clock.now().timestamp()),
        gate=city["gate_a1"].code,
    )
    assert verdict.ok, verdict
    pass_id = body["pass_id"]
    before = _state()
    r = _post(c, f"{URL}/{pass_id}/revoke", {"reason": " "})
    assert r.status_code == 422 and _fields(r) == {"reason"}
    assert _state() == before
    r = _post(c, f"{URL}/{pass_id}/revoke", {"reason": "left"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert r.json()["credential"] == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "tourist"}, "kind"),
        ({"valid_until": "2020-01-01T00:00:00+08:00"}, "valid_until"),  # end before start
        ({"kind": "visitor"}, "valid_until"),  # 30 days: too long for a visitor
        ({"compound": "310101002001C001"}, "compound"),  # street B: out of scope
        ({"gates": ["310101002001C001G01"]}, "gates"),  # a gate of another compound
        ({"gates": ["NO-SUCH-GATE"]}, "gates"),
        ({"person_id": 999999}, "person_id"),
        ({"reason": "x" * 256}, "reason"),
        ({"valid_from": "soon"}, "valid_from"),
    ],
)
def test_bad_issue_input_is_a_422_naming_the_field(
    city: City, login: Login, change: dict[str, Any], field: str
) -> None:
    person = factories.person(city["compound_a1"])
    body = {
        "person_id": person.pk,
        "kind": "resident",
        "compound": city["compound_a1"].code,
        **_window(),
    }
    body.update(change)
    c = login("committee_a1")
    before = _state()
    r = _post(c, URL, body)
    assert r.status_code == 422, r.content
    assert field in _fields(r)
    assert _state() == before


def test_issuing_needs_the_permission_and_the_territory(city: City, login: Login) -> None:
    person = factories.person(city["compound_a1"])
    body = {"person_id": person.pk, "kind": "resident", "compound": city["compound_a1"].code}
    body.update(_window())
    clients = {u: login(u) for u in ("operator_a", "committee_b1")}
    _token, secret = issue_token(SYSTEM, name="gate", purpose="gate_scanner", area=city["gate_a1"])
    before = _state()
    assert _post(clients["operator_a"], URL, body).status_code == 403
    r = _post(clients["committee_b1"], URL, body)
    assert r.status_code == 422 and {"person_id", "compound"} <= _fields(r)
    device = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert _post(device, URL, body).status_code == 403
    assert _state() == before


def test_a_resident_requests_and_the_committee_decides(
    city: City, login: Login, resident: Person
) -> None:
    me = login("resident_a1")
    body = {
        "compound": city["compound_a1"].code,
        "kind": "worker",
        "reason": "back to work",
        **_window(days=14),
    }
    r = _post(me, f"{URL}/requests", body)
    assert r.status_code == 201, r.content
    pass_id = r.json()["pass_id"]
    assert r.json()["status"] == "requested"
    before = _state()
    r = _post(me, f"{URL}/requests", body)  # a second open request
    assert r.status_code == 422 and _fields(r) == {"compound"}
    r = _post(me, f"{URL}/requests", {**body, "compound": city["compound_b1"].code})
    assert r.status_code == 422 and _fields(r) == {"compound"}
    r = _post(me, f"{URL}/requests", {**body, "kind": "tourist"})
    assert r.status_code == 422 and "kind" in _fields(r)
    assert _state() == before

    worker = login("committee_a1")
    other_street = login("committee_b1")
    queue = worker.get(f"{URL}/requests").json()["results"]
    assert [p["pass_id"] for p in queue] == [pass_id]
    assert other_street.get(f"{URL}/requests").json()["results"] == []
    before = _state()
    r = _post(worker, f"{URL}/{pass_id}/decide", {"approve": False})
    assert r.status_code == 422 and _fields(r) == {"refuse_reason"}
    assert _post(other_street, f"{URL}/{pass_id}/decide", {"approve": True}).status_code == 404
    assert _state() == before
    r = _post(worker, f"{URL}/{pass_id}/decide", {"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert r.json()["credential"].startswith("GG1:")
    before = _state()
    r = _post(worker, f"{URL}/{pass_id}/decide", {"approve": False, "refuse_reason": "x"})
    assert r.status_code == 422 and _fields(r) == {"status"}
    assert _state() == before
    assert EntryPass.objects.get(pass_id=pass_id).status == PassStatus.ACTIVE


def test_only_residents_request(city: City, login: Login) -> None:
    body = {"compound": city["compound_a1"].code, "kind": "worker", "reason": "x", **_window()}
    assert _post(login("committee_a1"), f"{URL}/requests", body).status_code == 403
    # A resident whose login is linked to no person record is told so.
    r = _post(login("resident_a1"), f"{URL}/requests", body)
    assert r.status_code == 422 and _fields(r) == {"person"}
    assert not EntryPass.objects.exists()


def test_the_holder_gets_own_passes_and_a_display_credential(
    city: City, login: Login, resident: Person
) -> None:
    mine = _issue(city, resident)
    other = _issue(city, factories.person(city["compound_a1"]))
    me = login("resident_a1")
    got = [p["pass_id"] for p in me.get(f"{URL}/mine").json()["results"]]
    assert got == [mine.pass_id]
    r = me.get(f"{URL}/mine/{mine.pass_id}/display")
    assert r.status_code == 200
    body = r.json()
    assert body["refresh_s"] == 30
    now = int(clock.now().timestamp())
    verdict = credential.verify(body["credential"], keys.trust_list(), now=now)
    assert verdict.ok and verdict.claims is not None
    assert verdict.claims.expires_at - now <= credential.DISPLAY_LIFETIME
    assert me.get(f"{URL}/mine/{other.pass_id}/display").status_code == 404
    passes.revoke_pass(city.users["committee_a1"], mine, "left")
    r = me.get(f"{URL}/mine/{mine.pass_id}/display")
    assert r.status_code == 422 and _fields(r) == {"pass"}
    # A device token has no passes of its own.
    _token, secret = issue_token(SYSTEM, name="gate", purpose="gate_scanner", area=city["gate_a1"])
    device = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert device.get(f"{URL}/mine").json()["results"] == []
