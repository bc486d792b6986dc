"""Territory writes: areas keep the tree valid; responsible persons hand over; bad input
changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.territory import services as territory
from gridguard.territory.models import Area, Responsibility
from tests.conftest import City


def _fields(exc: pytest.ExceptionInfo[InvalidInput]) -> set[str | None]:
    return {e.field for e in exc.value.errors}


def test_area_path_and_depth(city: City) -> None:
    gate = city["gate_a1"]
    assert gate.path == "/3101/310101/310101001/310101001001/310101001001C001/310101001001C001G01/"
    assert gate.depth == 5
    assert gate.codes[-2] == "310101001001C001"


@pytest.mark.parametrize(
    ("code", "kind", "parent", "field"),
    [
        ("31010100", "street", "district", "code"),  # 8 digits, a street has 9
        ("310102001", "street", "district", "code"),  # not under its parent's code
        ("310101001001C00A", "compound", "committee_a1", "code"),
        ("310101001001X001", "compound", "committee_a1", "code"),  # wrong letter
        ("310101001001C001", "compound", "committee_a1", "code"),  # exists already
        ("310101001003", "compound", "street_a", "kind"),  # a compound under a street
        ("310101001001C001G09", "gate", "street_a", "kind"),
        ("310101009", "nonsense", "district", "kind"),
    ],
)
def test_bad_areas_are_refused_and_change_nothing(
    city: City, code: str, kind: str, parent: str, field: str
) -> None:
    before = Area.objects.count(), AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        territory.create_area(SYSTEM, code=code, name="X", kind=kind, parent=city[parent])
    assert field in _fields(exc)
    assert (Area.objects.count(), AuditEntry.objects.count()) == before


def test_empty_name_and_bad_boundary_are_named(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        territory.create_area(
            SYSTEM,
            code="310101001001C009",
            name="  ",
            kind="compound",
            parent=city["committee_a1"],
            boundary={"type": "Point", "coordinates": [121.4, 31.2]},
        )
    assert _fields(exc) == {"name", "boundary"}


def test_only_territory_editors_in_scope_may_add_areas(city: City) -> None:
    with pytest.raises(NotPermitted):
        territory.create_area(
            city.users["operator_a"],
            code="310101001001C009",
            name="新小区",
            kind="compound",
            parent=city["committee_a1"],
        )
    with pytest.raises(OutOfScope):
        territory.create_area(
            city.users["operator_a"],
            code="310101002001C009",
            name="新小区",
            kind="compound",
            parent=city["committee_b1"],
        )
    made = territory.create_area(
        city.users["admin"],
        code="310101001001C009",
        name="新小区",
        kind="compound",
        parent=city["committee_a1"],
    )
    assert AuditEntry.objects.filter(
        action="territory.area.create", object_id=str(made.pk)
    ).exists()


def test_update_refuses_code_changes(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        territory.update_area(SYSTEM, city["compound_a1"], code="310101001001C777")
    assert _fields(exc) == {"code"}
    territory.update_area(SYSTEM, city["compound_a1"], name="贵州新村", households=420)
    city["compound_a1"].refresh_from_db()
    assert (city["compound_a1"].name, city["compound_a1"].households) == ("贵州新村", 420)


def test_responsible_person_hands_over(city: City) -> None:
    gate = city["gate_a1"]
    first = territory.set_responsible(
        SYSTEM,
        area=gate,
        kind="gate_chief",
        person_name="王建国",
        phone="13800138000",
        since=dt.date(2020, 2, 1),
    )
    second = territory.set_responsible(
        SYSTEM,
        area=gate,
        kind="gate_chief",
        person_name="李卫东",
        phone="021-63212345",
        since=dt.date(2020, 2, 10),
    )
    first.refresh_from_db()
    assert first.until == dt.date(2020, 2, 9)
    current = Responsibility.objects.filter(area=gate, until__isnull=True)
    assert list(current) == [second]


@pytest.mark.parametrize(
    ("kind", "area", "name", "phone", "field"),
    [
        ("gate_chief", "building_a1", "王", "", "area"),  # a gate chief is for a gate
        ("building_chief", "building_a1", "", "", "person_name"),
        ("building_chief", "building_a1", "王", "12345", "phone"),
        ("mayor", "building_a1", "王", "", "kind"),
        ("city_leader", "street_a", "王", "", "area"),  # paired with a district
        ("contract_market", "gate_a1", "王", "", "area"),
    ],
)
def test_bad_responsible_person_is_refused(
    city: City, kind: str, area: str, name: str, phone: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        territory.set_responsible(SYSTEM, area=city[area], kind=kind, person_name=name, phone=phone)
    assert field in _fields(exc)
    assert not Responsibility.objects.exists()


def test_city_leader_is_paired_with_a_district(city: City) -> None:
    row = territory.set_responsible(
        SYSTEM, area=city["district"], kind="city_leader", person_name="陈副市长"
    )
    assert row.area == city["district"]


def test_committee_worker_names_chiefs_only_in_their_committee(city: City) -> None:
    worker = city.users["committee_a1"]
    territory.set_responsible(
        worker, area=city["building_a1"], kind="building_chief", person_name="赵楼长"
    )
    with pytest.raises(OutOfScope):
        territory.set_responsible(
            worker, area=city["building_b1"], kind="building_chief", person_name="钱楼长"
        )
