"""The checkpoint-device API and the staff endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.accounts.models import ApiToken
from gridguard.accounts.services import issue_token
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import RegistrationIntake, TravellerRegistration
from gridguard.health.services.intake import process_intake
from tests import factories
from tests.conftest import City
from tests.travellers.conftest import declaration

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/registrations"


def _device(city: City) -> Client:
    _token, secret = issue_token(
        SYSTEM, name="道口平板", purpose="checkpoint_device", area=city["checkpoint_a"]
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _body(**overrides: Any) -> str:
    key = overrides.pop("submission_key", "dev-1")
    d = declaration(**overrides).__dict__ | {"submission_key": key}
    if isinstance(d.get("temperature"), str):
        d["temperature"] = float(d["temperature"])
    return json.dumps(d)


def test_checkpoint_device_registers_and_retries_safely(city: City) -> None:
    c = _device(city)
    r = c.post(URL, _body(), content_type="application/json")
    assert r.status_code == 202, r.content
    data = r.json()
    assert data["created"] and data["from_key_area"] and not data["placed"]
    assert not TravellerRegistration.objects.exists()  # kept in the intake queue
    again = c.post(URL, _body(), content_type="application/json")
    assert again.status_code == 200 and again.json()["receipt_code"] == data["receipt_code"]
    assert process_intake() == 1
    reg = TravellerRegistration.objects.get()
    assert reg.channel == "checkpoint_device" and reg.checkpoint == city["checkpoint_a"]
    assert reg.receipt_code == data["receipt_code"] and reg.area == city["compound_a1"]
    placed = c.get(f"{URL}/receipts/{data['receipt_code']}").json()
    assert placed["placed"] and placed["area_code"] == city["compound_a1"].code
    assert c.get(f"{URL}/receipts/NOPE").status_code == 404
    # The audit rows name the device that sent it, though a worker wrote them.
    token = ApiToken.objects.get()
    entry = AuditEntry.objects.get(action="registration.create")
    assert entry.actor_label == token.audit_label() and entry.channel == "api"


def test_device_bad_input_is_a_422_naming_fields(city: City) -> None:
    r = _device(city).post(
        URL, _body(temperature=45.0, phone="abc"), content_type="application/json"
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"temperature", "phone"}
    r = _device(city).post(URL, json.dumps({"name": "x"}), content_type="application/json")
    assert r.status_code == 422 and r.json()["errors"]
    assert not TravellerRegistration.objects.exists()


def test_gate_scanner_token_cannot_register(city: City) -> None:
    _t, secret = issue_token(SYSTEM, name="扫码枪", purpose="gate_scanner", area=city["gate_a1"])
    r = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
        URL, _body(), content_type="application/json"
    )
    assert r.status_code == 403


def test_staff_list_detail_assign_and_followups(city: City, login: Callable[[str], Client]) -> None:
    _device(city).post(
        URL,
        _body(destination_address="南京东路街道某某新村", submission_key="u1"),
        content_type="application/json",
    )
    process_intake()
    reg = TravellerRegistration.objects.get()
    op = login("operator_a")
    listing = op.get(URL, {"match_status": "unmatched"})
    assert listing.status_code == 200, listing.content
    items = listing.json()["results"]
    assert [i["receipt_code"] for i in items] == [reg.receipt_code]
    assert items[0]["id_number"] != reg.id_number  # masked for an operator
    assert login("operator_b").get(URL).json()["results"] == []
    assert login("operator_b").get(f"{URL}/{reg.pk}").status_code == 404
    assert op.get(f"{URL}/{reg.pk}").status_code == 200
    assert AuditEntry.objects.filter(action="read", object_id=str(reg.pk)).exists()
    bad = op.post(f"{URL}/{reg.pk}/assign", {"compound": "x"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "compound"
    ok = op.post(
        f"{URL}/{reg.pk}/assign",
        {"compound": city["compound_a1"].code},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["match_status"] == "assigned"
    tasks = login("committee_a1").get("/api/v1/health/followups").json()["results"]
    assert len(tasks) == 1 and tasks[0]["area_code"] == city["committee_a1"].code
    closed = login("committee_a1").post(
        f"/api/v1/health/followups/{tasks[0]['id']}/close",
        {"outcome": "电话联系，已居家"},
        content_type="application/json",
    )
    assert closed.status_code == 200 and closed.json()["status"] == "done"


def test_batch_keeps_good_rows_reports_bad_ones_and_replays_safely(city: City) -> None:
    c = _device(city)
    rows = [
        json.loads(_body(submission_key="car-1")),
        json.loads(_body(submission_key="car-2", phone="12")),
        json.loads(_body(submission_key="car-3", origin_province="江苏省", vehicle_number="苏A1")),
        json.loads(_body(submission_key="car-4", id_number=factories.id_number())),
    ]
    r = c.post(f"{URL}/batch", {"registrations": rows}, content_type="application/json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["accepted"], body["refused"]) == (2, 2)
    assert [bool(x["receipt"]) for x in body["results"]] == [True, False, False, True]
    assert body["results"][1]["errors"][0]["field"] == "phone"
    assert body["results"][2]["errors"][0]["field"] == "vehicle_number"
    assert RegistrationIntake.objects.count() == 2
    again = c.post(f"{URL}/batch", {"registrations": rows}, content_type="application/json")
    results = again.json()["results"]
    assert results[0]["receipt"]["receipt_code"] == body["results"][0]["receipt"]["receipt_code"]
    assert not results[0]["receipt"]["created"] and RegistrationIntake.objects.count() == 2
    assert process_intake() == 2
    too_many = c.post(f"{URL}/batch", {"registrations": rows * 26}, content_type="application/json")
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "registrations"
    empty = c.post(f"{URL}/batch", {"registrations": []}, content_type="application/json")
    assert empty.status_code == 422
