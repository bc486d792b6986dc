"""The public form (no login), the receipt, and the staff pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.test.utils import override_settings

from gridguard.core.models import AuditEntry
from gridguard.health.models import FollowUpTask, TravellerRegistration
from tests.conftest import City
from tests.travellers.conftest import form_data

pytestmark = pytest.mark.django_db


def test_public_form_registers_and_shows_a_receipt(client: Client, city: City) -> None:
    r = client.get("/travellers/register/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 200 and 'name="submission_key"' in r.content.decode()
    r = client.post("/travellers/register/", form_data(submission_key="abc"))
    assert r.status_code == 302
    reg = TravellerRegistration.objects.get()
    assert r["Location"] == f"/travellers/receipt/{reg.receipt_code}/"
    assert reg.channel == "public_form" and reg.area == city["compound_a1"]
    page = client.get(r["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reg.receipt_code in page and "key-area-notice" in page
    assert reg.id_number not in page and reg.phone not in page  # masked on the receipt
    assert "Thank you" in page


def test_public_form_in_english(client: Client, city: City) -> None:
    r = client.get("/travellers/register/", HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert "Traveller health registration" in html and "Document number" in html


def test_bad_fields_are_shown_beside_them_and_nothing_is_kept(client: Client, city: City) -> None:
    r = client.post(
        "/travellers/register/",
        form_data(phone="12", temperature="45", arrival_date="2030-01-01"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    html = r.content.decode()
    for name in ("phone", "temperature", "arrival_date"):
        assert f'id="err-{name}"' in html
    assert 'value="李娜"' in html  # what was typed is kept in the form
    assert not TravellerRegistration.objects.exists()


def test_double_submission_is_one_registration(client: Client, city: City) -> None:
    data = form_data(submission_key="same-form")
    first = client.post("/travellers/register/", data)
    second = client.post("/travellers/register/", data)
    assert first["Location"] == second["Location"]
    assert TravellerRegistration.objects.count() == 1


def test_form_needs_csrf(city: City) -> None:
    c = Client(enforce_csrf_checks=True)
    r = c.post("/travellers/register/", form_data())
    assert r.status_code == 403
    assert not TravellerRegistration.objects.exists()


@override_settings(TRAVELLER_FORM_RATE="3/m")
def test_public_form_is_rate_limited(client: Client, city: City) -> None:
    codes = [
        client.post("/travellers/register/", form_data(phone="1")).status_code for _ in range(5)
    ]
    assert codes[:3] == [400, 400, 400] and codes[3:] == [429, 429]


def test_receipt_lookup(client: Client, city: City) -> None:
    client.post("/travellers/register/", form_data(submission_key="x"))
    code = TravellerRegistration.objects.get().receipt_code
    other = Client()
    r = other.get("/travellers/receipt/", {"code": code.lower()})
    assert r.status_code == 302 and code in r["Location"]
    page = other.get(r["Location"]).content.decode()
    assert code in page and "Thank you" not in page and "感谢" not in page
    assert other.get("/travellers/receipt/", {"code": "NOPE"}).status_code == 404
    assert other.get("/travellers/receipt/NOPE/").status_code == 404


def test_staff_list_is_scoped_masked_and_detail_audited(
    client: Client, city: City, login: Callable[[str], Client]
) -> None:
    client.post("/travellers/register/", form_data(submission_key="a"))
    reg = TravellerRegistration.objects.get()
    a = login("operator_a").get("/travellers/").content.decode()
    assert reg.receipt_code in a and reg.id_number not in a  # masked for an operator
    assert reg.id_number in login("committee_a1").get("/travellers/").content.decode()
    b = login("committee_b1").get("/travellers/").content.decode()
    assert reg.receipt_code not in b
    assert login("committee_b1").get(f"/travellers/{reg.pk}/").status_code == 404
    detail = login("committee_a1").get(f"/travellers/{reg.pk}/")
    assert detail.status_code == 200
    assert AuditEntry.objects.filter(action="read", object_id=str(reg.pk)).count() == 1
    assert login("volunteer_a1").get("/travellers/").status_code == 403
    assert client.get("/travellers/").status_code == 302  # anonymous → login


def test_unmatched_queue_and_assignment(
    client: Client, city: City, login: Callable[[str], Client]
) -> None:
    client.post(
        "/travellers/register/",
        form_data(submission_key="u", destination_address="南京东路街道某某新村12号"),
    )
    reg = TravellerRegistration.objects.get()
    op = login("operator_a")
    assert reg.receipt_code in op.get("/travellers/unmatched/").content.decode()
    r = op.post(f"/travellers/{reg.pk}/assign/", {"compound": "nonsense"}, follow=True)
    assert "nonsense" in r.content.decode()
    reg.refresh_from_db()
    assert reg.match_status == "unmatched"
    op.post(f"/travellers/{reg.pk}/assign/", {"compound": city["compound_a2"].code})
    reg.refresh_from_db()
    assert reg.match_status == "assigned" and reg.area == city["compound_a2"]
    assert reg.receipt_code not in op.get("/travellers/unmatched/").content.decode()


def test_committee_closes_a_follow_up(
    client: Client, city: City, login: Callable[[str], Client]
) -> None:
    client.post("/travellers/register/", form_data(submission_key="f"))
    task = FollowUpTask.objects.get()
    c = login("committee_a1")
    page = c.get("/travellers/followups/").content.decode()
    assert f'id="task-{task.pk}"' in page
    assert (
        f'id="task-{task.pk}"'
        not in login("committee_b1").get("/travellers/followups/").content.decode()
    )
    c.post(f"/travellers/followups/{task.pk}/close/", {"outcome": " "})
    task.refresh_from_db()
    assert task.status == "open"
    c.post(f"/travellers/followups/{task.pk}/close/", {"outcome": "已上门，开始居家观察"})
    task.refresh_from_db()
    assert task.status == "done" and task.closed_by == city.users["committee_a1"]
    assert (
        login("committee_b1")
        .post(f"/travellers/followups/{task.pk}/close/", {"outcome": "x"})
        .status_code
        == 404
    )


def test_links_reach_the_pages_for_the_roles_that_use_them(
    client: Client, city: City, login: Callable[[str], Client]
) -> None:
    assert "/travellers/register/" in client.get("/accounts/login/").content.decode()
    home = login("committee_a1").get("/accounts/home/").content.decode()
    assert "/travellers/followups/" in home and "/travellers/" in home
    assert (
        "/travellers/followups/"
        not in login("volunteer_a1").get("/accounts/home/").content.decode()
    )


@pytest.mark.parametrize(
    ("username", "present", "absent"),
    [
        ("resident_a1", ["/codes/me/", "/observation/me/", "/pharmacy/masks/"], ["/people/"]),
        ("health_a", ["/observation/", "/people/"], ["/pharmacy/purchase/"]),
        ("pharmacist_a1", ["/pharmacy/"], ["/people/", "/observation/"]),
        ("admin", ["/codes/rules/", "/people/"], ["/codes/me/"]),
    ],
)
def test_home_links_follow_the_role(
    login: Callable[[str], Client], username: str, present: list[str], absent: list[str]
) -> None:
    html = login(username).get("/accounts/home/").content.decode()
    for link in present:
        assert f'href="{link}"' in html, link
    for link in absent:
        assert f'href="{link}"' not in html, link
