"""The health-code API: lookup by device token, by person id (scoped), the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.accounts.services import issue_token
from gridguard.core import audit, clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import HealthCode, HealthCodeRule
from gridguard.people.models import KeyPersonFlag
from tests import factories
from tests.conftest import City

URL = "/api/v1/health/codes"


def _device(city: City, purpose: str = "gate_scanner") -> Client:
    _t, secret = issue_token(SYSTEM, name="gate", purpose=purpose, area=city["gate_a1"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _lookup(c: Client, id_number: str, id_type: str = "resident_id") -> Any:
    return c.post(
        f"{URL}/lookup",
        {"id_type": id_type, "id_number": id_number},
        content_type="application/json",
    )


def test_gate_looks_up_a_code_by_id_number(city: City) -> None:
    number = factories.id_number()
    p = factories.person(city["compound_b1"], id_number=number)  # another street: still answered
    KeyPersonFlag.objects.create(person=p, category="suspected")
    r = _lookup(_device(city), number.lower())
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["colour"] == "red"
    assert body["reasons"][0]["rule"] == "suspected"
    assert body["person_id"] == p.pk
    assert "name" not in body and "id_number" not in body
    # The read waits in the audit inbox until the worker seals it into the chain.
    assert not AuditEntry.objects.filter(action="read", object_id=str(p.pk)).exists()
    assert audit.seal() >= 1 and audit.verify().ok
    read = AuditEntry.objects.filter(action="read", object_id=str(p.pk)).get()
    assert read.detail == {"fields": ["health_code"]}
    assert read.actor_label.startswith("token:")
    assert read.object_type == "people.person" and read.area_path == city["compound_b1"].path


def test_lookup_bad_and_unknown_numbers(city: City) -> None:
    c = _device(city)
    r = _lookup(c, "123")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "id_number"
    assert _lookup(c, factories.id_number()).status_code == 404
    r = _lookup(c, "E1234567", id_type="spaceship")
    assert r.status_code == 422


def test_a_token_without_the_permission_is_refused(city: City) -> None:
    p = factories.person(city["compound_a1"], id_number=factories.id_number())
    r = _lookup(_device(city, purpose="camera"), p.id_number)
    assert r.status_code == 403
    assert not HealthCode.objects.exists()


def test_an_expired_code_is_recomputed_on_read(city: City) -> None:
    p = factories.person(city["compound_a1"], id_number=factories.id_number())
    HealthCode.objects.create(
        person=p, colour="red", reasons=[], expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    r = _lookup(_device(city), p.id_number)
    assert r.json()["colour"] == "green"
    assert HealthCode.objects.get(person=p).expires_at > clock.now()


def test_get_by_person_id_is_scoped(city: City, login: Callable[[str], Client]) -> None:
    pb = factories.person(city["compound_b1"])
    assert login("operator_a").get(f"{URL}/{pb.pk}").status_code == 404
    r = login("operator_b").get(f"{URL}/{pb.pk}")
    assert r.status_code == 200
    assert r.json()["colour"] == "green"
    assert login("resident_a1").get(f"{URL}/{pb.pk}").status_code == 403


def test_rules_list_and_put(city: City, login: Callable[[str], Client]) -> None:
    admin = login("admin")
    r = admin.get(f"{URL}/rules")
    assert r.status_code == 200
    assert [x["code"] for x in r.json()["results"]][:2] == ["confirmed", "suspected"]
    assert login("operator_a").get(f"{URL}/rules").status_code == 403
    r = admin.put(f"{URL}/rules/fever-checkin", {"colour": "blue"}, content_type="application/json")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "colour"
    r = admin.put(
        f"{URL}/rules/fever-checkin",
        {"colour": "yellow", "params": {"days": 5}},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert (r.json()["colour"], r.json()["params"]) == ("yellow", {"days": 5})
    assert HealthCodeRule.objects.get(code="fever-checkin").colour == "yellow"
    assert admin.put(f"{URL}/rules/nope", {}, content_type="application/json").status_code == 404


@pytest.mark.parametrize("who", ["operator_a", "admin"])
def test_lookup_by_session_user(city: City, login: Callable[[str], Client], who: str) -> None:
    p = factories.person(city["compound_a1"], id_number=factories.id_number())
    assert _lookup(login(who), p.id_number).status_code == 200
