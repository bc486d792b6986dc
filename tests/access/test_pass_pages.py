"""Entry-pass pages: the committee's list, issue form, request queue and detail; the resident's
own passes, phone display and paper card. Scoped, audited, CSRF-checked; bad input changes
nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridguard.access import credential
from gridguard.access.models import EntryPass, PassStatus
from gridguard.access.services import keys, passes
from gridguard.access.views import passes as views
from gridguard.core import clock, masking
from gridguard.core.models import AuditEntry
from gridguard.people.models import Person
from tests import factories
from tests.conftest import City

Login = Callable[[str], Client]
EN: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def resident(city: City) -> Person:
    return factories.person(city["building_a1"], "王小芳", user=city.users["resident_a1"])


def _issue(city: City, person: Person, side: str = "a", **extra: Any) -> EntryPass:
    now = clock.now()
    fields: dict[str, Any] = {
        "kind": "resident",
        "valid_from": now - dt.timedelta(hours=1),
        "valid_until": now + dt.timedelta(days=30),
    }
    fields.update(extra)
    return passes.issue_pass(
        city.users[f"committee_{side}1"], person, city[f"compound_{side}1"], **fields
    )


def _ask(city: City) -> EntryPass:
    now = clock.now()
    return passes.request_pass(
        city.users["resident_a1"],
        city["compound_a1"],
        kind="worker",
        valid_from=now,
        valid_until=now + dt.timedelta(days=10),
        reason="back to work",
    )


def _local(value: dt.datetime) -> str:
    return clock.local(value).strftime("%Y-%m-%dT%H:%M")


def _state() -> tuple[list[tuple[str, str, str]], int]:
    rows = list(EntryPass.objects.order_by("pk").values_list("pass_id", "status", "credential"))
    return rows, AuditEntry.objects.exclude(action="read").count()


def _data_credential(html: str) -> str:
    found = re.search(r'data-credential="([^"]+)"', html)
    assert found, "no data-credential on the page"
    return found.group(1)


# --------------------------------------------------------------------------- list and detail


def test_the_list_is_scoped_masked_and_filtered(city: City, login: Login, resident: Person) -> None:
    mine = _issue(city, resident)
    other = _issue(city, factories.person(city["compound_b1"], "李四海"), side="b")
    asked = _ask(city)
    c = login("committee_a1")
    html = c.get("/passes/").content.decode()
    assert f'data-pass="{mine.pass_id}"' in html and f'data-pass="{asked.pass_id}"' in html
    assert other.pass_id not in html
    assert "王*芳" in html and "王小芳" not in html
    html = c.get("/passes/?status=requested").content.decode()
    assert asked.pass_id in html and mine.pass_id not in html
    html = c.get("/passes/?kind=resident&compound=" + city["compound_a1"].code).content.decode()
    assert mine.pass_id in html and asked.pass_id not in html
    # Filters outside the vocabulary or the territory say so and are not applied.
    r = c.get("/passes/?status=lost&compound=" + city["compound_b1"].code, **EN)
    assert r.status_code == 400
    body = r.content.decode()
    assert "Unknown status" in body and "No such compound in your area" in body
    assert mine.pass_id in body and other.pass_id not in body


def test_the_list_is_paginated(city: City, login: Login, resident: Person) -> None:
    for _ in range(52):
        _issue(city, resident)
    c = login("committee_a1")
    first = c.get("/passes/?status=active").content.decode()
    second = c.get("/passes/?status=active&page=2").content.decode()
    assert first.count("<tr data-pass=") == 50 and second.count("<tr data-pass=") == 2
    assert 'href="?status=active&amp;page=2"' in first


def test_pages_need_login_and_the_permission(city: City, login: Login) -> None:
    assert Client().get("/passes/").status_code == 302
    assert Client().get("/passes/me/").status_code == 302
    for username in ("volunteer_a1", "pharmacist_a1", "resident_a1"):
        c = login(username)
        for url in ("/passes/", "/passes/new/", "/passes/requests/"):
            assert c.get(url).status_code == 403, (username, url)
    assert login("operator_a").get("/passes/new/").status_code == 403  # views, cannot issue


def test_a_pass_of_another_street_is_not_there(city: City, login: Login) -> None:
    entry_pass = _issue(city, factories.person(city["compound_a1"]))
    c = login("committee_b1")
    operator_b = login("operator_b")
    before = _state()
    for url in ("", "card/"):
        assert c.get(f"/passes/{entry_pass.pass_id}/{url}").status_code == 404
    assert c.post(f"/passes/{entry_pass.pass_id}/revoke/", {"reason": "x"}).status_code == 404
    r = c.post(f"/passes/{entry_pass.pass_id}/decide/", {"decision": "approve"})
    assert r.status_code == 404
    assert operator_b.get(f"/passes/{entry_pass.pass_id}/").status_code == 404
    assert _state() == before
    assert login("committee_a1").get("/passes/NOSUCHPASS/").status_code == 404


def test_the_detail_is_audited_and_offers_actions_to_the_committee(
    city: City, login: Login, resident: Person
) -> None:
    entry_pass = _issue(city, resident)
    r = login("committee_a1").get(f"/passes/{entry_pass.pass_id}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "王小芳" in html and resident.id_number in html  # the committee may see both
    assert 'id="revoke-form"' in html and 'id="card-link"' in html
    read = AuditEntry.objects.filter(action="read", object_id=str(resident.pk)).get()
    assert "entry_pass" in read.detail["fields"]
    # An operator reads (the ID number masked) but has no forms.
    html = login("operator_a").get(f"/passes/{entry_pass.pass_id}/").content.decode()
    assert resident.id_number not in html and 'id="revoke-form"' not in html


# --------------------------------------------------------------------------- issuing


def _issue_form(city: City, holder: Person, **extra: str) -> dict[str, Any]:
    now = clock.now()
    data: dict[str, Any] = {
        "person": str(holder.pk),
        "kind": "resident",
        "compound": city["compound_a1"].code,
        "valid_from": _local(now),
        "valid_until": _local(now + dt.timedelta(days=30)),
        "reason": "",
    }
    data.update(extra)
    return data


def test_search_and_issue_a_pass(city: City, login: Login) -> None:
    person = factories.person(city["building_a1"], "赵一鸣")
    factories.person(city["compound_b1"], "赵二鸣")  # another street: never offered
    c = login("committee_a1")
    html = c.get("/passes/new/?q=赵").content.decode()
    assert f'value="{person.pk}"' in html and "赵二鸣" not in html
    html = c.get(f"/passes/new/?q={person.id_number}").content.decode()
    assert f'value="{person.pk}"' in html
    pick = html[html.index('class="person-pick"') :]
    pick = pick[: pick.index("</ul>")]
    assert masking.mask_id_number(person.id_number) in pick  # the pick list masks numbers
    assert person.id_number not in pick
    r = c.post(
        "/passes/new/", _issue_form(city, person, gates=city["gate_a1"].code, reason="lives here")
    )
    assert r.status_code == 302
    entry_pass = EntryPass.objects.get()
    assert r["Location"] == f"/passes/{entry_pass.pass_id}/"
    assert entry_pass.status == PassStatus.ACTIVE and entry_pass.person == person
    assert [g.code for g in entry_pass.gates.all()] == [city["gate_a1"].code]
    assert credential.verify(
        entry_pass.credential, keys.trust_list(), now=int(clock.now().timestamp())
    ).ok


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "tourist"}, "kind"),
        ({"valid_until": "2020-01-01T08:00"}, "valid_until"),  # end before start
        ({"valid_from": "yesterday"}, "valid_from"),
        ({"kind": "visitor"}, "valid_until"),  # 30 days: too long for a visitor
        ({"compound": "310101002001C001"}, "compound"),  # street B: out of scope
        ({"gates": "310101002001C001G01"}, "gates"),  # a gate of another compound
        ({"gates": "NO-SUCH-GATE"}, "gates"),
        ({"person": "999999"}, "person"),
        ({"reason": "x" * 256}, "reason"),
    ],
)
def test_bad_issue_input_names_the_field_and_changes_nothing(
    city: City, login: Login, change: dict[str, str], field: str
) -> None:
    person = factories.person(city["compound_a1"])
    c = login("committee_a1")
    before = _state()
    r = c.post("/passes/new/", _issue_form(city, person, **change), **EN)
    assert r.status_code == 400
    assert f'id="err-{field}"' in r.content.decode(), field
    assert _state() == before


def test_a_person_of_another_street_cannot_be_given_a_pass(city: City, login: Login) -> None:
    stranger = factories.person(city["compound_b1"])
    c = login("committee_a1")
    before = _state()
    r = c.post("/passes/new/", _issue_form(city, stranger))
    assert r.status_code == 400 and 'id="err-person"' in r.content.decode()
    assert _state() == before


def test_forms_are_csrf_checked(city: City, resident: Person) -> None:
    entry_pass = _issue(city, resident)
    clients = {}
    for username in ("committee_a1", "resident_a1"):
        clients[username] = Client(enforce_csrf_checks=True)
        clients[username].force_login(city.users[username])
    before = _state()
    for username, url, data in (
        ("committee_a1", "/passes/new/", _issue_form(city, resident)),
        ("committee_a1", f"/passes/{entry_pass.pass_id}/revoke/", {"reason": "x"}),
        ("resident_a1", "/passes/me/", {"compound": city["compound_a1"].code}),
    ):
        assert clients[username].post(url, data).status_code == 403
    assert _state() == before


# --------------------------------------------------------------------------- decide and revoke


def test_queue_approve_and_refuse(city: City, login: Login, resident: Person) -> None:
    asked = _ask(city)
    c = login("committee_a1")
    html = c.get("/passes/requests/").content.decode()
    assert f'data-pass="{asked.pass_id}"' in html and "back to work" in html
    detail = c.get(f"/passes/{asked.pass_id}/").content.decode()
    assert 'id="approve-form"' in detail and 'id="refuse-form"' in detail
    r = c.post(f"/passes/{asked.pass_id}/decide/", {"decision": "approve"})
    assert r.status_code == 302
    asked.refresh_from_db()
    assert asked.status == PassStatus.ACTIVE and asked.credential.startswith("GG1:")
    assert asked.pass_id not in c.get("/passes/requests/").content.decode()
    # Deciding twice answers the field's message and changes nothing.
    before = _state()
    r = c.post(f"/passes/{asked.pass_id}/decide/", {"decision": "refuse", "refuse_reason": "x"})
    assert r.status_code == 400 and 'id="err-status"' in r.content.decode()
    assert _state() == before


def test_refusing_needs_a_reason(city: City, login: Login, resident: Person) -> None:
    asked = _ask(city)
    c = login("committee_a1")
    before = _state()
    r = c.post(f"/passes/{asked.pass_id}/decide/", {"decision": "refuse", "refuse_reason": ""})
    assert r.status_code == 400 and 'id="err-refuse_reason"' in r.content.decode()
    r = c.post(f"/passes/{asked.pass_id}/decide/", {"decision": "maybe"})
    assert r.status_code == 400 and 'id="err-decision"' in r.content.decode()
    assert _state() == before
    r = c.post(
        f"/passes/{asked.pass_id}/decide/", {"decision": "refuse", "refuse_reason": "no job"}
    )
    assert r.status_code == 302
    asked.refresh_from_db()
    assert asked.status == PassStatus.REFUSED and asked.refuse_reason == "no job"


def test_revoking_needs_a_reason(city: City, login: Login, resident: Person) -> None:
    entry_pass = _issue(city, resident)
    c = login("committee_a1")
    operator = login("operator_a")
    before = _state()
    r = c.post(f"/passes/{entry_pass.pass_id}/revoke/", {"reason": " "})
    assert r.status_code == 400 and 'id="err-reason"' in r.content.decode()
    assert operator.post(f"/passes/{entry_pass.pass_id}/revoke/").status_code == 403
    assert _state() == before
    r = c.post(f"/passes/{entry_pass.pass_id}/revoke/", {"reason": "moved out"})
    assert r.status_code == 302
    entry_pass.refresh_from_db()
    assert entry_pass.status == PassStatus.REVOKED and entry_pass.revoke_reason == "moved out"


# --------------------------------------------------------------------------- resident pages


def test_a_resident_sees_own_passes_and_asks_for_one(
    city: City, login: Login, resident: Person
) -> None:
    mine = _issue(city, resident)
    other = _issue(city, factories.person(city["compound_a1"], "钱多多"))
    c = login("resident_a1")
    html = c.get("/passes/me/").content.decode()
    assert f'data-pass="{mine.pass_id}"' in html and other.pass_id not in html
    assert f"/passes/me/{mine.pass_id}/" in html and 'id="request-form"' in html
    now = clock.now()
    r = c.post(
        "/passes/me/",
        {
            "compound": city["compound_a1"].code,
            "kind": "worker",
            "valid_from": _local(now),
            "valid_until": _local(now + dt.timedelta(days=14)),
            "reason": "back to work",
        },
    )
    assert r.status_code == 302
    asked = EntryPass.objects.get(status=PassStatus.REQUESTED)
    assert asked.person == resident and asked.kind == "worker"
    assert asked.pass_id in c.get("/passes/me/").content.decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "tourist"}, "kind"),
        ({"valid_until": "2020-01-01T08:00"}, "valid_until"),
        ({"kind": "visitor"}, "valid_until"),  # 14 days: too long for a visitor
        ({"compound": "310101002001C001"}, "compound"),  # not their compound
        ({"reason": ""}, "reason"),
        ({"valid_from": ""}, "valid_from"),
    ],
)
def test_bad_requests_name_the_field_and_change_nothing(
    city: City, login: Login, resident: Person, change: dict[str, str], field: str
) -> None:
    now = clock.now()
    data = {
        "compound": city["compound_a1"].code,
        "kind": "worker",
        "valid_from": _local(now),
        "valid_until": _local(now + dt.timedelta(days=14)),
        "reason": "back to work",
    }
    data.update(change)
    c = login("resident_a1")
    before = _state()
    r = c.post("/passes/me/", data, **EN)
    assert r.status_code == 400
    assert f'id="err-{field}"' in r.content.decode()
    assert _state() == before


def test_a_second_request_is_refused_on_the_page(
    city: City, login: Login, resident: Person
) -> None:
    _ask(city)
    now = clock.now()
    c = login("resident_a1")
    before = _state()
    r = c.post(
        "/passes/me/",
        {
            "compound": city["compound_a1"].code,
            "kind": "worker",
            "valid_from": _local(now),
            "valid_until": _local(now + dt.timedelta(days=3)),
            "reason": "again",
        },
    )
    assert r.status_code == 400 and 'id="err-compound"' in r.content.decode()
    assert _state() == before


def test_a_login_without_a_person_is_told_so(city: City, login: Login) -> None:
    r = login("resident_a1").get("/passes/me/", **EN)
    assert r.status_code == 200
    assert "not linked to a person record" in r.content.decode()


def test_the_phone_display_shows_a_fresh_short_lived_qr(
    city: City, login: Login, resident: Person
) -> None:
    entry_pass = _issue(city, resident, gates=[city["gate_a1"]])
    c = login("resident_a1")
    r = c.get(f"/passes/me/{entry_pass.pass_id}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert '<svg viewBox="0 0' in html and 'class="pass-qr"' in html
    assert 'hx-trigger="every 30s"' in html
    assert f'hx-get="/passes/me/{entry_pass.pass_id}/display/"' in html
    assert 'id="pass-clock"' in html and "王*芳" in html and "王小芳" not in html
    text = _data_credential(html)
    assert text != entry_pass.credential
    assert str(views.qr_svg(text)) in html  # the QR drawn is the credential in the attribute
    now = int(clock.now().timestamp())
    verdict = credential.verify(text, keys.trust_list(), now=now, compound=city["compound_a1"].code)
    assert verdict.ok, verdict
    assert verdict.claims is not None
    assert verdict.claims.expires_at - verdict.claims.issued_at <= credential.DISPLAY_LIFETIME
    assert AuditEntry.objects.filter(action="read", object_id=str(resident.pk)).exists()
    # The fragment htmx fetches: a new credential once the clock has moved on.
    later = clock.now() + dt.timedelta(seconds=30)
    with clock.frozen(later):
        fragment = c.get(f"/passes/me/{entry_pass.pass_id}/display/")
    assert fragment["Cache-Control"] == "no-store"
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="pass-display"')
    assert _data_credential(body) != text


def test_the_display_stops_when_the_pass_is_revoked(
    city: City, login: Login, resident: Person
) -> None:
    entry_pass = _issue(city, resident)
    passes.revoke_pass(city.users["committee_a1"], entry_pass, "moved out")
    body = (
        login("resident_a1").get(f"/passes/me/{entry_pass.pass_id}/display/", **EN).content.decode()
    )
    assert "data-credential" not in body and "hx-trigger" not in body  # polling ends
    assert 'id="pass-problem"' in body and "not active" in body


def test_only_the_holder_opens_the_display(city: City, login: Login, resident: Person) -> None:
    someone = _issue(city, factories.person(city["compound_a1"]))
    c = login("resident_a1")
    assert c.get(f"/passes/me/{someone.pass_id}/").status_code == 404
    assert c.get(f"/passes/me/{someone.pass_id}/display/").status_code == 404
    assert c.get(f"/passes/{someone.pass_id}/card/").status_code == 404
    mine = _issue(city, resident)
    assert login("committee_a1").get(f"/passes/me/{mine.pass_id}/").status_code == 404


def test_the_paper_card_carries_the_stored_credential(
    city: City, login: Login, resident: Person
) -> None:
    entry_pass = _issue(city, resident)
    for username in ("committee_a1", "resident_a1"):
        r = login(username).get(f"/passes/{entry_pass.pass_id}/card/")
        html = r.content.decode()
        assert r.status_code == 200, username
        assert _data_credential(html) == entry_pass.credential
        assert str(views.qr_svg(entry_pass.credential)) in html
        assert 'class="pass-qr"' in html and "@page" in html and "A6" in html
        assert "王*芳" in html and "王小芳" not in html and resident.id_number not in html
    assert AuditEntry.objects.filter(action="read", object_id=str(resident.pk)).count() == 2
    asked = _ask(city)
    html = login("committee_a1").get(f"/passes/{asked.pass_id}/card/").content.decode()
    assert 'id="not-printable"' in html and "data-credential" not in html


def test_an_expired_session_sends_the_phone_to_the_login_page(city: City, resident: Person) -> None:
    entry_pass = _issue(city, resident)
    url = f"/passes/me/{entry_pass.pass_id}/display/"
    r = Client().get(url, HTTP_HX_REQUEST="true")
    # htmx loads the login page as the whole page, not inside the QR's box.
    assert r.status_code == 204
    assert r["HX-Redirect"] == f"/accounts/login/?next=/passes/me/{entry_pass.pass_id}/"
    r = Client().get(url)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_list_pages_make_the_same_queries_for_few_or_many_passes(
    city: City, login: Login, resident: Person
) -> None:
    c = login("committee_a1")
    counts = []
    for n in (2, 12):
        while EntryPass.objects.filter(status=PassStatus.ACTIVE).count() < n:
            _issue(city, resident)
        for url in ("/passes/", "/passes/requests/"):
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(url).status_code == 200
            counts.append(len(ctx.captured_queries))
    assert counts[:2] == counts[2:], counts
