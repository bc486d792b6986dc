"""The registry pages: search, detail (masked, audited), edit, duplicates queue, merges."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people import merging
from gridguard.people.models import DuplicatePair, DuplicateStatus, Person, PersonMerge
from tests import factories
from tests.conftest import City

pytestmark = pytest.mark.django_db
Login = Callable[[str], Client]


def _person(city: City, **extra: object) -> Person:
    return factories.person(city["compound_a1"], name="陈静", phone="13912345678", **extra)


def _rows(body: str) -> str:
    """The result table only (the search box and language form echo the query)."""
    return body[body.index("<tbody>") : body.index("</tbody>")]


def test_search_by_name_id_and_phone_masks_for_operators(city: City, login: Login) -> None:
    p = _person(city)
    other = factories.person(city["compound_b1"], name="陈静")  # street B: never shown to A
    op = login("operator_a")
    for q in ("陈", p.id_number, "139 1234 5678"):
        rows = _rows(op.get("/people/", {"q": q}).content.decode())
        assert f"/people/{p.pk}/" in rows, q
        assert f"/people/{other.pk}/" not in rows, q
        assert p.id_number not in rows  # operators see the ID masked
        assert p.id_number[:4] + "*" * 10 + p.id_number[-4:] in rows
        assert "13912345678" in rows  # operators may see phones
    # A partial ID number does not match (no fishing for numbers).
    rows = _rows(op.get("/people/", {"q": p.id_number[:10]}).content.decode())
    assert f"/people/{p.pk}/" not in rows
    assert f"/people/{other.pk}/" in _rows(login("operator_b").get("/people/").content.decode())


def test_committee_worker_sees_the_full_id_and_the_read_is_audited(
    city: City, login: Login
) -> None:
    p = _person(city)
    factories.followup(p, p.area, summary="自武汉返回")
    body = login("committee_a1").get(f"/people/{p.pk}/").content.decode()
    assert p.id_number in body
    assert "自武汉返回" in body
    entry = AuditEntry.objects.filter(action="read", object_id=str(p.pk)).get()
    assert "id_number" in entry.detail["fields"]


def test_detail_outside_the_area_is_404_and_volunteers_are_refused(
    city: City, login: Login
) -> None:
    b = factories.person(city["compound_b1"])
    assert login("committee_a1").get(f"/people/{b.pk}/").status_code == 404
    assert login("committee_a1").get("/people/999999/").status_code == 404
    assert login("volunteer_a1").get("/people/").status_code == 403
    assert Client().get("/people/").status_code == 302


def test_edit_saves_and_names_the_bad_field(city: City, login: Login) -> None:
    p = _person(city)
    c = login("committee_a1")
    bad = c.post(
        f"/people/{p.pk}/edit/",
        {"name": "陈静", "phone": "12345", "address": "x", "area": city["compound_a1"].code},
    )
    assert bad.status_code == 422
    assert 'data-field="phone"' in bad.content.decode()
    p.refresh_from_db()
    assert p.phone == "13912345678"
    ok = c.post(
        f"/people/{p.pk}/edit/",
        {
            "name": "陈静",
            "phone": "13700001111",
            "address": "贵州路1号",
            "area": city["building_a1"].code,
        },
    )
    assert ok.status_code == 302
    p.refresh_from_db()
    assert (p.phone, p.address, p.area_id) == ("13700001111", "贵州路1号", city["building_a1"].pk)
    entry = AuditEntry.objects.get(action="person.update", object_id=str(p.pk))
    assert sorted(entry.detail["fields"]) == ["address", "area", "phone"]
    assert "13700001111" not in str(entry.detail)


def test_edit_refuses_a_place_in_another_street_and_operators(city: City, login: Login) -> None:
    p = _person(city)
    c = login("committee_a1")
    r = c.post(
        f"/people/{p.pk}/edit/",
        {"name": "陈静", "phone": "", "address": "", "area": city["compound_b1"].code},
    )
    assert r.status_code == 422 and 'data-field="area"' in r.content.decode()
    r = c.post(f"/people/{p.pk}/edit/", {"name": "", "phone": "", "address": "", "area": "nope"})
    body = r.content.decode()
    assert 'data-field="name"' in body and 'data-field="area"' in body
    assert login("operator_a").get(f"/people/{p.pk}/edit/").status_code == 403


def _pair(city: City) -> DuplicatePair:
    a = _person(city)
    b = _person(city, id_type="passport", id_number="E12312312")
    return DuplicatePair.objects.create(first=a, second=b, reason="phone")


def test_duplicates_queue_side_by_side_and_not_a_duplicate(city: City, login: Login) -> None:
    pair = _pair(city)
    c = login("committee_a1")
    body = c.get("/people/duplicates/").content.decode()
    assert f'data-pair="{pair.pk}"' in body
    assert pair.first.id_number in body and "E12312312" in body
    assert (
        body.count("Merge into this one")
        + body.count("合并到此记录")
        + body.count('name="survivor"')
        >= 2
    )
    assert c.get(f"/people/duplicates/{pair.pk}/decide/").status_code == 405
    r = c.post(f"/people/duplicates/{pair.pk}/decide/", {"decision": "not_duplicate"})
    assert r.status_code == 302
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.NOT_DUPLICATE
    assert f'data-pair="{pair.pk}"' not in c.get("/people/duplicates/").content.decode()


def test_merge_from_the_queue_then_undo_from_history(city: City, login: Login) -> None:
    pair = _pair(city)
    factories.followup(pair.second, pair.second.area)
    c = login("committee_a1")
    r = c.post(
        f"/people/duplicates/{pair.pk}/decide/",
        {"decision": "merge", "survivor": str(pair.first_id)},
    )
    assert r.status_code == 302
    record = PersonMerge.objects.get()
    assert record.survivor_id == pair.first_id
    assert pair.first.followups.count() == 1
    history = c.get("/people/merges/").content.decode()
    assert f'data-merge="{record.pk}"' in history and f"/people/merges/{record.pk}/undo/" in history
    assert c.post(f"/people/merges/{record.pk}/undo/").status_code == 302
    record.refresh_from_db()
    assert record.undone_at is not None
    assert pair.second.followups.count() == 1


def test_merge_refusal_shows_the_message_and_writes_nothing(city: City, login: Login) -> None:
    a = _person(city)
    b = _person(city)  # two valid resident IDs
    pair = DuplicatePair.objects.create(first=a, second=b, reason="phone")
    c = login("committee_a1")
    r = c.post(
        f"/people/duplicates/{pair.pk}/decide/",
        {"decision": "merge", "survivor": str(a.pk)},
        follow=True,
    )
    assert r.status_code == 200
    assert not PersonMerge.objects.exists()
    assert len(list(r.context["messages"])) == 1


def test_operators_see_the_queue_but_cannot_decide(city: City, login: Login) -> None:
    pair = _pair(city)
    op = login("operator_a")
    body = op.get("/people/duplicates/").content.decode()
    assert f'data-pair="{pair.pk}"' in body and 'name="survivor"' not in body
    r = op.post(f"/people/duplicates/{pair.pk}/decide/", {"decision": "not_duplicate"})
    assert r.status_code == 403
    record = merging.merge(SYSTEM, (pair.first, pair.second))
    assert op.post(f"/people/merges/{record.pk}/undo/").status_code == 403
    assert login("committee_b1").post(f"/people/merges/{record.pk}/undo/").status_code == 404


def test_csrf_is_required_on_decide(city: City) -> None:
    pair = _pair(city)
    c = Client(enforce_csrf_checks=True)
    c.force_login(city.users["committee_a1"])
    r = c.post(f"/people/duplicates/{pair.pk}/decide/", {"decision": "not_duplicate"})
    assert r.status_code == 403
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN


def test_committee_worker_puts_a_person_in_a_rooms_household(city: City, login: Login) -> None:
    from gridguard.people.models import Household

    a = factories.person(city["building_a1"], name="王甲")
    b = factories.person(city["building_a1"], name="王乙")
    c = login("committee_a1")
    assert 'id="settle-form"' in c.get(f"/people/{a.pk}/").content.decode()
    c.post(f"/people/{a.pk}/household/", {"room": "502"})
    c.post(f"/people/{b.pk}/household/", {"room": "502"})
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.household is not None and a.household_id == b.household_id
    assert Household.objects.get().area == city["building_a1"]
    # Bad input changes nothing; another street's worker cannot reach the person.
    c.post(f"/people/{a.pk}/household/", {"room": " "})
    a.refresh_from_db()
    assert a.household_id == b.household_id
    assert (
        login("committee_b1").post(f"/people/{a.pk}/household/", {"room": "1"}).status_code == 404
    )
    assert login("operator_a").post(f"/people/{a.pk}/household/", {"room": "1"}).status_code == 403
