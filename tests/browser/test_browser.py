"""Real-browser checks: scoping by street, a volunteer's phone page, login errors, language."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.territory import services
from tests.browser.pages import PHONE, log_in
from tests.conftest import City, build_city

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    return build_city()


def test_two_streets_see_only_their_own_areas(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    base = live_server.url
    a = log_in(browser, base, "operator_a")
    shot(a, "home-operator")
    home_a = a.content()
    assert town["street_a"].name in home_a and town["street_b"].name not in home_a
    a.click(f"#areas a[href='/territory/{town['street_a'].code}/']")
    a.wait_for_url(f"{base}/territory/{town['street_a'].code}/")
    assert a.locator("#children").get_by_text(town["committee_a1"].name).count() == 1
    assert town["committee_b1"].name not in a.content()
    response = a.goto(f"{base}/territory/{town['street_b'].code}/")
    assert response is not None and response.status == 404

    b = log_in(browser, base, "operator_b")
    home_b = b.content()
    assert town["street_b"].name in home_b and town["street_a"].name not in home_b
    response = b.goto(f"{base}/territory/{town['committee_a1'].code}/")
    assert response is not None and response.status == 404
    a.context.close()
    b.context.close()


def test_volunteer_clocks_in_and_out_on_a_phone(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    start = clock.now() - dt.timedelta(minutes=20)
    shift = services.plan_shift(
        SYSTEM,
        area=town["gate_a1"],
        user=town.users["volunteer_a1"],
        post="volunteer",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
    )
    base = live_server.url
    page = log_in(browser, base, "volunteer_a1", viewport=PHONE)
    assert page.evaluate("document.body.classList.contains('field')")
    page.goto(f"{base}/territory/duty/")
    button = page.locator("[data-action=clock-in]")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 300  # a thumb-sized target
    shot(page, "volunteer-duty-phone")
    button.click()
    page.wait_for_selector("[data-action=clock-out]")
    shift.refresh_from_db()
    assert shift.clocked_in_at is not None
    page.click("[data-action=clock-out]")
    page.wait_for_selector(".status.done")
    shift.refresh_from_db()
    assert shift.clocked_out_at is not None
    page.context.close()


def test_wrong_password_shows_a_clear_error(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    ctx = browser.new_context(viewport=PHONE, locale="en-US")
    page = ctx.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    shot(page, "login")
    page.fill("#id_username", "operator_a")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit].primary")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    text = alert.inner_text()
    assert "wrong user name or password" in text.lower()
    assert page.url.endswith("/accounts/login/")
    ctx.close()


def test_language_switch_english_then_chinese(browser: Any, live_server: Any, town: City) -> None:
    page = log_in(browser, live_server.url, "operator_a")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "首页" in page.locator("header").inner_text()
    page.click("button[data-lang=en]")
    page.wait_for_selector("html[lang=en]")
    assert "Home" in page.locator("header").inner_text()
    assert "Your areas" in page.content()
    page.click("button[data-lang=zh-hans]")
    page.wait_for_selector("html[lang=zh-hans]")
    assert "首页" in page.locator("header").inner_text()
    page.context.close()
