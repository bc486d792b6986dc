"""Real browser: a hotline connector reports an unguarded gate; a resident reports the same gate
on the web form from a phone. The two become one case, dispatched to the compound's committee,
whose handler answers it from the queue; the resident reads the answer on the follow-up page
and rates it, and the rating shows in the case's history."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from gridguard.accounts import services as accounts
from gridguard.tickets.models import Case, Ticket
from tests.browser.pages import DESK, PHONE, log_in
from tests.conftest import City, build_city
from tests.tickets.conftest import add_departments, add_ticket_users

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser]

# One clue, told twice in different words: compound A1's north gate is left unguarded and
# strangers walk in unchecked. Same place field, same problem, some shared wording.
PLACE = "A1小区北门"
HOTLINE_TEXT = (
    "市民来电反映：A1小区北门没有保安值守，外来人员不登记、不测体温就随便进出小区，"
    "要求居委会加强门岗管理。"
)
WEB_TEXT = (
    "A1小区北门一直没人看守，陌生人不查证件也不测体温就直接进出小区，门岗形同虚设，"
    "请尽快安排人值守。"
)
REPLY = "已安排保安在A1小区北门24小时值守，外来人员一律登记测温后进入。"
COMMENT = "北门已经有人值守了，谢谢"
RESIDENT_PHONE = "13912345678"
CALLER_PHONE = "13800138000"
COMMITTEE = "贵州居委"  # the department of committee A1, which compound A1 belongs to


@pytest.fixture
def town(transactional_db: Any) -> Iterator[City]:
    # The form's and the API's rate limits count in the cache, which outlives a test.
    cache.clear()
    city = build_city()
    add_ticket_users(city, add_departments(city))
    yield city
    cache.clear()


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1


def _hotline_call(browser: Any, base: str, town: City) -> dict[str, Any]:
    """The 12345 connector posts the caller's ticket over HTTP with its device token."""
    _token, secret = accounts.issue_token(
        town.users["admin"],
        name="12345 connector",
        purpose="hotline_connector",
        area=town["district"],
    )
    ctx = browser.new_context()
    body = {
        "tickets": [
            {
                "channel": "12345",
                "channel_ref": "HL-20200210-0001",
                "text": HOTLINE_TEXT,
                "place": PLACE,
                "reporter_name": "刘先生",
                "reporter_phone": CALLER_PHONE,
            }
        ]
    }
    response = ctx.request.post(
        f"{base}/api/v1/tickets/intake",
        data=json.dumps(body, ensure_ascii=False),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert response.status == 200, response.text()
    answer = response.json()
    ctx.close()
    assert answer["created"] == 1 and answer["rejected"] == 0
    row = answer["results"][0]
    assert row["errors"] == [] and row["ticket"] and row["case"]
    return row


def test_web_ticket_joins_the_hotline_case_and_is_answered_and_rated(
    browser: Any, live_server: Any, town: City, shot: Any
) -> None:
    base = live_server.url

    # 1. The hotline's ticket comes in first and opens a case, dispatched on its own.
    hotline = _hotline_call(browser, base, town)
    case_number, hotline_ticket = hotline["case"], hotline["ticket"]

    # 2. A resident reports the same gate on the web form, from a phone, without logging in.
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    resident = ctx.new_page()
    resident.goto(f"{base}/tickets/new/")
    _no_sideways_scroll(resident)
    resident.fill("#id_text", WEB_TEXT)
    resident.fill("#id_place", PLACE)
    resident.fill("#id_reporter_name", "王女士")
    resident.fill("#id_reporter_phone", RESIDENT_PHONE)
    shot(resident, "tickets-form")
    resident.click("#ticket-form button[type=submit].primary")
    resident.wait_for_url(re.compile(r"/tickets/t/T[0-9A-Z]+/[^/]+/$"))
    follow_url = resident.url
    web_ticket = resident.inner_text("#ticket-number").strip()
    assert re.fullmatch(r"T[0-9A-Z]{10}", web_ticket) and web_ticket != hotline_ticket
    assert resident.is_visible("#just-filed")
    # It joined a case that was already dispatched: the resident sees that, and no answer yet.
    assert resident.get_attribute("#status", "data-status") == "dispatched"
    assert "已派单" in resident.inner_text("#status")
    assert WEB_TEXT in resident.inner_text("#follow")
    assert resident.locator("#reply").count() == 0
    assert resident.locator("input[name=rating]").count() == 0
    _no_sideways_scroll(resident)
    shot(resident, "tickets-follow-filed")

    # 3. The hotline operator finds the web ticket by its number: it is in the hotline's case,
    # which holds both reports and was dispatched to compound A1's committee.
    operator = log_in(browser, base, "hotline", viewport=DESK)
    operator.goto(f"{base}/tickets/?q={web_ticket}")
    listed = operator.locator(f"a[href='/tickets/cases/{case_number}/']")
    assert listed.count() >= 1
    listed.first.click()
    operator.wait_for_url(f"{base}/tickets/cases/{case_number}/")
    assert operator.get_attribute("#status", "data-status") == "dispatched"
    assert operator.inner_text("#department").strip() == COMMITTEE
    rows = operator.locator("#reports tbody tr")
    assert rows.count() == 2
    by_phone = operator.locator(f"#reports tr[data-number='{hotline_ticket}']").inner_text()
    by_web = operator.locator(f"#reports tr[data-number='{web_ticket}']").inner_text()
    assert "12345市民服务热线" in by_phone and "外来人员不登记" in by_phone
    assert "网上提交" in by_web and "门岗形同虚设" in by_web and "王女士" in by_web
    summary = operator.inner_text("#summary")
    assert re.search(r"(工单|Tickets)\s*2\b", summary), summary
    history = operator.locator("#history")
    merged = history.locator("li[data-kind=merged]")
    assert merged.count() == 1 and web_ticket in merged.inner_text()
    dispatched = history.locator("li[data-kind=dispatched]")
    assert dispatched.count() == 1 and COMMITTEE in dispatched.inner_text()
    assert history.locator("li[data-kind=received]").count() == 2
    shot(operator, "tickets-case-merged")
    operator.context.close()

    # 4. The committee's handler, on a phone, opens the queue and answers the case.
    handler = log_in(browser, base, "committee_a1", viewport=PHONE)
    handler.goto(f"{base}/tickets/queue/")
    tiles = handler.locator("#queue a.tile")
    assert tiles.count() == 1
    tile = handler.locator(f"#queue a.tile[data-number='{case_number}']")
    assert COMMITTEE in tile.inner_text()
    _no_sideways_scroll(handler)
    shot(handler, "tickets-queue")
    tile.click()
    handler.wait_for_url(f"{base}/tickets/cases/{case_number}/")
    _no_sideways_scroll(handler)
    assert handler.locator("#reports tbody tr").count() == 2
    handler.fill("#id_reply", REPLY)
    handler.click("#answer-form button[type=submit]")
    handler.wait_for_selector(".messages")
    assert case_number in handler.inner_text(".messages")
    assert handler.get_attribute("#status", "data-status") == "answered"
    assert REPLY in handler.inner_text("#reply")
    # Both reporters, the caller and the resident, are told.
    told = handler.locator("#history li[data-kind=notified]")
    assert told.count() == 2
    assert handler.locator("#reports tbody tr:has-text('已告知')").count() == 2
    shot(handler, "tickets-case-answered")
    handler.goto(f"{base}/tickets/queue/")
    assert handler.locator(f"#queue a.tile[data-number='{case_number}']").count() == 0

    # 5. The resident reloads the follow-up page, reads the answer and rates it.
    resident.goto(follow_url)
    assert resident.get_attribute("#status", "data-status") == "answered"
    assert REPLY in resident.inner_text("#reply")
    assert resident.locator("#rated").count() == 0
    resident.check("#rating input[name=rating][value='5']")
    resident.fill("#id_comment", COMMENT)
    _no_sideways_scroll(resident)
    resident.click("#rating button[type=submit]")
    resident.wait_for_selector("#rated")
    assert resident.url == follow_url
    assert "感谢您的评价" in resident.inner_text(".messages")
    assert "★★★★★" in resident.inner_text("#rated")
    assert resident.input_value("#id_comment") == COMMENT
    shot(resident, "tickets-follow-rated")
    ctx.close()

    # The rating is in the case's history, against the resident's ticket only.
    handler.goto(f"{base}/tickets/cases/{case_number}/")
    rated = handler.locator("#history li[data-kind=rated]")
    assert rated.count() == 1
    assert web_ticket in rated.inner_text() and "★★★★★" in rated.inner_text()
    web_row = handler.locator(f"#reports tr[data-number='{web_ticket}']").inner_text()
    phone_row = handler.locator(f"#reports tr[data-number='{hotline_ticket}']").inner_text()
    assert "★★★★★" in web_row and COMMENT in web_row
    assert "★" not in phone_row
    handler.context.close()

    # What the pages showed is what was stored.
    case = Case.objects.get(number=case_number)
    assert case.ticket_count == 2 and case.department is not None
    assert case.department.name == COMMITTEE and case.status == "answered"
    tickets = {t.number: t for t in Ticket.objects.filter(case=case)}
    assert set(tickets) == {hotline_ticket, web_ticket}
    assert tickets[web_ticket].channel == "web" and tickets[hotline_ticket].channel == "12345"
    assert tickets[web_ticket].rating == 5 and tickets[hotline_ticket].rating is None
