"""Pharmacy pages: the pharmacist's phone page, staff lists and the resident's mask page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import FeverMedicinePurchase, MaskOutlet, MaskReservation
from gridguard.health.services import pharmacy as masks
from tests import factories
from tests.conftest import City
from tests.pharmacy.helpers import NOON, TODAY, resident_person

pytestmark = pytest.mark.django_db


def _form(city: City, **extra: Any) -> dict[str, Any]:
    data = {
        "pharmacy": city["pharmacy_a1"].code,
        "submission_key": "form-1",
        "id_type": "resident_id",
        "id_number": factories.id_number(),
        "name": "陈静",
        "phone": "13700001111",
        "medicine": "布洛芬",
        "quantity": "2",
        "temperature": "38.2",
        "buyer_address": "",
    }
    data.update(extra)
    return data


def test_pharmacist_page_shows_a_fresh_key_per_form(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    keys = set()
    for _ in range(2):
        r = c.get("/pharmacy/")
        assert r.status_code == 200
        keys.add(re.search(r'name="submission_key" value="(\w+)"', r.content.decode())[1])
    assert len(keys) == 2
    assert login("operator_a").get("/pharmacy/").status_code == 403
    assert login("resident_a1").get("/pharmacy/").status_code == 403


def test_register_purchase_double_submit_is_one_record(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    data = _form(city)
    with clock.frozen(NOON):
        first = c.post("/pharmacy/purchase/", data)
        second = c.post("/pharmacy/purchase/", data)
        assert first.status_code == second.status_code == 302
        page = c.get(first["Location"]).content.decode()
    assert FeverMedicinePurchase.objects.count() == 1
    assert "陈静" in page and "布洛芬 \u00d72" in page


def test_bad_id_is_shown_beside_the_field_and_values_kept(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    r = c.post("/pharmacy/purchase/", _form(city, id_number="310101198503070000", quantity="99"))
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="err-id_number"' in html and 'id="err-quantity"' in html
    assert 'aria-invalid="true" aria-describedby="err-id_number"' in html
    assert 'value="陈静"' in html and 'value="form-1"' in html
    assert FeverMedicinePurchase.objects.count() == 0


def test_pickup_by_code_on_the_page(city: City, login: Any) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, city["pharmacy_a1"], daily_quota=10)
        r = masks.reserve_masks(
            SYSTEM, factories.person(city["compound_a1"]), outlet, TODAY, 2, "p1"
        )
        c = login("pharmacist_a1")
        bad = c.post("/pharmacy/pickup/", {"code": "ZZZZZZZZ"})
        assert bad.status_code == 400 and 'id="err-code"' in bad.content.decode()
        ok = c.post("/pharmacy/pickup/", {"code": r.code.lower()})
        assert ok.status_code == 302
        twice = c.post("/pharmacy/pickup/", {"code": r.code})
        assert twice.status_code == 400
    assert MaskReservation.objects.get(pk=r.pk).status == "picked_up"


def test_outlet_settings_page(city: City, login: Any) -> None:
    c = login("pharmacist_a1")
    assert c.get("/pharmacy/outlet/").status_code == 200
    bad = c.post(
        "/pharmacy/outlet/", {"daily_quota": "-5", "per_person_limit": "5", "period_days": "7"}
    )
    assert bad.status_code == 400 and 'id="err-daily_quota"' in bad.content.decode()
    ok = c.post(
        "/pharmacy/outlet/",
        {"daily_quota": "50", "per_person_limit": "4", "period_days": "7", "active": "on"},
    )
    assert ok.status_code == 302
    o = MaskOutlet.objects.get(area=city["pharmacy_a1"])
    assert (o.daily_quota, o.per_person_limit, o.active) == (50, 4, True)
    assert login("committee_a1").get("/pharmacy/outlet/").status_code == 403


def test_staff_lists_mask_what_the_role_may_not_see(city: City, login: Any) -> None:
    with clock.frozen(NOON):
        login("pharmacist_a1").post("/pharmacy/purchase/", _form(city, name="陈小静"))
        r = login("health_a").get("/pharmacy/purchases/")
        html = r.content.decode()
        assert "陈小静" in html and "13700001111" in html
        assert (
            login("committee_b1").get("/pharmacy/purchases/").content.decode().count("陈小静") == 0
        )
        assert login("resident_a1").get("/pharmacy/purchases/").status_code == 403


def test_resident_reserves_sees_code_and_cancels(city: City, login: Any) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, city["pharmacy_a1"], daily_quota=10, per_person_limit=3)
        resident_person(city)
        c = login("resident_a1")
        page = c.get("/pharmacy/masks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "A1大药房" in page and "10 of 10 left today" in page
        form = {
            "outlet": outlet.pk,
            "day": TODAY.isoformat(),
            "quantity": 4,
            "submission_key": "r1",
        }
        over = c.post("/pharmacy/masks/reserve/", form)
        assert over.status_code == 400 and 'id="err-quantity"' in over.content.decode()
        ok = c.post("/pharmacy/masks/reserve/", {**form, "quantity": 2})
        assert ok.status_code == 302
        r = MaskReservation.objects.get()
        page = c.get("/pharmacy/masks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert r.code in page and "8 of 10 left today" in page
        # Someone else's code cannot be cancelled through this page.
        assert login("pharmacist_a1").post(f"/pharmacy/masks/{r.code}/cancel/").status_code == 404
        assert c.post(f"/pharmacy/masks/{r.code}/cancel/").status_code == 302
    assert MaskReservation.objects.get().status == "cancelled"


def test_a_resident_without_a_record_cannot_reserve(city: City, login: Any) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, city["pharmacy_a1"], daily_quota=10)
        c = login("resident_a1")
        assert "not linked" in c.get("/pharmacy/masks/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        form = {"outlet": outlet.pk, "day": TODAY.isoformat(), "quantity": 1, "submission_key": "x"}
        assert c.post("/pharmacy/masks/reserve/", form).status_code == 403
