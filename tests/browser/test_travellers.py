"""The public traveller form on a phone: a mistake shown beside its field, then a receipt; the
committee of the destination sees the follow-up."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from gridguard.core import clock
from gridguard.health.models import FollowUpTask, TravellerRegistration
from tests import factories
from tests.browser.pages import PHONE, log_in
from tests.conftest import City, build_city, reseed_reference_data

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> Iterator[City]:
    cache.clear()
    reseed_reference_data()
    with clock.frozen(dt.datetime(2020, 2, 10, 2, 0, tzinfo=dt.UTC)):
        yield build_city()


def _fill(page: Any, id_number: str, phone: str) -> None:
    page.fill("#id_name", "李娜")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", phone)
    page.select_option("#id_origin_province", "湖北省")
    page.fill("#id_origin_city", "武汉市")
    page.select_option("#id_transport", "car")
    page.fill("#id_vehicle_number", "鄂A12345")
    page.fill("#id_arrival_date", "2020-02-09")
    page.fill("#id_destination_address", "黄浦区南京东路街道A1小区1号楼502室")
    page.fill("#id_temperature", "36.6")


def test_traveller_registers_on_a_phone(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.goto(f"{live_server.url}/travellers/register/")
    shot(page, "traveller-form")
    number = factories.id_number(dt.date(1990, 5, 17), "420102")
    _fill(page, number[:-1] + ("1" if number[-1] == "0" else "0"), "12345")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#err-id_number")
    assert page.is_visible("#err-phone")
    assert page.input_value("#id_name") == "李娜"  # what was typed stays
    shot(page, "traveller-form-errors")
    assert not TravellerRegistration.objects.exists()
    page.fill("#id_id_number", number)
    page.fill("#id_phone", "13912345678")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#receipt-code")
    code = page.text_content("#receipt-code")
    assert code and page.is_visible("#key-area-notice")
    # No sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "traveller-receipt")
    reg = TravellerRegistration.objects.get()
    assert reg.receipt_code == code.strip() and reg.area == town["compound_a1"]
    ctx.close()

    task = FollowUpTask.objects.get()
    worker = log_in(browser, live_server.url, "committee_a1", viewport=PHONE)
    worker.goto(f"{live_server.url}/travellers/followups/")
    card = worker.locator(f"#task-{task.pk}")
    assert "李娜" in card.inner_text()
    shot(worker, "committee-followups")
    worker.fill(f"#outcome-{task.pk}", "已电话联系，明日上门送达告知书")
    worker.click(f"#task-{task.pk} button[type=submit]")
    worker.wait_for_selector(".messages")
    task.refresh_from_db()
    assert task.status == "done"
    other = log_in(browser, live_server.url, "committee_b1")
    other.goto(f"{live_server.url}/travellers/followups/?status=")
    assert other.locator(f"#task-{task.pk}").count() == 0
