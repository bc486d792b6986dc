"""Real browser: a resident in home observation reports a temperature on a phone; the health
worker sees it on the order's page."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import CheckIn
from gridguard.health.services import observation as obs
from tests import factories
from tests.browser.pages import PHONE, log_in
from tests.conftest import City, build_city

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    # A transactional test's flush also empties the rows the data migration seeded.
    from django.apps import apps

    defaults = importlib.import_module("gridguard.health.migrations.0003_defaults")
    defaults.forwards(apps, None)
    return build_city()


def test_resident_reports_on_a_phone_and_the_health_worker_sees_it(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    p = factories.person(town["compound_a1"], name="李观察", user=town.users["resident_a1"])
    order = obs.start_order(
        SYSTEM,
        p,
        "home",
        clock.today(),
        "A小区1号楼101室",
        health_worker=town.users["health_a"],
        reason="来自重点地区",
    )
    page = log_in(browser, live_server.url, "resident_a1", viewport=PHONE, lang="en-GB")
    page.goto(f"{live_server.url}/observation/me/")
    page.fill("#temperature", "45")
    page.click("#checkin-form button[type=submit]")
    assert page.locator("#err-temperature").is_visible()
    assert not CheckIn.objects.exists()
    page.fill("#temperature", "36.4")
    page.check("input[name=symptoms][value=cough]")
    page.click("#checkin-form button[type=submit]")
    page.wait_for_selector("#slot-done")
    assert "36.4" in page.locator("#slot-done").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "observation-me")
    page.context.close()
    row = CheckIn.objects.get(order=order)
    assert (str(row.temperature), row.source) == ("36.4", "self")

    page = log_in(
        browser,
        live_server.url,
        "health_a",
        viewport={"width": 1280, "height": 900},
        lang="en-GB",
    )
    page.goto(f"{live_server.url}/observation/{order.pk}/")
    assert "36.4" in page.locator(f"tr[data-checkin='{row.pk}']").inner_text()
    shot(page, "observation-order")
    page.goto(f"{live_server.url}/observation/{order.pk}/notice/")
    assert page.locator("#notice h1").inner_text() == "居家隔离医学观察告知书"
    shot(page, "observation-notice")
    page.context.close()
