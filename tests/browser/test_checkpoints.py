"""Real browser, phone viewport: a gate volunteer registers a visitor; a checkpoint official
records a check linking a traveller's registration receipt; the street reads the daily counts."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from gridguard.access.models import CheckpointCheck, GateEvent, GateVisitor
from gridguard.access.services import checkpoints as checkpoint_services
from gridguard.access.services import gates as gate_services
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.people.models import Household
from tests import factories
from tests.browser.pages import DESK, PHONE, log_in
from tests.conftest import PASSWORD, City, build_city

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    return build_city()


def _earlier_today(hours_ago: float) -> dt.datetime:
    """A moment earlier today (Shanghai), never before today's midnight."""
    now = clock.now()
    midnight = dt.datetime.combine(clock.today(), dt.time.min, tzinfo=clock.SHANGHAI)
    return max(now - dt.timedelta(hours=hours_ago), midnight + dt.timedelta(minutes=1))


def test_volunteer_registers_a_visitor_on_a_phone(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    building = town["building_a1"]
    host = Household.objects.create(area=building, room="502", address=f"{building.name}502室")
    gate = town["gate_a1"]
    # Some of the day's scans, so the chart has bars.
    for hours_ago, verdict in [(5, "ok"), (5, "ok"), (3, "ok"), (3, "expired"), (1, "ok")]:
        GateEvent.objects.create(area=gate, verdict=verdict, scanned_at=_earlier_today(hours_ago))
    base = live_server.url
    page = log_in(browser, base, "volunteer_a1", viewport=PHONE, lang="en-GB")
    page.goto(f"{base}/gate-records/{gate.code}/visitor/")
    page.fill("#id_name", "赵敏")
    page.fill("#id_phone", "1391234")  # too short
    page.select_option("#id_host_household", str(host.pk))
    page.fill("#id_purpose", "探亲")
    page.fill("#id_temperature", "36.5")
    page.click("#visitor button[type=submit]")
    page.locator("#err-phone").wait_for()
    # The message sits right under the phone field, and what was typed stays.
    assert page.locator("#id_phone + #err-phone").count() == 1
    assert page.input_value("#id_name") == "赵敏"
    assert page.get_attribute("#id_phone", "aria-invalid") == "true"
    assert not GateVisitor.objects.exists()
    page.fill("#id_phone", "13912345678")
    shot(page, "gate-visitor")
    page.click("#visitor button[type=submit]")
    page.wait_for_selector("#visitors li[data-visitor]")
    visitor = GateVisitor.objects.get()
    assert visitor.admitted and visitor.host_household == host
    listed = page.locator("#visitors").inner_text()
    assert "赵敏" in listed and "139****5678" in listed
    page.wait_for_selector("#hourly-chart canvas")
    totals = page.locator("#day-totals").inner_text()
    assert totals == "Entries 4 · Refused 1 · Visitors 1 · Vehicles 0"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, "gate-day")
    page.click(f"li[data-visitor='{visitor.pk}'] button.out")
    page.wait_for_selector(f"li[data-visitor='{visitor.pk}']:not(:has(button.out))")
    visitor.refresh_from_db()
    assert visitor.time_out is not None
    page.context.close()


def test_checkpoint_check_links_a_receipt_and_the_street_reads_the_counts(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    checkpoint = checkpoint_services.set_up_checkpoint(SYSTEM, town["checkpoint_a"], kind="road")
    accounts.create_user(
        SYSTEM,
        username="kp_official",
        password=PASSWORD,
        display_name="道口值守",
        bindings=[("gate_volunteer", town["checkpoint_a"])],
        validate=False,
    )
    traveller = factories.person(town["compound_b1"], name="吴刚")
    receipt = factories.registration(traveller, town["compound_b1"])
    # Earlier checks today, so the counts page has figures.
    for plate, n in [("苏A12345", 2), ("浙C54321", 1)]:
        checkpoint_services.record_check(
            SYSTEM, checkpoint, plate=plate, passengers=n, checked_at=_earlier_today(2)
        )
    base = live_server.url
    page = log_in(browser, base, "kp_official", viewport=PHONE, lang="en-GB")
    page.goto(f"{base}/checkpoints/{checkpoint.area.code}/")
    page.fill("#id_receipt_codes", "NOSUCH99")
    page.fill("#id_plate", "鄂A88888")
    page.fill("#id_passengers", "2")
    page.click("#check button[type=submit]")
    page.locator("#err-receipt_codes").wait_for()
    assert "NOSUCH99" in page.locator("#err-receipt_codes").inner_text()
    assert page.input_value("#id_plate") == "鄂A88888"
    assert CheckpointCheck.objects.count() == 2
    page.fill("#id_receipt_codes", receipt.receipt_code.lower())
    page.click("#check button[type=submit]")
    page.wait_for_selector(f"#recent code:has-text('{receipt.receipt_code}')")
    check = CheckpointCheck.objects.get(plate="鄂A88888")
    assert list(check.registrations.all()) == [receipt]
    assert check.origin_province == "湖北省"  # from the receipt
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, "checkpoint-check")
    page.context.close()

    page = log_in(browser, base, "operator_a", viewport=DESK, lang="en-GB")
    page.goto(f"{base}/checkpoints/counts/")
    totals = page.locator("#totals").inner_text()
    assert "1 checkpoint checked 3 vehicles and 5 travellers" in totals
    assert page.locator("#per-street tbody tr").count() == 1
    shot(page, "checkpoint-counts")
    page.goto(f"{base}/checkpoints/")
    assert "3" in page.locator(f"tr[data-code='{checkpoint.area.code}']").inner_text()
    page.context.close()


def test_fever_visitor_is_refused_on_the_phone(browser: Any, live_server: Any, town: City) -> None:
    building = town["building_a1"]
    host = Household.objects.create(area=building, room="101", address=f"{building.name}101室")
    base = live_server.url
    page = log_in(browser, base, "volunteer_a1", viewport=PHONE, lang="en-GB")
    page.goto(f"{base}/gate-records/{town['gate_a1'].code}/visitor/")
    page.fill("#id_name", "孙七")
    page.fill("#id_phone", "13900001111")
    page.select_option("#id_host_household", str(host.pk))
    page.fill("#id_purpose", "送物资")
    page.fill("#id_temperature", "38.4")
    page.click("#visitor button[type=submit]")
    page.wait_for_selector(".messages li.error")
    assert "Not admitted: fever (38.4" in page.locator(".messages").inner_text()
    assert page.locator("#visitors [data-refused]").count() == 1
    assert GateVisitor.objects.get().admitted is False
    assert gate_services.verdict_of(GateVisitor.objects.get()).admitted is False
    page.context.close()
