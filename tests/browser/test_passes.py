"""Real browser: a committee worker issues a pass and prints its card; the resident shows it on
a phone, where the QR is re-signed by the server on every htmx refresh."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassStatus
from gridguard.access.services import keys
from gridguard.core import clock
from tests import factories
from tests.browser.pages import DESK, PHONE, log_in
from tests.conftest import City, build_city, reseed_reference_data

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    # A transactional test's flush also empties the rows the data migration seeded.
    reseed_reference_data()
    return build_city()


def _verify(text: str, town: City) -> credential.Verdict:
    return credential.verify(
        text,
        keys.trust_list(),
        now=int(clock.now().timestamp()),
        compound=town["compound_a1"].code,
        gate=town["gate_a1"].code,
    )


def test_committee_issues_and_the_resident_shows_a_rotating_pass(
    browser: Any, live_server: Any, town: City, shot: Any, settings: Any
) -> None:
    person = factories.person(town["building_a1"], "王小芳", user=town.users["resident_a1"])

    desk = log_in(browser, live_server.url, "committee_a1", viewport=DESK, lang="en-GB")
    desk.goto(f"{live_server.url}/passes/new/")
    desk.fill("#id_q", "王小")
    desk.click("#person-search button[type=submit]")
    desk.check(f"input[name=person][value='{person.pk}']")
    desk.select_option("#id_kind", "resident")
    desk.select_option("#id_compound", town["compound_a1"].code)
    desk.check(f"input[name=gates][value='{town['gate_a1'].code}']")
    desk.fill("#id_reason", "Lives in building 1")
    shot(desk, "passes-issue")
    desk.click("#issue-submit")
    desk.wait_for_selector("#pass-status")
    entry_pass = EntryPass.objects.get(person=person)
    assert entry_pass.status == PassStatus.ACTIVE
    assert desk.locator("#pass-status").get_attribute("data-status") == "active"

    desk.click("#card-link")
    desk.wait_for_selector("#pass-card")
    card = desk.locator("#pass-card")
    assert card.get_attribute("data-credential") == entry_pass.credential
    assert _verify(entry_pass.credential, town).ok
    assert desk.locator("#pass-card svg.pass-qr").is_visible()
    shot(desk, "passes-card")
    # Printed, the card is one A6 page (the print CSS hides the header and the button).
    pdf = desk.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    desk.context.close()

    phone = log_in(browser, live_server.url, "resident_a1", viewport=PHONE, lang="en-GB")
    phone.goto(f"{live_server.url}/passes/me/")
    phone.click(f"li[data-pass='{entry_pass.pass_id}'] a")
    phone.wait_for_selector("#pass-display svg.pass-qr")
    qr = phone.locator("#pass-display svg.pass-qr")
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 250
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    first = phone.locator("#pass-display").get_attribute("data-credential")
    assert first and first != entry_pass.credential
    verdict = _verify(first, town)
    assert verdict.ok, verdict
    assert verdict.claims is not None
    assert verdict.claims.expires_at - verdict.claims.issued_at <= credential.DISPLAY_LIFETIME
    # The clock beside the code ticks every second (a screenshot would not).
    tick = phone.locator("#pass-clock").inner_text()
    phone.wait_for_function(
        "t => document.getElementById('pass-clock').textContent !== t", arg=tick, timeout=5000
    )
    shot(phone, "passes-me")
    # From now on the phone asks every 2 s instead of 30 s, so the test sees htmx's polling
    # without waiting; the next fragment carries the shorter interval.
    settings.GRIDGUARD_PASS_DISPLAY_REFRESH_S = 2
    assert phone.locator("#pass-display").get_attribute("hx-trigger") == "every 30s"
    phone.evaluate(
        "url => htmx.ajax('GET', url, {target: '#pass-display', swap: 'outerHTML'})",
        f"/passes/me/{entry_pass.pass_id}/display/",
    )
    phone.wait_for_function(
        "() => document.getElementById('pass-display').getAttribute('hx-trigger') === 'every 2s'"
    )
    # htmx fetches the fragment again by itself and the server signs a new credential.
    phone.wait_for_function(
        "old => document.getElementById('pass-display').dataset.credential !== old",
        arg=first,
        timeout=10_000,
    )
    second = phone.locator("#pass-display").get_attribute("data-credential")
    assert second and second != first
    assert _verify(second, town).ok
    phone.wait_for_function(
        "old => document.getElementById('pass-display').dataset.credential !== old",
        arg=second,
        timeout=10_000,
    )
    third = phone.locator("#pass-display").get_attribute("data-credential")
    assert third and third not in (first, second) and _verify(third, town).ok
    assert phone.locator("#pass-display svg.pass-qr").is_visible()
    phone.context.close()


def test_a_resident_asks_and_the_committee_decides(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    person = factories.person(town["building_a1"], "王小芳", user=town.users["resident_a1"])
    phone = log_in(browser, live_server.url, "resident_a1", viewport=PHONE, lang="en-GB")
    phone.goto(f"{live_server.url}/passes/me/")
    phone.select_option("#id_kind", "worker")
    phone.fill("#id_reason", "Back to work at the supermarket on Monday")
    shot(phone, "passes-request")
    phone.click("#request-submit")
    phone.wait_for_selector(".messages")
    asked = EntryPass.objects.get(person=person)
    assert asked.status == PassStatus.REQUESTED
    assert phone.locator(f"li[data-pass='{asked.pass_id}']").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.context.close()

    desk = log_in(browser, live_server.url, "committee_a1", viewport=DESK, lang="en-GB")
    desk.goto(f"{live_server.url}/passes/requests/")
    desk.click(f"tr[data-pass='{asked.pass_id}'] a")
    desk.wait_for_selector("#refuse-form")
    desk.click("#refuse")  # no reason: the field says so and nothing changes
    assert desk.locator("#err-refuse_reason").is_visible()
    assert desk.locator("#id_refuse_reason").get_attribute("aria-invalid") == "true"
    asked.refresh_from_db()
    assert asked.status == PassStatus.REQUESTED
    shot(desk, "passes-decide")
    desk.click("#approve")
    desk.wait_for_selector("#revoke-form")
    asked.refresh_from_db()
    assert asked.status == PassStatus.ACTIVE and _verify(asked.credential, town).ok
    desk.context.close()
