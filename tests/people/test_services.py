"""update_person, create_household, move_to_household: validation, scope, audit."""

from __future__ import annotations

import pytest

from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.people import services
from gridguard.people.models import DuplicatePair
from tests import factories
from tests.conftest import City

pytestmark = pytest.mark.django_db


def test_update_audits_field_names_not_values(city: City) -> None:
    p = factories.person(city["compound_a1"], phone="13800000000")
    services.update_person(city.users["committee_a1"], p, phone="13911112222", name="张伟")
    p.refresh_from_db()
    assert p.phone == "13911112222"
    entry = AuditEntry.objects.get(action="person.update")
    assert entry.detail == {"fields": ["phone"]}  # the unchanged name is not listed
    # Nothing changed: nothing written.
    services.update_person(city.users["committee_a1"], p, phone="139 1111 2222")
    assert AuditEntry.objects.filter(action="person.update").count() == 1


def test_update_refuses_unknown_fields_and_needs_permission_and_scope(city: City) -> None:
    p = factories.person(city["compound_a1"])
    with pytest.raises(InvalidInput) as exc:
        services.update_person(SYSTEM, p, id_number="1")
    assert exc.value.errors[0].field == "id_number"
    with pytest.raises(NotPermitted):
        services.update_person(city.users["operator_a"], p, name="x")
    with pytest.raises(OutOfScope):
        services.update_person(city.users["committee_b1"], p, name="x")
    with pytest.raises(InvalidInput) as exc:
        services.update_person(SYSTEM, p, area=city["gate_a1"])
    assert exc.value.errors[0].code == "kind"


def test_a_new_phone_opens_a_duplicate_pair(city: City) -> None:
    a = factories.person(city["compound_a1"], phone="13500000000")
    b = factories.person(city["compound_a1"], name="别人", phone="13600000000")
    services.update_person(SYSTEM, b, phone="13500000000")
    assert DuplicatePair.objects.filter(first=a, second=b, reason="phone").exists()


def test_households(city: City) -> None:
    worker = city.users["committee_a1"]
    hh = services.create_household(worker, area=city["building_a1"], room="1203")
    assert hh.address == city["building_a1"].name
    assert AuditEntry.objects.filter(action="household.create").count() == 1
    p = factories.person(city["compound_a1"])
    services.move_to_household(worker, p, hh)
    p.refresh_from_db()
    assert p.household_id == hh.pk
    services.move_to_household(worker, p, None)
    p.refresh_from_db()
    assert p.household_id is None
    with pytest.raises(InvalidInput) as exc:
        services.create_household(worker, area=city["building_b1"], room="1")
    assert exc.value.errors[0].code == "out_of_scope"
    with pytest.raises(InvalidInput):
        services.create_household(worker, area=city["building_a1"], room="x" * 41)
    hh_b = services.create_household(SYSTEM, area=city["building_b1"])
    with pytest.raises(InvalidInput) as exc:
        services.move_to_household(worker, p, hh_b)
    assert exc.value.errors[0].field == "household"
