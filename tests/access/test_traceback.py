"""Trace-back (A4): exact contacts on a hand-built gate log, scoping, validation, audit,
exports masked by role, follow-ups once per contact at the right committee, pages and API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from gridguard.access.models import EntryPass, GateEvent, GateVisitor, TraceBack
from gridguard.access.selectors import traceback as selectors
from gridguard.access.services import traceback as services
from gridguard.accounts import services as accounts
from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import FollowUpTask
from gridguard.people.models import Household, Person
from gridguard.territory import services as territory
from tests import factories
from tests.conftest import PASSWORD, City

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2020, 2, 10, 9, 0, tzinfo=dt.UTC)
T0 = dt.datetime(2020, 2, 5, 8, 0, tzinfo=dt.UTC)  # the subject at the north gate
T1 = dt.datetime(2020, 2, 6, 18, 0, tzinfo=dt.UTC)  # the subject at the east gate (old pass)
START = dt.datetime(2020, 2, 3, 0, 0, tzinfo=dt.UTC)
END = dt.datetime(2020, 2, 10, 0, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)


@dataclass
class Log:
    """The hand-built world: who is who, and which of them are contacts."""

    city: City
    subject: Person
    pass_new: EntryPass
    pass_old: EntryPass
    people: dict[str, Person]
    east_gate: Any
    other_building: Any


def _pass(person: Person, compound: Any, pass_id: str) -> EntryPass:
    return EntryPass.objects.create(
        area=compound,
        person=person,
        pass_id=pass_id,
        kind="resident",
        status="active",
        valid_from=NOW - dt.timedelta(days=30),
        valid_until=NOW + dt.timedelta(days=30),
    )


def _scan(
    gate: Any, at: dt.datetime, person: Person | None = None, entry_pass: EntryPass | None = None
) -> GateEvent:
    return GateEvent.objects.create(
        area=gate,
        person=person,
        entry_pass=entry_pass,
        verdict="ok" if person or entry_pass else "malformed",
        scanned_at=at,
    )


def _build(city: City) -> Log:
    compound = city["compound_a1"]
    east = territory.create_area(
        SYSTEM, code=compound.code + "G02", name="A小区东门", kind="gate", parent=compound
    )
    other_building = territory.create_area(
        SYSTEM, code=compound.code + "B002", name="A小区2号楼", kind="building", parent=compound
    )
    building = city["building_a1"]
    home = Household.objects.create(area=building, room="301", address="1号楼301室")
    next_door = Household.objects.create(area=building, room="302", address="1号楼302室")
    people: dict[str, Person] = {}

    def make(key: str, area: Any, **extra: Any) -> Person:
        n = len(people) + 1
        people[key] = factories.person(area, f"联系人{key}", phone=f"139{n:08d}", **extra)
        return people[key]

    subject = factories.person(building, "王病例", household=home, phone="13700000000")
    make("spouse", building, household=home)
    make("neighbour", building, household=next_door)
    make("upstairs", building)  # lives in the building, no household on record
    make("elsewhere", other_building)  # the compound's other building: not a resident contact
    make("near", city["compound_a2"])  # 10 min after, and exactly 15 min before
    make("late", city["compound_a2"])  # 16 min after: outside the gap
    make("other_gate", city["compound_a2"])  # the east gate at T0: another gate
    make("street_b", city["compound_b1"])  # lives in street B
    make("pass_only", city["compound_a2"])  # scanned by pass, no person on the event
    make("old_pass", city["compound_a2"])  # near the subject's scan with the old pass
    make("outside", city["compound_a2"])  # near a scan of the subject before the window
    make("visitor", city["compound_a2"])  # a visitor who showed an ID card
    pass_new = _pass(subject, compound, "NEWPASS001")
    pass_old = _pass(subject, compound, "OLDPASS001")
    holder_pass = _pass(people["pass_only"], city["compound_a2"], "HOLDER0001")
    gate = city["gate_a1"]
    p = people
    _scan(gate, T0, subject, pass_new)
    _scan(gate, T0 + 10 * M, p["near"])
    _scan(gate, T0 - 15 * M, p["near"])  # the boundary counts
    _scan(gate, T0 + 16 * M, p["late"])
    _scan(east, T0 + 5 * M, p["other_gate"])
    _scan(gate, T0 + 3 * M, p["street_b"])
    _scan(gate, T0 + 7 * M, entry_pass=holder_pass)
    _scan(gate, T0 + 1 * M)  # a malformed scan: nobody to contact
    _scan(gate, T0 + 2 * M, p["spouse"])  # the spouse came in with the subject
    _scan(east, T1, subject, pass_old)
    _scan(east, T1 + 4 * M, p["old_pass"])
    _scan(gate, START - dt.timedelta(days=2), subject, pass_new)
    _scan(gate, START - dt.timedelta(days=2) + M, p["outside"])
    GateVisitor.objects.create(
        area=gate,
        name="李访客",
        phone="13600000001",
        purpose="探亲",
        host_household=home,
        time_in=T0 + dt.timedelta(hours=3),
    )
    GateVisitor.objects.create(
        area=gate,
        name="李访客",
        phone="13600000001",
        purpose="送菜",
        host_household=home,
        time_in=T1 + dt.timedelta(hours=1),
    )
    GateVisitor.objects.create(
        area=east,
        name=p["visitor"].name,
        phone=p["visitor"].phone,
        purpose="探望",
        host_person=subject,
        person=p["visitor"],
        time_in=T1 + dt.timedelta(hours=2),
    )
    GateVisitor.objects.create(  # the neighbours' visitor
        area=gate, name="邻居访客", phone="13600000002", purpose="探亲", host_household=next_door
    )
    GateVisitor.objects.create(  # before the window
        area=gate,
        name="早访客",
        phone="13600000003",
        purpose="探亲",
        host_household=home,
        time_in=START - dt.timedelta(hours=1),
    )
    return Log(city, subject, pass_new, pass_old, people, east, other_building)


@pytest.fixture
def log(city: City) -> Log:
    with clock.frozen(NOW):
        return _build(city)


def _run(log: Log, who: str = "health_a", **extra: Any) -> tuple[TraceBack, Any]:
    fields: dict[str, Any] = {
        "person": log.subject,
        "window_start": START,
        "window_end": END,
        "gap_minutes": 15,
        "reason": "确诊病例流调",
    }
    fields.update(extra)
    with clock.frozen(NOW):
        return services.run_traceback(log.city.users[who], **fields)


def _ids(log: Log, *keys: str) -> set[int]:
    return {log.people[k].pk for k in keys}


def test_gate_contacts_are_exact(log: Log) -> None:
    tb, result = _run(log)
    got = {c.person_id: c for c in result.gate}
    assert set(got) == _ids(log, "near", "street_b", "pass_only", "spouse", "old_pass")
    near = got[log.people["near"].pk]
    assert near.encounters == 2
    assert near.first_at == T0 - 15 * M and near.last_at == T0 + 10 * M
    assert near.gates == ["A1小区北门"]
    assert got[log.people["old_pass"].pk].gates == ["A小区东门"]
    assert got[log.people["spouse"].pk].same_household
    assert result.subject_events == 2
    assert tb.counts == {
        "subject_events": 2,
        "gate_contacts": 5,
        "same_building": 3,
        "visitors": 2,
    }


def test_a_narrower_gap_finds_fewer(log: Log) -> None:
    _tb, result = _run(log, gap_minutes=5)
    assert {c.person_id for c in result.gate} == _ids(log, "street_b", "spouse", "old_pass")


def test_by_pass_follows_only_that_pass(log: Log) -> None:
    tb, result = _run(log, person=None, entry_pass=log.pass_new)
    assert tb.person == log.subject and tb.entry_pass == log.pass_new
    assert {c.person_id for c in result.gate} == _ids(
        log, "near", "street_b", "pass_only", "spouse"
    )
    assert result.subject_events == 1
    # The building and the visitors are the holder's.
    assert len(result.residents) == 3 and len(result.visitors) == 2
    with pytest.raises(InvalidInput) as caught:
        _run(log, person=log.people["near"], entry_pass=log.pass_new)
    assert "entry_pass" in caught.value.by_field()


def test_same_building_and_household(log: Log) -> None:
    _tb, result = _run(log)
    residents = {c.person_id: c for c in result.residents}
    assert set(residents) == _ids(log, "spouse", "neighbour", "upstairs")
    assert residents[log.people["spouse"].pk].same_household
    assert not residents[log.people["neighbour"].pk].same_household
    assert result.residents[0].person_id == log.people["spouse"].pk  # household first
    assert result.building == log.city["building_a1"]


def test_visitors_of_the_household_in_the_window(log: Log) -> None:
    _tb, result = _run(log)
    by_name = {c.name: c for c in result.visitors}
    assert set(by_name) == {"李访客", log.people["visitor"].name}
    unknown = by_name["李访客"]
    assert unknown.person_id is None and unknown.encounters == 2
    assert unknown.first_at == T0 + dt.timedelta(hours=3)
    known = by_name[log.people["visitor"].name]
    assert known.person_id == log.people["visitor"].pk and known.gates == ["A小区东门"]
    assert result.person_ids(["visitor"]) == [log.people["visitor"].pk]


def test_both_query_paths_agree(log: Log) -> None:
    args: dict[str, Any] = {
        "person_id": log.subject.pk,
        "entry_pass_id": None,
        "start": START,
        "end": END,
        "gap": dt.timedelta(minutes=15),
    }
    portable = selectors._gate_contacts_portable(*args.values())
    assert portable[0] == 2
    assert {h.person_id: h.encounters for h in portable[1]}[log.people["near"].pk] == 2
    if connection.vendor == "postgresql":
        native = selectors._gate_contacts_pg(*args.values())
        key = sorted((h.person_id, h.first_at, h.last_at, h.encounters) for h in native[1])
        assert native[0] == portable[0]
        assert key == sorted(
            (h.person_id, h.first_at, h.last_at, h.encounters) for h in portable[1]
        )


def test_scope_and_permission(log: Log) -> None:
    for who in ("health_b", "operator_b", "committee_b1"):
        with pytest.raises(OutOfScope):
            _run(log, who)
    with pytest.raises(NotPermitted):
        _run(log, "volunteer_a1")
    assert not TraceBack.objects.exists()
    tb, _result = _run(log, "committee_a1")
    with pytest.raises(OutOfScope):
        selectors.traceback_for(log.city.users["health_b"], tb.pk)
    assert selectors.traceback_for(log.city.users["operator_a"], tb.pk) == tb
    assert list(selectors.tracebacks_visible_to(log.city.users["operator_b"])) == []


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"reason": "  "}, "reason", "required"),
        ({"window_end": START + dt.timedelta(days=29)}, "window_end", "too_long"),
        ({"window_end": START - M}, "window_end", "before_start"),
        ({"window_start": NOW + M, "window_end": NOW + 2 * M}, "window_start", "future"),
        ({"gap_minutes": 0}, "gap_minutes", "out_of_range"),
        ({"person": None}, "person", "required"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    log: Log, extra: dict[str, Any], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _run(log, **extra)
    assert [e.code for e in caught.value.errors if e.field == field] == [code]
    assert not TraceBack.objects.exists()
    assert not AuditEntry.objects.filter(action="access.traceback.run").exists()


def test_a_window_of_exactly_28_days_is_accepted(log: Log) -> None:
    tb, _result = _run(log, window_start=END - dt.timedelta(days=28))
    assert tb.pk


def test_the_run_is_audited_with_reason_and_counts(log: Log) -> None:
    tb, _result = _run(log)
    row = AuditEntry.objects.get(action="access.traceback.run")
    assert row.object_id == str(tb.pk) and row.actor_id == log.city.users["health_a"].pk
    assert row.detail["reason"] == "确诊病例流调"
    assert row.detail["counts"]["gate_contacts"] == 5
    assert row.area_path == log.subject.area.path
    assert tb.requested_by == log.city.users["health_a"]


def test_contacts_outside_the_readers_territory_are_masked(log: Log) -> None:
    _tb, result = _run(log)
    reader = log.city.users["committee_a1"]  # covers committee A1 only
    rows = {c.person_id: selectors.present(reader, c) for c in result.contacts()}
    inside = rows[log.people["spouse"].pk]
    assert inside["in_scope"] and inside["name"] == "联系人spouse"
    assert inside["id_number"] == log.people["spouse"].id_number  # committee: full numbers
    assert inside["phone"] == log.people["spouse"].phone
    for key in ("near", "street_b"):  # committee A2, street B
        far = rows[log.people[key].pk]
        assert not far["in_scope"]
        assert far["name"] != log.people[key].name and "*" in far["name"]
        assert "*" in far["phone"] and "*" in far["id_number"]
    wide = selectors.present(log.city.users["health_a"], result.gate[0])
    assert wide["in_scope"]


def _csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_export_is_masked_by_role_and_audited(log: Log, login: Callable[[str], Client]) -> None:
    tb, _result = _run(log)
    subject_area = log.subject.area
    spouse = log.people["spouse"]
    by_role: dict[str, dict[str, str]] = {}
    for who in ("committee_a1", "operator_a"):
        response = login(who).get(f"/traceback/{tb.pk}/export.csv")
        assert response.status_code == 200, who
        rows = _csv(response)
        assert len(rows) == 5 + 3 + 2 and response["X-Row-Count"] == "10"
        by_role[who] = next(r for r in rows if r["person_id"] == str(spouse.pk))
    assert by_role["committee_a1"]["id_number"] == spouse.id_number
    assert by_role["operator_a"]["id_number"] != spouse.id_number
    assert "*" in by_role["operator_a"]["id_number"]
    assert by_role["operator_a"]["phone"] == spouse.phone  # the operator may see phones
    xlsx: Any = login("health_a").get(f"/traceback/{tb.pk}/export.xlsx")
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    exports = AuditEntry.objects.filter(action="access.traceback.export")
    assert exports.count() == 3
    assert spouse.pk in exports.first().detail["contacts"]  # type: ignore[union-attr]
    assert subject_area.path == exports.first().area_path  # type: ignore[union-attr]
    grid = accounts.create_user(
        SYSTEM,
        username="grid_a1",
        password=PASSWORD,
        bindings=[("grid_worker", log.city["committee_a1"])],
        validate=False,
    )
    c = Client()
    c.force_login(grid)
    assert c.get(f"/traceback/{tb.pk}/export.csv").status_code == 403
    assert login("health_b").get(f"/traceback/{tb.pk}/export.csv").status_code == 404


def test_followups_once_per_contact_at_the_contacts_committee(log: Log) -> None:
    tb, result = _run(log)
    actor = log.city.users["health_a"]
    with clock.frozen(NOW):
        tasks = services.open_traceback_followups(actor, tb)
        again = services.open_traceback_followups(actor, tb)
    known = result.person_ids()
    assert len(known) == 5 + 3 + 1 - 1  # the spouse is both a gate contact and a resident
    assert [t.pk for t in tasks] == [t.pk for t in again]
    assert FollowUpTask.objects.filter(kind="trace_contact").count() == len(known)
    task = {t.person_id: t for t in tasks}
    assert task[log.people["near"].pk].area == log.city["committee_a2"]
    assert task[log.people["street_b"].pk].area == log.city["committee_b1"]
    assert task[log.people["spouse"].pk].area == log.city["committee_a1"]
    assert task[log.people["near"].pk].source == f"traceback:{tb.pk}:{log.people['near'].pk}"
    assert "A1小区北门" in task[log.people["near"].pk].summary
    assert AuditEntry.objects.filter(action="followup.open").count() == len(known)
    tb.refresh_from_db()
    assert tb.counts["followups"] == len(known)
    with pytest.raises(InvalidInput):
        services.open_traceback_followups(actor, tb, [log.people["late"].pk])
    with pytest.raises(OutOfScope):
        services.open_traceback_followups(log.city.users["health_b"], tb)


def test_followups_for_some_sections_or_persons(log: Log) -> None:
    tb, _result = _run(log)
    actor = log.city.users["health_a"]
    with clock.frozen(NOW):
        visitors = services.open_traceback_followups(actor, tb, sections=["visitor"])
        named = services.open_traceback_followups(actor, tb, [log.people["near"].pk])
    assert [t.person_id for t in visitors] == [log.people["visitor"].pk]
    assert [t.person_id for t in named] == [log.people["near"].pk]


# --------------------------------------------------------------------------- pages


def _form(log: Log, **extra: str) -> dict[str, str]:
    data = {
        "person": log.subject.id_number,
        "pass_number": "",
        "window_start": "2020-02-03T08:00",
        "window_end": "2020-02-10T08:00",
        "gap_minutes": "15",
        "reason": "确诊病例流调",
    }
    data.update(extra)
    return data


def test_pages_run_show_and_follow_up(log: Log, login: Callable[[str], Client]) -> None:
    client = login("health_a")
    assert client.get("/traceback/").status_code == 200
    with clock.frozen(NOW):
        response = client.post("/traceback/", _form(log))
    assert response.status_code == 302
    tb = TraceBack.objects.get()
    assert response["Location"] == f"/traceback/{tb.pk}/"
    page = client.get(f"/traceback/{tb.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-section="gate"' in html and "联系人near" in html
    assert log.people["street_b"].name not in html  # outside street A's health centre: masked
    read = AuditEntry.objects.get(action="access.traceback.read")
    assert set(read.detail["contacts"]) >= _ids(log, "near", "spouse", "visitor")
    assert read.detail["unidentified"] == 1
    listing = client.get("/traceback/").content.decode()
    assert f'data-traceback="{tb.pk}"' in listing
    with clock.frozen(NOW):
        done = client.post(f"/traceback/{tb.pk}/followups/", {"section": ["gate"]})
    assert done.status_code == 302
    assert FollowUpTask.objects.filter(source__startswith=f"traceback:{tb.pk}:").count() == 5
    assert login("health_b").get(f"/traceback/{tb.pk}/").status_code == 404
    assert login("volunteer_a1").get("/traceback/").status_code == 403
    assert Client().get("/traceback/").status_code == 302  # to the login page


def test_page_by_pass_number_and_person_record_number(
    log: Log, login: Callable[[str], Client]
) -> None:
    client = login("committee_a1")
    with clock.frozen(NOW):
        by_pass = client.post("/traceback/", _form(log, person="", pass_number="newpass001"))
        by_pk = client.post("/traceback/", _form(log, person=str(log.subject.pk)))
    assert by_pass.status_code == 302 and by_pk.status_code == 302
    assert TraceBack.objects.filter(entry_pass=log.pass_new).count() == 1
    assert TraceBack.objects.filter(entry_pass__isnull=True, person=log.subject).count() == 1


def test_page_field_errors_beside_fields(log: Log, login: Callable[[str], Client]) -> None:
    client = login("health_a")
    with clock.frozen(NOW):
        bad = client.post(
            "/traceback/",
            _form(log, reason="", window_end="2020-03-10T08:00", gap_minutes="x"),
        )
        nobody = client.post("/traceback/", _form(log, person="110101199003074477"))
        elsewhere = login("health_b").post("/traceback/", _form(log))
        bad_time = client.post("/traceback/", _form(log, window_start="yesterday"))
    assert bad.status_code == 422
    html = bad.content.decode()
    for field in ("reason", "window_end", "gap_minutes"):
        assert f'id="err-{field}"' in html
        assert f'aria-describedby="err-{field}"' in html
    assert nobody.status_code == 422 and 'id="err-person"' in nobody.content.decode()
    assert elsewhere.status_code == 422 and 'id="err-person"' in elsewhere.content.decode()
    assert 'id="err-window_start"' in bad_time.content.decode()
    assert not TraceBack.objects.exists()


def test_pages_need_csrf(log: Log) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(log.city.users["health_a"])
    assert client.post("/traceback/", _form(log)).status_code == 403


# --------------------------------------------------------------------------- API

API = "/api/v1/access/tracebacks"


def _api_run(client: Client, log: Log, **extra: Any) -> Any:
    body: dict[str, Any] = {
        "id_number": log.subject.id_number,
        "window_start": START.isoformat(),
        "window_end": END.isoformat(),
        "gap_minutes": 15,
        "reason": "确诊病例流调",
    }
    body.update(extra)
    with clock.frozen(NOW):
        return client.post(API, body, content_type="application/json")


def test_api_run_read_and_follow_up(log: Log, login: Callable[[str], Client]) -> None:
    client = login("health_a")
    made = _api_run(client, log)
    assert made.status_code == 200, made.content
    tb_id = made.json()["id"]
    assert made.json()["counts"]["gate_contacts"] == 5
    first = client.get(f"{API}/{tb_id}?limit=4")
    assert first.status_code == 200
    data = first.json()
    assert data["total"] == 10 and len(data["contacts"]) == 4 and data["next_cursor"]
    seen = [c["person_id"] for c in data["contacts"]]
    cursor = data["next_cursor"]
    while cursor:
        page = client.get(f"{API}/{tb_id}", {"limit": 4, "cursor": cursor}).json()
        seen += [c["person_id"] for c in page["contacts"]]
        cursor = page["next_cursor"]
    assert len(seen) == 10
    assert AuditEntry.objects.filter(action="access.traceback.read").count() == 3
    assert client.get(API).json()["results"][0]["id"] == tb_id
    with clock.frozen(NOW):
        opened = client.post(
            f"{API}/{tb_id}/followups",
            {"person_ids": [log.people["near"].pk]},
            content_type="application/json",
        )
        twice = client.post(
            f"{API}/{tb_id}/followups",
            {"person_ids": [log.people["near"].pk]},
            content_type="application/json",
        )
    assert opened.status_code == 200, opened.content
    assert opened.json()["tasks"][0]["area_code"] == log.city["committee_a2"].code
    assert twice.json()["tasks"][0]["id"] == opened.json()["tasks"][0]["id"]


def test_api_errors_and_scope(log: Log, login: Callable[[str], Client]) -> None:
    client = login("health_a")
    no_reason = _api_run(client, log, reason="")
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    by_pass = _api_run(client, log, id_number=None, pass_id="OLDPASS001")
    assert by_pass.status_code == 200 and by_pass.json()["pass_id"] == "OLDPASS001"
    elsewhere = _api_run(login("health_b"), log)
    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["field"] == "person_id"
    assert _api_run(login("volunteer_a1"), log).status_code == 403
    assert _api_run(Client(), log).status_code == 401
    tb_id = by_pass.json()["id"]
    assert login("health_b").get(f"{API}/{tb_id}").status_code == 404
    assert client.get(f"{API}/{tb_id}?cursor=%%%").status_code == 422
    wrong = client.post(
        f"{API}/{tb_id}/followups", {"sections": ["street"]}, content_type="application/json"
    )
    assert wrong.status_code == 422


def test_page_queries_do_not_grow_with_the_contacts(
    log: Log, login: Callable[[str], Client]
) -> None:
    from django.test.utils import CaptureQueriesContext

    tb, _result = _run(log)
    client = login("health_a")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/traceback/{tb.pk}/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for n in range(10):
        extra = factories.person(log.city["compound_a2"], f"又一人{n}")
        _scan(log.city["gate_a1"], T0 + n * M, extra)
    after = count()
    assert after == before, (before, after)
    assert before <= 25
