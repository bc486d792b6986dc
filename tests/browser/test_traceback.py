"""Real browser: a health-centre worker runs a trace-back and sees the three lists."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gridguard.access.models import TraceBack
from gridguard.core import clock
from tests.access.test_traceback import NOW, _build
from tests.browser.pages import DESK, log_in
from tests.conftest import City, build_city, reseed_reference_data

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    # A transactional test's flush also empties the rows the data migration seeded.
    reseed_reference_data()
    return build_city()


def test_health_worker_runs_a_trace_back(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    with clock.frozen(NOW):
        log = _build(town)
        page = log_in(browser, live_server.url, "health_a", viewport=DESK, lang="en-GB")
        page.goto(f"{live_server.url}/traceback/")
        page.fill("#id_person", log.subject.id_number)
        page.fill("#id_window_start", "2020-02-03T08:00")
        page.fill("#id_window_end", "2020-02-10T08:00")
        page.fill("#id_gap_minutes", "15")
        page.click("#traceback-form button[type=submit]")
        # No reason: the form comes back with the message beside the field.
        assert page.locator("#err-reason").is_visible()
        assert page.locator("#id_reason").get_attribute("aria-invalid") == "true"
        shot(page, "traceback-form-error")
        page.fill("#id_reason", "Confirmed case, epidemiological survey")
        page.click("#traceback-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/traceback/*/")
        tb = TraceBack.objects.get()
        counts = page.locator("#traceback-counts")
        assert counts.locator("li[data-section='gate'] strong").inner_text() == "5"
        assert counts.locator("li[data-section='building'] strong").inner_text() == "3"
        assert counts.locator("li[data-section='visitor'] strong").inner_text() == "2"
        gate_rows = page.locator("section[data-section='gate'] tbody tr")
        assert gate_rows.count() == 5
        assert page.locator("section[data-section='gate'] tr.outside").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
        shot(page, "traceback-result")
        page.click("#followups-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/traceback/{tb.pk}/")
        assert "follow-up tasks" in page.locator(".messages").inner_text()
        page.context.close()
