"""Real browser: a pharmacist registers a purchase on a phone; a resident reserves masks."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gridguard.core.scoping import SYSTEM
from gridguard.health.models import FeverMedicinePurchase, FollowUpTask, MaskReservation
from gridguard.health.services import pharmacy as masks
from tests import factories
from tests.browser.pages import PHONE, log_in
from tests.conftest import City, build_city

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    return build_city()


def test_pharmacist_registers_a_purchase_on_a_phone(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    base = live_server.url
    page = log_in(browser, base, "pharmacist_a1", viewport=PHONE)
    page.goto(f"{base}/pharmacy/")
    page.fill("#id_name", "陈静")
    page.fill("#id_id_number", "310101198503070000")  # bad check digit
    page.fill("#id_phone", "13700001111")
    page.fill("#id_buyer_address", "外滩街道B1小区3号楼")
    page.fill("#id_medicine", "布洛芬")
    page.fill("#id_quantity", "2")
    page.fill("#id_temperature", "38.2")
    page.click("#purchase button[type=submit]")
    error = page.locator("#err-id_number")
    error.wait_for()
    # The message sits right after the document-number field, and the typed values stay.
    assert page.locator("#id_id_number + #err-id_number").count() == 1
    assert page.input_value("#id_name") == "陈静"
    assert page.get_attribute("#id_id_number", "aria-invalid") == "true"
    assert FeverMedicinePurchase.objects.count() == 0
    shot(page, "pharmacy-purchase-error")

    page.fill("#id_id_number", factories.id_number())
    page.click("#purchase button[type=submit]")
    page.wait_for_selector("#today li:has-text('陈静')")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    purchase = FeverMedicinePurchase.objects.get()
    assert FollowUpTask.objects.get(source=f"purchase:{purchase.pk}").area == town["committee_b1"]
    shot(page, "pharmacy-purchase")
    page.context.close()


def test_resident_reserves_masks_and_sees_the_code(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    masks.set_outlet(SYSTEM, town["pharmacy_a1"], daily_quota=200, per_person_limit=5)
    person = factories.person(town["compound_a1"], name="王芳")
    person.user = town.users["resident_a1"]
    person.save(update_fields=["user"])
    base = live_server.url
    page = log_in(browser, base, "resident_a1", viewport=PHONE)
    page.goto(f"{base}/pharmacy/masks/")
    assert "A1大药房" in page.locator("#outlets").inner_text()
    page.fill("#id_quantity", "3")
    page.click("#reserve button[type=submit]")
    page.wait_for_selector("#mine code.code")
    r = MaskReservation.objects.get(person=person)
    assert page.locator("#mine code.code").inner_text() == r.code
    assert r.quantity == 3
    assert "197" in page.locator("#outlets").inner_text()
    shot(page, "pharmacy-masks")
    page.context.close()
