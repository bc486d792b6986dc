"""The ticket API: a hotline connector's batches, and scoped reads of cases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.tickets.models import Case, Ticket
from tests.tickets.conftest import TicketCity, file_ticket

GATE = "市民来电反映：A1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
CARDS = "A1小区活动室天天有人打麻将，十几个人聚在一起不戴口罩"
B_GATE = "B1小区门口没人值守，外卖快递随便进小区，希望加强管理。"
URL = "/api/v1/tickets/intake"


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def connector(ticket_city: TicketCity) -> Client:
    _token, secret = accounts.issue_token(
        ticket_city.users["admin"],
        name="12345 connector",
        purpose="hotline_connector",
        area=ticket_city["district"],
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def as_user(ticket_city: TicketCity) -> Callable[[str], Client]:
    def make(username: str) -> Client:
        c = Client()
        c.force_login(ticket_city.users[username])
        return c

    return make


def _post(client: Client, tickets: Any) -> Any:
    return client.post(URL, json.dumps({"tickets": tickets}), content_type="application/json")


def _row(ref: str, text: str = GATE, **extra: Any) -> dict[str, Any]:
    return {"channel": "12345", "channel_ref": ref, "text": text, "place": "A1小区", **extra}


@pytest.mark.django_db
def test_a_connector_batch_lands_with_a_result_per_row(connector: Client) -> None:
    response = _post(connector, [_row("H-1"), _row("H-2", CARDS, reporter_phone="13800138000")])
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["line"] for r in body["results"]] == [1, 2]
    assert all(r["created"] and not r["errors"] for r in body["results"])
    assert body["created"] == 2 and body["rejected"] == 0
    first = Ticket.objects.get(number=body["results"][0]["ticket"])
    assert first.case.number == body["results"][0]["case"] and first.channel_ref == "H-1"


@pytest.mark.django_db
def test_bad_rows_carry_errors_naming_the_field_and_good_rows_land(connector: Client) -> None:
    future = (clock.now() + dt.timedelta(days=1)).isoformat()
    rows = [
        _row("B-1"),
        _row("B-2", ""),
        _row("B-3", "x" * 2001),
        {**_row("B-4"), "channel": "99999"},
        _row("B-5", CARDS, received_at=future),
    ]
    response = _post(connector, rows)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["created"] and results[0]["ticket"]
    fields = [{e["field"] for e in r["errors"]} for r in results[1:]]
    assert fields == [{"text"}, {"text"}, {"channel"}, {"received_at"}]
    assert results[2]["errors"][0]["code"] == "too_long"
    assert all(r["ticket"] is None and not r["created"] for r in results[1:])
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_a_batch_of_only_bad_rows_answers_200_and_writes_nothing(connector: Client) -> None:
    response = _post(connector, [_row("X-1", ""), {**_row("X-2"), "channel": ""}])
    assert response.status_code == 200
    assert response.json()["rejected"] == 2
    assert not Ticket.objects.exists() and not Case.objects.exists()


@pytest.mark.django_db
def test_the_same_reference_again_answers_the_first_and_other_text_is_an_error(
    connector: Client,
) -> None:
    first = _post(connector, [_row("D-1")]).json()["results"][0]
    again = _post(connector, [_row("D-1")]).json()
    assert again["results"][0]["ticket"] == first["ticket"]
    assert not again["results"][0]["created"] and again["repeated"] == 1
    other = _post(connector, [_row("D-1", CARDS)]).json()["results"][0]
    assert other["errors"][0]["field"] == "channel_ref"
    assert other["errors"][0]["code"] == "duplicate"
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"tickets": []},
        {"tickets": "not a list"},
        {"tickets": [{"channel": "12345"}]},
        {"tickets": [{"channel": 12345, "text": GATE}]},
        {},
    ],
)
def test_a_body_of_the_wrong_shape_is_422_naming_the_field(connector: Client, body: Any) -> None:
    response = connector.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors and all(e["field"] and e["field"].startswith("tickets") for e in errors)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_more_than_1000_rows_is_refused_whole(connector: Client) -> None:
    response = _post(connector, [_row(f"M-{i}") for i in range(1001)])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tickets"
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_intake_needs_its_permission(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    _token, secret = accounts.issue_token(
        ticket_city.users["admin"], name="reader", purpose="integration", area=ticket_city["city"]
    )
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert _post(reader, [_row("P-1")]).status_code == 403
    assert _post(Client(), [_row("P-2")]).status_code == 401
    assert _post(as_user("resident_a1"), [_row("P-3")]).status_code == 403
    assert not Ticket.objects.exists()
    # A hotline operator's session takes tickets in too.
    response = _post(as_user("hotline"), [_row("P-4")])
    assert response.status_code == 200 and response.json()["created"] == 1


@pytest.mark.django_db
def test_cases_are_listed_newest_first_and_filtered(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    hotline = ticket_city.users["hotline"]
    gate = file_ticket(hotline, GATE, "A1小区", at=clock.now() - dt.timedelta(hours=2))
    cards = file_ticket(hotline, CARDS, "A1小区")
    client = as_user("hotline")
    body = client.get("/api/v1/tickets/cases").json()
    assert [c["number"] for c in body["results"]] == [cards.case.number, gate.case.number]
    assert body["results"][1]["subclass"] == "S01"
    only = client.get("/api/v1/tickets/cases", {"subclass": "S01"}).json()["results"]
    assert [c["number"] for c in only] == [gate.case.number]
    status = gate.case.status
    by_status = client.get("/api/v1/tickets/cases", {"status": status}).json()["results"]
    assert gate.case.number in {c["number"] for c in by_status}


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "value"), [("status", "lost"), ("subclass", "S99")])
def test_an_unknown_filter_is_422_naming_it(
    ticket_city: TicketCity, as_user: Callable[[str], Client], name: str, value: str
) -> None:
    response = as_user("hotline").get("/api/v1/tickets/cases", {name: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == name


@pytest.mark.django_db
def test_a_case_shows_its_tickets_with_phones_masked_and_the_read_audited(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    t = file_ticket(ticket_city.users["hotline"], GATE, "A1小区", phone="13912345678")
    before = AuditEntry.objects.count()
    response = as_user("hotline").get(f"/api/v1/tickets/cases/{t.case.number}")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == t.case.number and body["ticket_count"] == 1
    assert body["tickets"][0]["number"] == t.number
    assert body["tickets"][0]["reporter_phone"] == "139****5678"
    assert "13912345678" not in response.content.decode()
    assert AuditEntry.objects.count() > before


@pytest.mark.django_db
def test_street_b_cannot_read_street_a_cases(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    hotline = ticket_city.users["hotline"]
    a = file_ticket(hotline, GATE, "黄浦区南京东路街道A1小区")
    b = file_ticket(hotline, B_GATE, "黄浦区外滩街道B1小区")
    assert a.case.area.path.startswith(ticket_city["street_a"].path)
    client = as_user("hotline_b")
    listed = {c["number"] for c in client.get("/api/v1/tickets/cases").json()["results"]}
    assert a.case.number not in listed and b.case.number in listed
    response = client.get(f"/api/v1/tickets/cases/{a.case.number}")
    assert response.status_code == 404
    assert GATE not in response.content.decode()
    assert client.get(f"/api/v1/tickets/cases/{b.case.number}").status_code == 200


@pytest.mark.django_db
def test_an_unknown_case_is_404(ticket_city: TicketCity, as_user: Callable[[str], Client]) -> None:
    response = as_user("hotline").get("/api/v1/tickets/cases/CNOSUCHCASE")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.django_db
def test_a_connector_reads_its_areas_cases_and_other_devices_none(
    ticket_city: TicketCity, connector: Client
) -> None:
    inside = file_ticket(ticket_city.users["hotline"], GATE, "A1小区")
    _token, street_secret = accounts.issue_token(
        ticket_city.users["admin"],
        name="street B connector",
        purpose="hotline_connector",
        area=ticket_city["street_b"],
    )
    numbers = [c["number"] for c in connector.get("/api/v1/tickets/cases").json()["results"]]
    assert numbers == [inside.case.number]
    street_b = Client(HTTP_AUTHORIZATION=f"Bearer {street_secret}")
    assert street_b.get("/api/v1/tickets/cases").json()["results"] == []
    _scanner, scanner_secret = accounts.issue_token(
        ticket_city.users["admin"],
        name="gate scanner",
        purpose="gate_scanner",
        area=ticket_city["district"],
    )
    scanner = Client(HTTP_AUTHORIZATION=f"Bearer {scanner_secret}")
    assert scanner.get("/api/v1/tickets/cases").status_code == 403


@pytest.mark.django_db
def test_the_largest_batch_fits_and_a_larger_body_is_refused_by_name(
    connector: Client,
) -> None:
    # 1,000 tickets of the longest text (~13 MB of JSON, escaped) are read; each row is
    # checked on its own (here: an unknown channel, so nothing is classified or written).
    rows = [
        {"channel": "99999", "channel_ref": f"R{i}", "text": "很" * 2000, "place": "A1小区"}
        for i in range(1000)
    ]
    body = json.dumps({"tickets": rows})
    assert len(body.encode()) > 11 * 1024 * 1024
    response = connector.post("/api/v1/tickets/intake", body, content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["rejected"] == 1000 and Ticket.objects.count() == 0
    too_big = json.dumps({"tickets": rows + rows})
    response = connector.post("/api/v1/tickets/intake", too_big, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["code"] == "too_large" and "16 MB" in error["message"]
    assert Ticket.objects.count() == 0
