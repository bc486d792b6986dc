"""The pharmacy API: purchases, outlets, stock and reservations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import FeverMedicinePurchase, MaskReservation
from gridguard.health.services import pharmacy as masks
from tests.conftest import City
from tests.pharmacy.helpers import NOON, TODAY, key, purchase_fields, resident_person

pytestmark = pytest.mark.django_db
BASE = "/api/v1/health/pharmacy"


def _post(c: Client, path: str, body: dict[str, Any] | None = None, **headers: Any) -> Any:
    return c.post(
        BASE + path, data=json.dumps(body or {}), content_type="application/json", **headers
    )


def _purchase_body(city: City, **extra: Any) -> dict[str, Any]:
    body = purchase_fields(**extra)
    body["pharmacy"] = city["pharmacy_a1"].code
    body["temperature"] = float(body["temperature"]) if body["temperature"] else None
    return body


def test_pharmacist_posts_a_purchase_and_a_retry_is_the_same(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    body = _purchase_body(city)
    first = _post(c, "/purchases", body)
    assert first.status_code == 200, first.content
    again = _post(c, "/purchases", body)
    assert again.json()["id"] == first.json()["id"]
    assert FeverMedicinePurchase.objects.count() == 1
    assert first.json()["pharmacy_code"] == city["pharmacy_a1"].code


def test_purchase_errors_name_the_field(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    r = _post(c, "/purchases", _purchase_body(city, id_number="310101198503070000"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "id_number"
    r = _post(c, "/purchases", _purchase_body(city, quantity=50, temperature=45.0))
    assert {e["field"] for e in r.json()["errors"]} == {"quantity", "temperature"}
    # Another pharmacy, or not a pharmacist.
    other = _purchase_body(city)
    other["pharmacy"] = city["pharmacy_b1"].code
    assert _post(c, "/purchases", other).status_code == 404
    assert _post(login("operator_a"), "/purchases", _purchase_body(city)).status_code == 403
    assert FeverMedicinePurchase.objects.count() == 0


def test_no_device_token_may_post_purchases(city: City) -> None:
    _token, secret = accounts.issue_token(
        SYSTEM, name="gate", purpose="gate_scanner", area=city["street_a"]
    )
    r = _post(Client(), "/purchases", _purchase_body(city), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 403


def test_purchase_list_masks_for_operators_and_one_read_is_audited(city: City, login: Any) -> None:
    _post(login("pharmacist_a1"), "/purchases", _purchase_body(city, phone="13912345678"))
    rows = login("operator_a").get(BASE + "/purchases").json()["results"]
    assert len(rows) == 1
    assert rows[0]["phone"] == "13912345678"  # operators may reveal phones
    assert "*" in rows[0]["id_number"]
    assert login("operator_b").get(BASE + "/purchases").json()["results"] == []
    pk = rows[0]["id"]
    assert login("operator_b").get(f"{BASE}/purchases/{pk}").status_code == 404
    assert login("health_a").get(f"{BASE}/purchases/{pk}").status_code == 200
    assert AuditEntry.objects.filter(
        action="read", object_id=str(pk), object_type="health.fevermedicinepurchase"
    ).exists()
    assert login("resident_a1").get(BASE + "/purchases").status_code == 403


def test_outlets_open_stock_and_set(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    r = c.put(
        f"{BASE}/outlets/{city['pharmacy_a1'].code}",
        data=json.dumps({"daily_quota": 20, "per_person_limit": 5, "period_days": 7}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["remaining"] == 20
    bad = c.put(
        f"{BASE}/outlets/{city['pharmacy_a1'].code}",
        data=json.dumps({"daily_quota": -1}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert (
        login("resident_a1")
        .put(
            f"{BASE}/outlets/{city['pharmacy_a1'].code}",
            data=json.dumps({"daily_quota": 1}),
            content_type="application/json",
        )
        .status_code
        == 403
    )
    opened = login("resident_a1").get(BASE + "/outlets/open").json()
    assert [o["pharmacy_code"] for o in opened] == [city["pharmacy_a1"].code]
    assert login("operator_b").get(BASE + "/outlets").json()["results"] == []
    assert len(login("operator_a").get(BASE + "/outlets").json()["results"]) == 1


def test_resident_reserves_sees_code_and_pharmacist_picks_up(city: City, login: Any) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, city["pharmacy_a1"], daily_quota=3, per_person_limit=5)
        _user, _person = resident_person(city)
        c = login("resident_a1")
        body = {"outlet_id": outlet.pk, "quantity": 2, "submission_key": key("api")}
        r = _post(c, "/reservations", body)
        assert r.status_code == 200, r.content
        code = r.json()["code"]
        assert _post(c, "/reservations", body).json()["code"] == code
        sold = _post(c, "/reservations", {**body, "submission_key": key("api")})
        assert sold.status_code == 422
        error = sold.json()["errors"][0]
        assert (error["field"], error["code"]) == ("quantity", "sold_out")
        mine = c.get(BASE + "/reservations/mine").json()["results"]
        assert [m["code"] for m in mine] == [code]
        assert _post(login("pharmacist_b1"), f"/reservations/{code}/pickup").status_code == 422
        done = _post(login("pharmacist_a1"), f"/reservations/{code}/pickup")
        assert done.status_code == 200 and done.json()["status"] == "picked_up"
        again = _post(login("pharmacist_a1"), f"/reservations/{code}/pickup")
        assert again.json()["errors"][0]["code"] == "picked_up"


def test_reservations_need_a_linked_person_and_cancel_is_own(city: City, login: Any) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, city["pharmacy_a1"], daily_quota=10)
        body = {"outlet_id": outlet.pk, "quantity": 1, "submission_key": key("api")}
        assert _post(login("operator_a"), "/reservations", body).status_code == 403
        resident_person(city)
        r = _post(login("resident_a1"), "/reservations", body)
        code = r.json()["code"]
        assert _post(login("pharmacist_b1"), f"/reservations/{code}/cancel").status_code == 404
        assert _post(login("resident_a1"), f"/reservations/{code}/cancel").status_code == 200
    assert MaskReservation.objects.get(code=code).status == "cancelled"
    assert (
        login("operator_a").get(f"{BASE}/stock?day={TODAY}").json()["results"][0]["reserved"] == 0
    )
