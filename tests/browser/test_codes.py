"""Real browser: a resident sees their health code on a phone; an administrator edits a rule."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gridguard.core.scoping import SYSTEM
from gridguard.health.models import HealthCode
from gridguard.people import services as people
from tests import factories
from tests.browser.pages import PHONE, log_in
from tests.conftest import City, build_city, reseed_reference_data

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    # A transactional test's flush also empties the rows the data migration seeded.
    reseed_reference_data()
    return build_city()


def test_resident_sees_a_yellow_code_with_its_reason_on_a_phone(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    p = factories.person(town["compound_a1"], user=town.users["resident_a1"])
    people.add_flag(SYSTEM, p, "fever_medicine")  # not a rule by default: still green
    factories.registration(p, town["compound_a1"], from_key_area=True, arrival_date=_today())
    people.add_flag(SYSTEM, p, "key_area_returnee")  # announces: the receiver recomputes
    assert HealthCode.objects.get(person=p).colour == "yellow"

    page = log_in(browser, live_server.url, "resident_a1", viewport=PHONE, lang="en-GB")
    page.goto(f"{live_server.url}/codes/me/")
    square = page.locator(".hc-square")
    assert square.get_attribute("data-colour") == "yellow"
    box = square.bounding_box()
    assert box is not None and box["width"] >= 200 and box["x"] + box["width"] <= PHONE["width"]
    assert page.locator("li[data-rule='key-area-arrival']").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "codes-me")
    page.context.close()


def test_admin_gets_a_field_error_beside_the_field(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    page = log_in(
        browser, live_server.url, "admin", viewport={"width": 1280, "height": 900}, lang="en-GB"
    )
    page.goto(f"{live_server.url}/codes/rules/")
    page.click("tr[data-rule='fever-checkin'] a")
    page.fill("#id_params", '{"days": "three"}')
    page.click("button[type=submit].big")
    assert page.locator("#err-params").is_visible()
    assert page.locator("#id_params").get_attribute("aria-invalid") == "true"
    shot(page, "codes-rule-error")
    page.fill("#id_params", '{"days": 5}')
    page.select_option("#id_colour", "yellow")
    page.click("button[type=submit].big")
    page.wait_for_url(f"{live_server.url}/codes/rules/")
    assert "yellow" in (page.locator("tr[data-rule='fever-checkin']").inner_text().lower())
    page.context.close()


def _today() -> Any:
    from gridguard.core import clock

    return clock.today()
