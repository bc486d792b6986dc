"""The people API: search, one person (masked, audited), PATCH, duplicates, merges."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.accounts.services import issue_token
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people.models import DuplicatePair, DuplicateStatus, Household, Person, PersonMerge
from tests import factories
from tests.conftest import City

pytestmark = pytest.mark.django_db
Login = Callable[[str], Client]
API = "/api/v1/people"


def _patch(c: Client, path: str, body: dict[str, Any]) -> Any:
    return c.patch(path, data=json.dumps(body), content_type="application/json")


def _post(c: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return c.post(path, data=json.dumps(body or {}), content_type="application/json")


def _person(city: City, **extra: object) -> Person:
    return factories.person(city["compound_a1"], name="黄磊", phone="13611112222", **extra)


def test_list_is_scoped_searchable_and_masked(city: City, login: Login) -> None:
    p = _person(city)
    b = factories.person(city["compound_b1"], name="黄磊")
    r = login("operator_a").get(f"{API}/persons", {"q": "黄磊"})
    assert r.status_code == 200
    ids = [row["id"] for row in r.json()["results"]]
    assert ids == [p.pk] and b.pk not in ids
    row = r.json()["results"][0]
    assert row["id_number"] == p.id_number[:4] + "*" * 10 + p.id_number[-4:]
    assert row["phone"] == "13611112222"
    by_id = login("committee_a1").get(f"{API}/persons", {"q": p.id_number}).json()["results"]
    assert by_id[0]["id_number"] == p.id_number


def test_detail_is_audited_and_out_of_scope_is_404(city: City, login: Login) -> None:
    p = _person(city)
    factories.person(city["compound_a1"], name="黄小明", household=None)
    hh = Household.objects.create(area=city["building_a1"], room="302")
    Person.objects.filter(pk=p.pk).update(household=hh)
    mate = factories.person(city["building_a1"], name="黄妈妈", household=hh)
    r = login("health_a").get(f"{API}/persons/{p.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["id_number"] == p.id_number and body["household_member_ids"] == [mate.pk]
    assert AuditEntry.objects.filter(action="read", object_id=str(p.pk)).count() == 1
    b = factories.person(city["compound_b1"])
    r = login("health_a").get(f"{API}/persons/{b.pk}")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "not_found"
    assert login("pharmacist_a1").get(f"{API}/persons/{p.pk}").status_code == 403
    assert Client().get(f"{API}/persons").status_code == 401


def test_patch_changes_only_the_sent_fields(city: City, login: Login) -> None:
    p = _person(city)
    c = login("committee_a1")
    r = _patch(c, f"{API}/persons/{p.pk}", {"phone": "+86 137 0000 1111"})
    assert r.status_code == 200, r.content
    p.refresh_from_db()
    assert (p.phone, p.name) == ("13700001111", "黄磊")
    hh = Household.objects.create(area=city["building_a1"], room="101")
    r = _patch(
        c, f"{API}/persons/{p.pk}", {"household_id": hh.pk, "area_code": "310101001001C001B001"}
    )
    assert r.status_code == 200, r.content
    assert r.json()["household_id"] == hh.pk and r.json()["area_code"] == "310101001001C001B001"
    r = _patch(c, f"{API}/persons/{p.pk}", {"household_id": None})
    assert r.json()["household_id"] is None


def test_patch_bad_input_names_each_field_and_writes_nothing(city: City, login: Login) -> None:
    p = _person(city)
    hh_b = Household.objects.create(area=city["building_b1"], room="1")
    r = _patch(
        login("committee_a1"),
        f"{API}/persons/{p.pk}",
        {
            "name": " ",
            "phone": "123",
            "area_code": city["compound_b1"].code,
            "household_id": hh_b.pk,
        },
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"name", "phone", "area", "household"}
    p.refresh_from_db()
    assert (p.name, p.phone, p.area_id) == ("黄磊", "13611112222", city["compound_a1"].pk)
    assert _patch(login("operator_a"), f"{API}/persons/{p.pk}", {"name": "x"}).status_code == 403


def test_decide_not_duplicate_and_merge_then_undo(city: City, login: Login) -> None:
    a = _person(city)
    b = _person(city, id_type="passport", id_number="E55555555")
    factories.followup(b, b.area)
    pair = DuplicatePair.objects.create(first=a, second=b, reason="phone")
    c = login("committee_a1")
    listed = c.get(f"{API}/duplicates").json()["results"]
    assert [x["id"] for x in listed] == [pair.pk]
    r = _post(c, f"{API}/duplicates/{pair.pk}/decide", {"decision": "merge", "survivor": b.pk})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == DuplicateStatus.MERGED
    record = PersonMerge.objects.get()
    assert (record.survivor_id, record.merged_id) == (b.pk, a.pk)
    merges = c.get(f"{API}/merges").json()["results"]
    assert merges[0]["id"] == record.pk
    r = _post(c, f"{API}/merges/{record.pk}/undo")
    assert r.status_code == 200 and r.json()["undone_at"]
    again = _post(c, f"{API}/merges/{record.pk}/undo")
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "undone"
    r = _post(c, f"{API}/duplicates/{pair.pk}/decide", {"decision": "not_duplicate"})
    assert r.json()["status"] == DuplicateStatus.NOT_DUPLICATE


def test_decide_bad_input_and_permissions(city: City, login: Login) -> None:
    a = _person(city)
    b = _person(city)
    pair = DuplicatePair.objects.create(first=a, second=b, reason="phone")
    c = login("committee_a1")
    r = _post(c, f"{API}/duplicates/{pair.pk}/decide", {"decision": "perhaps"})
    assert r.status_code == 422
    r = _post(c, f"{API}/duplicates/{pair.pk}/decide", {"decision": "merge"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "force"
    r = _post(
        c,
        f"{API}/duplicates/{pair.pk}/decide",
        {"decision": "merge", "survivor": a.pk, "force": True, "reason": "证件号录错"},
    )
    assert r.status_code == 200
    assert (
        _post(
            login("operator_a"), f"{API}/duplicates/{pair.pk}/decide", {"decision": "merge"}
        ).status_code
        == 403
    )
    r = _post(login("committee_b1"), f"{API}/duplicates/{pair.pk}/decide", {"decision": "merge"})
    assert r.status_code == 404


def test_device_tokens_have_no_access_to_the_registry(city: City) -> None:
    p = _person(city)
    _token, secret = issue_token(SYSTEM, name="sync", purpose="integration", area=city["street_a"])
    c = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    r = c.get(f"{API}/persons")
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "forbidden"
    assert c.get(f"{API}/persons/{p.pk}").status_code == 403
