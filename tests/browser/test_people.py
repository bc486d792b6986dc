"""Real browser: a committee worker searches a person, opens the record (ID masked for an
operator, full for the committee worker), and resolves a possible duplicate."""

from __future__ import annotations

import os
from typing import Any

import pytest

from gridguard.core import masking
from gridguard.people.models import DuplicatePair, DuplicateStatus, PersonMerge
from tests import factories
from tests.browser.pages import log_in
from tests.conftest import City, build_city

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def town(transactional_db: Any) -> City:
    return build_city()


def test_committee_worker_searches_opens_and_resolves_a_duplicate(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    area = town["compound_a1"]
    p = factories.person(area, name="钱学敏", phone="13912340000", address="贵州路12号302")
    factories.followup(p, area, summary="自武汉返回，需14天居家观察")
    twin = factories.person(
        area, name="钱学敏", phone="13912340000", id_type="passport", id_number="E10293847"
    )
    factories.registration(twin, area)
    pair = DuplicatePair.objects.create(first=p, second=twin, reason="phone")
    other = factories.person(area, name="孙丽", phone="13700000000")
    other_twin = factories.person(
        area, name="孙丽", phone="13700000001", id_type="passport", id_number="E55550000"
    )
    pair2 = DuplicatePair.objects.create(first=other, second=other_twin, reason="name_birth")
    base = live_server.url

    # An operator sees the ID number masked.
    op = log_in(browser, base, "operator_a")
    op.goto(f"{base}/people/{p.pk}/")
    assert masking.mask_id_number(p.id_number) in op.content()
    assert p.id_number not in op.content()
    op.context.close()

    page = log_in(browser, base, "committee_a1")
    page.goto(f"{base}/people/")
    page.fill("#id_q", "钱学敏")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(f"{base}/people/?q=*")
    assert page.locator("table.people tbody tr").count() == 2
    page.click(f"table.people a[href='/people/{p.pk}/']")
    page.wait_for_url(f"{base}/people/{p.pk}/")
    assert page.locator("code.id-number").first.inner_text() == p.id_number
    assert "自武汉返回" in page.content()
    shot(page, "people-detail")

    page.goto(f"{base}/people/duplicates/")
    assert page.locator(f"[data-pair='{pair.pk}'] .side").count() == 2
    shot(page, "people-duplicates")
    # Not a duplicate: the second pair leaves the queue.
    page.locator(f"[data-pair='{pair2.pk}'] button[value=not_duplicate]").click()
    page.wait_for_url(f"{base}/people/duplicates/")
    assert page.locator(f"[data-pair='{pair2.pk}']").count() == 0
    # Merge the passport record into the one with the ID card.
    page.locator(f"[data-pair='{pair.pk}'] .side").first.locator("button.primary").click()
    page.wait_for_url(f"{base}/people/duplicates/")
    assert page.locator("ul.messages li.success").count() == 1
    pair.refresh_from_db()
    pair2.refresh_from_db()
    assert pair.status == DuplicateStatus.MERGED and pair2.status == DuplicateStatus.NOT_DUPLICATE
    record = PersonMerge.objects.get()
    assert (record.survivor_id, record.merged_id) == (p.pk, twin.pk)
    assert p.registrations.count() == 1

    # And undo it from the history.
    page.goto(f"{base}/people/merges/")
    page.locator(f"[data-merge='{record.pk}'] button").click()
    page.wait_for_url(f"{base}/people/merges/")
    record.refresh_from_db()
    assert record.undone_at is not None and twin.registrations.count() == 1
    page.context.close()
