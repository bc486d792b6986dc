"""Observation API: orders, device and staff check-ins (idempotent per slot), alerts."""

from __future__ import annotations

import pytest
from django.test import Client

from gridguard.accounts.services import issue_token
from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import CheckIn, ObservationAlert
from tests.observation.helpers import DAY0, sh, started

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/observation"


def _device(city, area: str = "committee_a1", purpose: str = "wristband") -> Client:
    _t, secret = issue_token(SYSTEM, name="band", purpose=purpose, area=city[area])
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _post(c: Client, path: str, body: dict) -> object:
    return c.post(f"{URL}{path}", body, content_type="application/json")


def test_device_checkin_by_id_number_is_idempotent(city) -> None:
    order = started(city)
    band = _device(city)
    body = {
        "id_number": order.person.id_number,
        "temperature": 36.7,
        "device": "WB-01",
        "at": sh(DAY0, 8, 40).isoformat(),
    }
    with clock.frozen(sh(DAY0, 8, 45)):
        first = _post(band, "/checkins", body)
        again = _post(band, "/checkins", body)
        other = _post(band, "/checkins", {**body, "temperature": 36.9})
    assert first.status_code == 200, first.content
    assert first.json()["source"] == "device" and first.json()["slot_index"] == 0
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert other.status_code == 422  # the project's status for InvalidInput
    assert other.json()["errors"][0]["field"] == "slot"
    assert other.json()["errors"][0]["code"] == "duplicate"
    assert CheckIn.objects.filter(order=order).count() == 1


def test_checkin_bad_input_and_access(city, login) -> None:
    order = started(city)
    band = _device(city)
    with clock.frozen(sh(DAY0, 9)):
        hot = _post(band, "/checkins", {"order_id": order.pk, "temperature": 45})
        cold = _post(band, "/checkins", {"order_id": order.pk, "temperature": "30"})
        missing = _post(band, "/checkins", {"temperature": 36.5})
        elsewhere = _post(
            _device(city, "committee_b1"), "/checkins", {"order_id": order.pk, "temperature": 36.5}
        )
        gate = _post(
            _device(city, purpose="gate_scanner"),
            "/checkins",
            {"order_id": order.pk, "temperature": 36.5},
        )
        anonymous = _post(Client(), "/checkins", {"order_id": order.pk, "temperature": 36.5})
        staff = _post(login("health_a"), "/checkins", {"order_id": order.pk, "temperature": 37.8})
    assert [r.status_code for r in (hot, cold, missing)] == [422, 422, 422]
    assert hot.json()["errors"][0]["field"] == "temperature"
    assert cold.json()["errors"][0]["code"] == "out_of_range"
    assert missing.json()["errors"][0]["field"] == "order"
    assert elsewhere.status_code == 404
    assert gate.status_code == 403
    assert anonymous.status_code == 401
    assert staff.status_code == 200 and staff.json()["source"] == "visit"
    assert ObservationAlert.objects.get(order=order).kind == "fever"
    assert CheckIn.objects.count() == 1


def test_orders_list_scoped_and_detail_audited(city, login) -> None:
    a = started(city, "a")
    b = started(city, "b", name="王观察")
    operator = login("operator_a")
    listing = operator.get(f"{URL}/orders").json()
    assert [row["id"] for row in listing["results"]] == [a.pk]
    assert "*" in listing["results"][0]["id_number"]  # an operator sees IDs masked
    health = login("health_a").get(f"{URL}/orders?status=active").json()
    assert health["results"][0]["id_number"] == a.person.id_number
    assert login("health_a").get(f"{URL}/orders?status=released").json()["results"] == []
    assert operator.get(f"{URL}/orders/{b.pk}").status_code == 404
    before = AuditEntry.objects.filter(action="read").count()
    detail = operator.get(f"{URL}/orders/{a.pk}")
    assert detail.status_code == 200
    assert detail.json()["checkins"] == [] and detail.json()["ends_on"] == "2020-02-23"
    assert AuditEntry.objects.filter(action="read").count() == before + 1
    assert login("pharmacist_a1").get(f"{URL}/orders").status_code == 403


def test_alerts_list_and_ack(city, login) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 8, 30)):
        CheckIn.objects.all().delete()
        from gridguard.health.services import observation as obs

        obs.check_in(SYSTEM, order, "38.2", "visit")
    alert = ObservationAlert.objects.get()
    health = login("health_a")
    assert [r["id"] for r in health.get(f"{URL}/alerts").json()["results"]] == [alert.pk]
    assert login("health_b").get(f"{URL}/alerts").json()["results"] == []
    assert _post(login("health_b"), f"/alerts/{alert.pk}/ack", {"note": "x"}).status_code == 404
    empty = _post(health, f"/alerts/{alert.pk}/ack", {"note": " "})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "note"
    assert _post(login("volunteer_a1"), f"/alerts/{alert.pk}/ack", {"note": "x"}).status_code == 403
    ok = _post(health, f"/alerts/{alert.pk}/ack", {"note": "已复测"})
    assert ok.status_code == 200 and ok.json()["ack_note"] == "已复测"
    assert health.get(f"{URL}/alerts").json()["results"] == []
