"""Ticket pages: the resident's form and follow-up, operators' triage and case actions, the
department queue, and who may open what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from gridguard.core import clock
from gridguard.core.masking import phone_for
from gridguard.tickets.models import Case, CaseStatus, Ticket, TicketEventKind
from gridguard.tickets.views.pages import follow_url
from tests.tickets.conftest import TicketCity, file_ticket

GATE = "市民来电反映：A1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
GATE_AGAIN = "我住A1小区，门卫根本不管，谁都能进来，太吓人了"
PHONE = "13800138000"
PRICE = "A2大药房口罩卖到一百元一包，哄抬价格，请市场监管部门查处"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings: Any) -> None:
    # The rate limiter counts in the cache, which outlives each test's transaction.
    cache.clear()
    settings.TICKET_FORM_RATE = "1000/m"


@pytest.fixture
def as_user(ticket_city: TicketCity) -> Callable[[str], Client]:
    """A test client logged in as one of the ticket city's users."""

    def make(username: str) -> Client:
        c = Client()
        c.force_login(ticket_city.users[username])
        return c

    return make


def _post_form(client: Client, **fields: str) -> Any:
    data = {"text": GATE, "place": "A1小区", "reporter_name": "张三", "reporter_phone": PHONE}
    data.update(fields)
    return client.post(reverse("tickets:new"), data)


# The resident's side


@pytest.mark.django_db
def test_anonymous_form_files_a_web_ticket_and_opens_its_follow_up(
    ticket_city: TicketCity,
) -> None:
    client = Client()
    assert client.get(reverse("tickets:new")).status_code == 200
    response = _post_form(client)
    ticket = Ticket.objects.get()
    assert ticket.channel == "web" and ticket.reporter_phone == PHONE and ticket.reporter is None
    assert response.status_code == 302 and response["Location"] == follow_url(ticket.number)
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert ticket.number in html and 'id="just-filed"' in html
    assert 'name="rating"' not in html  # nothing to rate before an answer


@pytest.mark.django_db
def test_logged_in_resident_files_without_a_phone_and_sees_it_in_my_reports(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    client = as_user("resident_a1")
    response = _post_form(client, reporter_phone="")
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.reporter == ticket_city.users["resident_a1"] and ticket.channel == "web"
    mine = client.get(reverse("tickets:mine")).content.decode()
    assert ticket.number in mine and follow_url(ticket.number) in mine


@pytest.mark.django_db
def test_a_double_submit_is_one_ticket(ticket_city: TicketCity) -> None:
    client = Client()
    key = "0123456789abcdef0123456789abcdef"
    first = _post_form(client, submission_key=key)
    again = _post_form(client, submission_key=key)
    assert Ticket.objects.count() == 1
    assert first["Location"] == again["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"reporter_phone": ""}, "reporter_phone"),
        ({"reporter_phone": "12"}, "reporter_phone"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_writes_nothing(
    ticket_city: TicketCity, fields: dict[str, str], field: str
) -> None:
    response = _post_form(Client(), **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="err-{field}"' in html and 'aria-invalid="true"' in html
    assert not Ticket.objects.exists() and not Case.objects.exists()


@pytest.mark.django_db
def test_anonymous_without_phone_also_gets_the_other_messages(ticket_city: TicketCity) -> None:
    html = _post_form(Client(), text="", reporter_phone="").content.decode()
    assert 'id="err-text"' in html and 'id="err-reporter_phone"' in html
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_the_form_is_rate_limited_per_address(ticket_city: TicketCity, settings: Any) -> None:
    settings.TICKET_FORM_RATE = "2/m"
    client = Client()
    assert _post_form(client, text=GATE).status_code == 302
    assert _post_form(client, text=GATE_AGAIN).status_code == 302
    assert _post_form(client, text="A2小区有人聚集打牌，没人管").status_code == 429
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_follow_up_refuses_a_wrong_signature(ticket_city: TicketCity) -> None:
    ticket = file_ticket(ticket_city.users["hotline"], GATE, "A1小区")
    other = file_ticket(ticket_city.users["hotline"], GATE_AGAIN, "A2小区")
    client = Client()
    good = follow_url(ticket.number)
    assert client.get(good).status_code == 200
    signature = good.rstrip("/").rsplit("/", 1)[1]
    assert (
        client.get(reverse("tickets:follow", args=[ticket.number, "x" + signature])).status_code
        == 404
    )
    # Another ticket's signature does not open this one.
    other_sig = follow_url(other.number).rstrip("/").rsplit("/", 1)[1]
    assert client.get(reverse("tickets:follow", args=[ticket.number, other_sig])).status_code == 404
    assert client.get(reverse("tickets:follow", args=["TNOSUCH", signature])).status_code == 404


@pytest.mark.django_db
def test_rating_works_once_answered(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    client = Client()
    url = _post_form(client)["Location"]
    ticket = Ticket.objects.get()
    early = client.post(url, {"rating": "5"})
    assert early.status_code == 400
    ticket.refresh_from_db()
    assert ticket.rating is None
    as_user("committee_a1").post(
        reverse("tickets:case_answer", args=[ticket.case.number]), {"reply": "已安排保安查验。"}
    )
    page = client.get(url).content.decode()
    assert "已安排保安查验。" in page and 'name="rating"' in page
    bad = client.post(url, {"rating": "9"})
    assert bad.status_code == 400 and 'id="err-rating"' in bad.content.decode()
    assert client.post(url, {"rating": "4", "comment": "及时"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.rating == 4 and ticket.rating_comment == "及时"
    assert ticket.case.events.filter(kind=TicketEventKind.RATED).exists()


# The operators' side


@pytest.mark.django_db
def test_operator_triages_from_the_queue_and_the_case_is_dispatched(
    ticket_city: TicketCity, as_user: Callable[[str], Client], settings: Any
) -> None:
    settings.TICKET_TRIAGE_BELOW = 1.01  # every new case waits for an operator
    ticket = file_ticket(ticket_city.users["hotline"], GATE, "A1小区")
    case = ticket.case
    assert case.status == CaseStatus.TRIAGE
    client = as_user("hotline")
    queue = client.get(reverse("tickets:triage")).content.decode()
    assert case.number in queue
    url = reverse("tickets:case_triage", args=[case.number])
    bad = client.post(url, {"subclass": "S99", "next": "triage"}, HTTP_HX_REQUEST="true")
    assert 'id="err-subclass"' in bad.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.TRIAGE
    done = client.post(
        url, {"subclass": "S01", "urgency": "high", "next": "triage"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 200 and 'class="ok"' in done.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED and case.urgency == "high"
    assert case.department == ticket_city.departments["committee_a1"]
    assert case.number not in client.get(reverse("tickets:triage")).content.decode()


@pytest.mark.django_db
def test_triage_on_the_case_page_shows_errors_beside_the_field(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    case = file_ticket(ticket_city.users["hotline"], GATE, "A1小区").case
    client = as_user("hotline")
    url = reverse("tickets:case_triage", args=[case.number])
    response = client.post(url, {"subclass": "S01", "urgency": "soon"})
    assert response.status_code == 400 and 'id="err-urgency"' in response.content.decode()
    response = client.post(url, {"subclass": "S02", "urgency": ""})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.subclass == "S02"


@pytest.mark.django_db
def test_department_handler_answers_and_the_reporter_is_notified(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    _post_form(Client(), text=PRICE, place="A2小区")
    ticket = Ticket.objects.get()
    case = ticket.case
    assert case.status == CaseStatus.DISPATCHED
    assert case.department == ticket_city.departments["market"]
    handler = as_user("handler_market")
    queue = handler.get(reverse("tickets:queue")).content.decode()
    assert case.number in queue
    page = handler.get(reverse("tickets:case", args=[case.number]))
    assert page.status_code == 200 and 'id="answer-form"' in page.content.decode()
    # The reporter's phone is shown as the handler's role may see it.
    shown = phone_for(ticket_city.users["handler_market"], PHONE)
    assert f'class="phone">{shown}<' in page.content.decode()
    answer = reverse("tickets:case_answer", args=[case.number])
    empty = handler.post(answer, {"reply": " "})
    assert empty.status_code == 400 and 'id="err-reply"' in empty.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.DISPATCHED
    assert handler.post(answer, {"reply": "已安排保安查验。"}).status_code == 302
    case.refresh_from_db()
    ticket.refresh_from_db()
    assert case.status == CaseStatus.ANSWERED and ticket.notified_at is not None
    # Another department's handler may not answer it.
    assert as_user("handler_ops_a").post(answer, {"reply": "x"}).status_code in (403, 404)


@pytest.mark.django_db
def test_department_queue_marks_cases_past_their_deadline(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    hotline = ticket_city.users["hotline"]
    late = file_ticket(hotline, PRICE, "A2小区", at=clock.now() - dt.timedelta(days=5)).case
    fresh = file_ticket(hotline, PRICE.replace("A2", "B1"), "B1小区").case
    assert late.department == fresh.department == ticket_city.departments["market"]
    Case.objects.filter(pk=late.pk).update(due_at=clock.now() - dt.timedelta(hours=1))
    html = as_user("handler_market").get(reverse("tickets:queue")).content.decode()
    assert html.index(late.number) < html.index(fresh.number)
    assert 'id="overdue-count"' in html
    assert f'overdue" href="{reverse("tickets:case", args=[late.number])}"' in html
    assert f'overdue" href="{reverse("tickets:case", args=[fresh.number])}"' not in html


@pytest.mark.django_db
def test_operator_closes_an_answered_case(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    case = file_ticket(ticket_city.users["hotline"], GATE, "A1小区").case
    client = as_user("hotline")
    close = reverse("tickets:case_close", args=[case.number])
    assert client.post(close).status_code == 400  # not answered yet
    client.post(reverse("tickets:case_answer", args=[case.number]), {"reply": "已处理。"})
    assert client.post(close).status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


@pytest.mark.django_db
def test_split_and_join(ticket_city: TicketCity, as_user: Callable[[str], Client]) -> None:
    hotline = ticket_city.users["hotline"]
    first = file_ticket(hotline, GATE, "A1小区")
    again = file_ticket(hotline, GATE_AGAIN, "A1小区1号楼", channel="web")
    case = first.case
    assert again.case_id == case.pk
    client = as_user("hotline")
    split = client.post(reverse("tickets:case_split", args=[case.number]), {"ticket": again.number})
    assert split.status_code == 302
    again.refresh_from_db()
    case.refresh_from_db()
    assert again.case_id != case.pk and case.ticket_count == 1
    new_case = again.case
    # Joining into a case that does not exist changes nothing.
    join = reverse("tickets:case_join", args=[new_case.number])
    bad = client.post(join, {"ticket": again.number, "case": "CNOSUCH"})
    assert bad.status_code == 400 and 'id="err-case"' in bad.content.decode()
    again.refresh_from_db()
    assert again.case_id == new_case.pk
    ok = client.post(join, {"ticket": again.number, "case": case.number})
    assert ok.status_code == 302 and ok["Location"] == reverse("tickets:case", args=[case.number])
    again.refresh_from_db()
    case.refresh_from_db()
    new_case.refresh_from_db()
    assert again.case_id == case.pk and case.ticket_count == 2
    assert new_case.status == CaseStatus.CLOSED
    # The only ticket of a case cannot be split out.
    alone = file_ticket(hotline, PRICE, "A2菜场").case
    ticket_number = Ticket.objects.get(case=alone).number
    refused = client.post(
        reverse("tickets:case_split", args=[alone.number]), {"ticket": ticket_number}
    )
    assert refused.status_code == 400 and 'id="general-error"' in refused.content.decode()


@pytest.mark.django_db
def test_case_list_filters_and_finds_by_number(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    gate = file_ticket(ticket_city.users["hotline"], GATE, "A1小区")
    price = file_ticket(ticket_city.users["hotline"], PRICE, "A2菜场")
    client = as_user("hotline")
    index = reverse("tickets:index")
    html = client.get(index).content.decode()
    assert gate.case.number in html and price.case.number in html
    found = client.get(index, {"q": gate.number}).content.decode()
    assert gate.case.number in found and price.case.number not in found
    by_subclass = client.get(index, {"subclass": gate.case.subclass}).content.decode()
    assert gate.case.number in by_subclass and price.case.number not in by_subclass
    assert gate.case.number not in client.get(index, {"channel": "web"}).content.decode()
    assert gate.case.number in client.get(index, {"status": gate.case.status}).content.decode()


# Who may open what


@pytest.mark.django_db
def test_a_street_b_operator_cannot_open_or_act_on_a_street_a_case(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    case = file_ticket(ticket_city.users["hotline"], GATE, "A1小区").case
    client = as_user("hotline_b")
    assert client.get(reverse("tickets:case", args=[case.number])).status_code == 404
    assert case.number not in client.get(reverse("tickets:index")).content.decode()
    triage = reverse("tickets:case_triage", args=[case.number])
    assert client.post(triage, {"subclass": "S02"}).status_code in (403, 404)
    answer = reverse("tickets:case_answer", args=[case.number])
    assert client.post(answer, {"reply": "x"}).status_code in (403, 404)
    case.refresh_from_db()
    assert case.subclass != "S02" and case.status != CaseStatus.ANSWERED
    # The district operator opens it, and the read of its reporters is audited.
    assert as_user("hotline").get(reverse("tickets:case", args=[case.number])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["tickets:index", "tickets:triage", "tickets:queue"])
def test_a_resident_cannot_open_operator_pages(
    ticket_city: TicketCity, as_user: Callable[[str], Client], name: str
) -> None:
    assert as_user("resident_a1").get(reverse(name)).status_code == 403


@pytest.mark.django_db
def test_a_resident_cannot_open_a_case_page(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    case = file_ticket(ticket_city.users["hotline"], GATE, "A1小区").case
    client = as_user("resident_a1")
    assert client.get(reverse("tickets:case", args=[case.number])).status_code == 403
    answer = reverse("tickets:case_answer", args=[case.number])
    assert client.post(answer, {"reply": "x"}).status_code == 403


@pytest.mark.django_db
def test_operator_pages_need_a_login(ticket_city: TicketCity) -> None:
    for url in (reverse("tickets:index"), reverse("tickets:mine"), reverse("tickets:queue")):
        response = Client().get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


@pytest.mark.django_db
def test_home_shows_ticket_tiles_by_role(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    home = reverse("accounts:home")
    resident = as_user("resident_a1").get(home).content.decode()
    assert reverse("tickets:new") in resident and reverse("tickets:mine") in resident
    assert f'href="{reverse("tickets:index")}"' not in resident
    hotline = as_user("hotline").get(home).content.decode()
    assert reverse("tickets:triage") in hotline and f'href="{reverse("tickets:index")}"' in hotline
    handler = as_user("handler_market").get(home).content.decode()
    assert reverse("tickets:queue") in handler
    login = Client().get(reverse("accounts:login")).content.decode()
    assert reverse("tickets:new") in login


@pytest.mark.django_db
def test_operator_may_dispatch_to_a_department_of_their_choice(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    case = file_ticket(ticket_city.users["hotline"], GATE, "A1小区").case
    client = as_user("hotline")
    page = client.get(reverse("tickets:case", args=[case.number])).content.decode()
    street_ops = ticket_city.departments["street_ops_a"]
    other_street = ticket_city.departments["committee_b1"]
    assert f'<option value="{street_ops.pk}"' in page
    assert f'<option value="{other_street.pk}"' not in page  # serves another street
    url = reverse("tickets:case_triage", args=[case.number])
    before = (case.department_id, case.status)
    for bad in (str(other_street.pk), "abc", "²", "9" * 30):
        response = client.post(url, {"subclass": "S01", "department": bad})
        assert response.status_code == 400, bad
        assert 'id="err-department"' in response.content.decode()
        case.refresh_from_db()
        assert (case.department_id, case.status) == before
    assert (
        client.post(url, {"subclass": "S01", "department": str(street_ops.pk)}).status_code == 302
    )
    case.refresh_from_db()
    assert case.department == street_ops and case.status == CaseStatus.DISPATCHED


@pytest.mark.django_db
def test_handler_is_offered_the_answers_of_the_case_subclass(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    from gridguard.tickets.services.notices import publish_answer

    case = file_ticket(ticket_city.users["hotline"], GATE, "A1小区").case
    assert case.subclass == "S01"
    operator = ticket_city.users["operator_a"]
    street = ticket_city["street_a"]
    publish_answer(
        operator, area=street, question="门岗谁负责", answer="由物业安排值守。", subclasses="S01"
    )
    publish_answer(
        operator, area=street, question="口罩去哪买", answer="到指定药房。", subclasses="S20"
    )
    page = as_user("committee_a1").get(reverse("tickets:case", args=[case.number]))
    html = page.content.decode()
    assert 'id="offered-answers"' in html and 'data-answer="由物业安排值守。"' in html
    assert "到指定药房。" not in html
