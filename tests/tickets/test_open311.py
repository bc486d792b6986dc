"""Open311 GeoReport v2: services, filing requests (with a key or anonymously), scoped reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gridguard.accounts import services as accounts
from gridguard.config.wsgi import application
from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.tickets.models import Case, CaseStatus, Ticket
from tests.conftest import audit_triggers_lifted, build_city
from tests.tickets.conftest import TicketCity, add_departments, add_ticket_users, file_ticket

BASE = "/open311/v2"
GATE = "A1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
B_GATE = "B1小区门口没人值守，外卖快递随便进小区，希望加强管理。"


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()  # the rate limit's counters
    yield
    cache.clear()


@pytest.fixture
def key(ticket_city: TicketCity) -> str:
    _token, secret = accounts.issue_token(
        ticket_city.users["admin"],
        name="open311 connector",
        purpose="hotline_connector",
        area=ticket_city["district"],
    )
    return secret


@pytest.fixture
def as_user(ticket_city: TicketCity) -> Callable[[str], Client]:
    def make(username: str) -> Client:
        c = Client()
        c.force_login(ticket_city.users[username])
        return c

    return make


def _file(client: Client, **fields: Any) -> Any:
    data = {"service_code": "S01", "description": GATE, "address_string": "A1小区", **fields}
    return client.post(f"{BASE}/requests.json", data)


def _described(response: Any, field: str) -> bool:
    body = response.json()
    return isinstance(body, list) and any(
        e["code"] == response.status_code and e["description"].startswith(f"{field}: ")
        for e in body
    )


@pytest.mark.django_db
def test_services_are_the_32_subclasses(ticket_city: TicketCity) -> None:
    response = Client().get(f"{BASE}/services.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    services = response.json()
    assert len(services) == 32
    first = services[0]
    assert first["service_code"] == "S01" and first["metadata"] is False
    assert first["type"] == "realtime" and first["group"] == "Compound control measures"
    assert "小区门岗管控不严" in first["keywords"]


@pytest.mark.django_db
def test_xml_is_not_offered(ticket_city: TicketCity) -> None:
    response = Client().get(f"{BASE}/services.xml")
    assert response.status_code == 400 and _described(response, "format")
    assert "JSON" in response.json()[0]["description"]


@pytest.mark.django_db
def test_an_anonymous_request_lands_as_a_web_ticket(ticket_city: TicketCity) -> None:
    response = _file(Client(enforce_csrf_checks=True), phone="13800138000", last_name="张三")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body[0]["account_id"] is None and body[0]["service_notice"]
    ticket = Ticket.objects.get(number=body[0]["service_request_id"])
    assert ticket.channel == "web" and ticket.channel_ref.startswith("W")
    assert ticket.reporter_phone == "13800138000" and ticket.reporter_name == "张三"
    assert ticket.place_text == "A1小区"


@pytest.mark.django_db
def test_a_connector_reference_is_idempotent(key: str) -> None:
    client = Client()
    first = _file(client, api_key=key, **{"attribute[channel_ref]": "OS-1"})
    assert first.status_code == 201
    again = _file(client, api_key=key, **{"attribute[channel_ref]": "OS-1"})
    assert again.status_code == 200
    assert again.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    other = _file(
        client,
        api_key=key,
        description="完全不同的一件事，菜价太贵",
        **{"attribute[channel_ref]": "OS-1"},
    )
    assert other.status_code == 400 and _described(other, "attribute[channel_ref]")
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"service_code": ""}, "service_code"),
        ({"service_code": "S99"}, "service_code"),
        ({"description": ""}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"address_string": ""}, "address_string"),
        ({"address_string": "", "lat": "north", "long": "121.4"}, "lat"),
        ({"address_string": "", "lat": "31.2", "long": "500"}, "long"),
        ({"phone": "12"}, "phone"),
        ({"last_name": "张" * 60}, "last_name"),
    ],
)
def test_a_malformed_request_is_an_open311_error_naming_the_field(
    ticket_city: TicketCity, fields: dict[str, str], field: str
) -> None:
    response = _file(Client(), **fields)
    assert response.status_code == 400, response.content
    assert _described(response, field)
    assert not Ticket.objects.exists() and not Case.objects.exists()


@pytest.mark.django_db
def test_coordinates_alone_will_do(ticket_city: TicketCity) -> None:
    response = _file(Client(), address_string="", lat="31.235", long="121.48")
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    # The coordinates are kept as the place for an operator (the text may still name one).
    assert ticket.place_text == "(31.235000, 121.480000)"


@pytest.mark.django_db
def test_a_bad_or_unfit_key_is_refused(ticket_city: TicketCity) -> None:
    assert _file(Client(), api_key="gg_nope_nope").status_code == 403
    _token, secret = accounts.issue_token(
        ticket_city.users["admin"], name="reader", purpose="integration", area=ticket_city["city"]
    )
    assert _file(Client(), api_key=secret).status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_anonymous_requests_are_rate_limited(ticket_city: TicketCity, settings: Any) -> None:
    settings.TICKET_FORM_RATE = "2/m"
    client = Client()
    codes = [_file(client, description=f"{GATE}第{i}次").status_code for i in range(3)]
    assert codes == [201, 201, 429]
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_reading_requests_needs_tickets_view(
    ticket_city: TicketCity, key: str, as_user: Callable[[str], Client]
) -> None:
    assert Client().get(f"{BASE}/requests.json").status_code == 401
    assert as_user("resident_a1").get(f"{BASE}/requests.json").status_code == 403
    _scanner, scanner_key = accounts.issue_token(
        ticket_city.users["admin"],
        name="gate scanner",
        purpose="gate_scanner",
        area=ticket_city["district"],
    )
    assert Client().get(f"{BASE}/requests.json", {"api_key": scanner_key}).status_code == 403
    assert as_user("hotline").get(f"{BASE}/requests.json").status_code == 200
    # The connector reads back what it filed, and the read is audited with what it showed.
    filed = _file(Client(), api_key=key).json()[0]["service_request_id"]
    rows = Client().get(f"{BASE}/requests.json", {"api_key": key}).json()
    assert [r["service_request_id"] for r in rows] == [filed]
    read = AuditEntry.objects.filter(action="open311.read").latest("pk")
    assert read.detail == {"tickets": [filed]} and read.actor_label.startswith("token:")


@pytest.mark.django_db
def test_requests_are_listed_without_personal_data(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    t = file_ticket(ticket_city.users["hotline"], GATE, "A1小区", phone="13912345678")
    response = as_user("hotline").get(f"{BASE}/requests.json")
    rows = response.json()
    assert [r["service_request_id"] for r in rows] == [t.number]
    row = rows[0]
    assert row["status"] == "open" and row["service_code"] == t.case.subclass
    assert row["description"] == GATE and row["case_number"] == t.case.number
    assert "13912345678" not in response.content.decode()
    one = as_user("hotline").get(f"{BASE}/requests/{t.number}.json")
    assert one.status_code == 200 and one.json() == rows


@pytest.mark.django_db
def test_request_filters(ticket_city: TicketCity, as_user: Callable[[str], Client]) -> None:
    hotline = ticket_city.users["hotline"]
    old = file_ticket(hotline, GATE, "A1小区", at=clock.now() - dt.timedelta(days=10))
    new = file_ticket(hotline, B_GATE, "B1小区")
    Case.objects.filter(pk=old.case_id).update(status=CaseStatus.CLOSED, closed_at=clock.now())
    client = as_user("hotline")

    def ids(**params: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json", params)
        assert response.status_code == 200, response.content
        return [r["service_request_id"] for r in response.json()]

    assert ids() == [new.number, old.number]
    assert ids(status="closed") == [old.number]
    assert ids(status="open") == [new.number]
    start = (clock.now() - dt.timedelta(days=1)).isoformat()
    assert ids(start_date=start) == [new.number]
    assert ids(service_request_id=f"{old.number},NOPE") == [old.number]
    assert ids(service_code=old.case.subclass, status="closed") == [old.number]
    assert ids(page_size="1", page="2") == [old.number]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"service_code": "S99"}, "service_code"),
        ({"start_date": "yesterday"}, "start_date"),
        (
            {"start_date": "2020-01-01T00:00:00+08:00", "end_date": "2020-06-01T00:00:00+08:00"},
            "end_date",
        ),
        ({"start_date": "2020-02-01T00:00:00", "end_date": "2020-01-01T00:00:00"}, "end_date"),
        ({"page_size": "0"}, "page_size"),
        ({"page": "x"}, "page"),
    ],
)
def test_bad_filters_are_open311_errors(
    ticket_city: TicketCity, as_user: Callable[[str], Client], params: dict[str, str], field: str
) -> None:
    response = as_user("hotline").get(f"{BASE}/requests.json", params)
    assert response.status_code == 400 and _described(response, field)


@pytest.mark.django_db
def test_street_b_cannot_read_street_a_requests(
    ticket_city: TicketCity, as_user: Callable[[str], Client]
) -> None:
    hotline = ticket_city.users["hotline"]
    a = file_ticket(hotline, GATE, "黄浦区南京东路街道A1小区")
    b = file_ticket(hotline, B_GATE, "黄浦区外滩街道B1小区")
    client = as_user("hotline_b")
    listed = [r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()]
    assert listed == [b.number]
    hidden = client.get(f"{BASE}/requests/{a.number}.json")
    assert hidden.status_code == 404 and _described(hidden, "service_request_id")
    assert GATE not in hidden.content.decode()
    by_id = client.get(f"{BASE}/requests.json", {"service_request_id": a.number})
    assert by_id.json() == []


@pytest.mark.django_db
def test_the_openapi_document_is_served(ticket_city: TicketCity) -> None:
    doc = Client().get(f"{BASE}/openapi.json").json()
    assert set(doc["paths"]) == {
        "/open311/v2/services.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests/{service_request_id}.json",
    }


# --- fuzzing, from the OpenAPI document the endpoints serve --------------------------------

FUZZ = hypothesis_settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
OPERATIONS = [
    ("GET", "/open311/v2/services.json"),
    ("GET", "/open311/v2/requests.json"),
    ("POST", "/open311/v2/requests.json"),
    ("GET", "/open311/v2/requests/{service_request_id}.json"),
]
CALLERS = ("anonymous", "connector", "hotline")


@pytest.fixture(scope="module")
def _audit_triggers_off(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """A transactional test ends by flushing every table, audit rows too, which the audit
    table's triggers refuse (as in tests/api/test_schemathesis.py)."""
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.fixture
def fuzz_city(_audit_triggers_off: None, transactional_db: Any) -> TicketCity:
    """The ticket city, committed: the WSGI app closes the connection after each request."""
    city = build_city()
    departments = add_departments(city)
    add_ticket_users(city, departments)
    fuzz = TicketCity(city=city, departments=departments)
    file_ticket(city.users["hotline"], GATE, "A1小区")
    return fuzz


def _caller(fuzz_city: TicketCity, who: str) -> dict[str, Any]:
    if who == "connector":
        _token, secret = accounts.issue_token(
            fuzz_city.users["admin"],
            name="fuzz",
            purpose="hotline_connector",
            area=fuzz_city["district"],
        )
        return {"headers": {"Authorization": f"Bearer {secret}"}}
    if who == "hotline":
        client = Client()
        client.force_login(fuzz_city.users["hotline"])
        return {"cookies": {"sessionid": client.cookies["sessionid"].value}}
    return {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzzed_requests_get_documented_answers(
    fuzz_city: TicketCity, who: str, method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", application)
    operation = schema[path][method]
    call = _caller(fuzz_city, who)
    sent = 0

    real = Ticket.objects.values_list("number", flat=True).first()

    def swap(pair: tuple[Any, bool]) -> Any:
        """Half the cases get a real service code and request id, to reach past the 400s."""
        case, use_real = pair
        if use_real:
            if case.path_parameters:
                case.path_parameters = {**case.path_parameters, "service_request_id": real}
            if isinstance(case.body, dict):
                case.body = {**case.body, "service_code": "S01", "address_string": "A1小区"}
        return case

    @FUZZ
    @given(case=st.tuples(operation.as_strategy(), st.booleans()).map(swap))
    def run(case: Any) -> None:
        nonlocal sent
        response = case.call_and_validate(checks=CHECKS, **call)
        sent += 1
        assert response.status_code < 500

    run()
    assert sent > 0
