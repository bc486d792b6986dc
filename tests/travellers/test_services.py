"""Registering an arrival: placement, one person per identity, key areas, follow-ups, bad input."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from gridguard.core.errors import InvalidInput, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import FollowUpTask, KeyRegion, TravellerRegistration
from gridguard.health.services.registration import (
    PUBLIC_FORM,
    assign_registration,
    register_traveller,
)
from gridguard.people.models import KeyPersonFlag, Person
from tests import factories
from tests.conftest import City
from tests.travellers.conftest import declaration

pytestmark = pytest.mark.django_db

_GOOD = factories.id_number(dt.date(1990, 5, 17), "420102")
_BAD_CHECKSUM = _GOOD[:-1] + ("1" if _GOOD[-1] == "0" else "0")
_FEB_30 = "42010219900230001" + ric.calc_check_digit("42010219900230001" + "0")


def _register(**overrides: Any) -> tuple[TravellerRegistration, bool]:
    key = overrides.pop("submission_key", None) or f"k-{uuid.uuid4().hex}"
    return register_traveller(PUBLIC_FORM, declaration(**overrides), submission_key=key)


def test_key_area_arrival_lands_at_the_destination_committee(city: City) -> None:
    reg, created = _register()
    assert created and reg.match_status == "matched"
    assert reg.area == city["compound_a1"]
    assert reg.from_key_area and reg.key_region is not None
    assert reg.key_region.province == "湖北省"
    assert len(reg.receipt_code) == 10
    person = reg.person
    assert person.area == city["compound_a1"] and person.birth_date == dt.date(1990, 5, 17)
    task = FollowUpTask.objects.get(person=person)
    assert task.kind == "key_area_arrival" and task.area == city["committee_a1"]
    assert task.status == "open" and "李娜" in task.summary
    flag = KeyPersonFlag.objects.get(person=person, category="key_area_returnee")
    assert flag.until is not None and flag.until.date() == dt.date(2020, 2, 23)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"registration.create", "person.create", "followup.open", "person.flag"} <= actions
    # Scoped: committee A1 sees the task; committee B1 does not.
    assert FollowUpTask.objects.visible_to(city.users["committee_a1"]).filter(pk=task.pk).exists()
    assert (
        not FollowUpTask.objects.visible_to(city.users["committee_b1"]).filter(pk=task.pk).exists()
    )


def test_arrival_from_elsewhere_opens_no_task(city: City) -> None:
    reg, _ = _register(origin_province="江苏省", origin_city="南京市", vehicle_number="苏A12345")
    assert not reg.from_key_area
    assert not FollowUpTask.objects.exists()
    assert not KeyPersonFlag.objects.exists()


def test_city_level_key_region_and_dates(city: City) -> None:
    reg, _ = _register(origin_province="浙江", origin_city="温州", vehicle_number="浙C12345")
    assert reg.from_key_area and reg.origin_province == "浙江省"
    other, _ = _register(origin_province="浙江省", origin_city="杭州市", vehicle_number="浙A12345")
    assert not other.from_key_area
    KeyRegion.objects.filter(province="湖北省").update(until=dt.date(2020, 2, 1))
    KeyRegion.objects.get(province="湖北省").save()  # the cache forgets on save
    after, _ = _register()
    assert not after.from_key_area


def test_symptoms_open_a_task_even_from_elsewhere(city: City) -> None:
    reg, _ = _register(
        origin_province="江苏省", vehicle_number="苏A12345", symptoms=["cough"], temperature="37.8"
    )
    task = FollowUpTask.objects.get()
    assert task.kind == "symptoms_declared" and task.area == city["committee_a1"]
    assert reg.temperature is not None and float(reg.temperature) == 37.8


def test_same_identity_links_to_one_person_and_moves_them(city: City) -> None:
    number = factories.id_number(dt.date(1990, 5, 17), "420102")
    first, _ = _register(id_number=number, submission_key="one")
    second, created = _register(
        id_number=number,
        submission_key="two",
        destination_address="黄浦区外滩街道B1小区",
        phone="13700001111",
    )
    assert created and first.pk != second.pk
    assert first.person_id == second.person_id
    assert Person.objects.count() == 1
    person = Person.objects.get()
    assert person.area == city["compound_b1"] and person.phone == "13700001111"


def test_same_submission_twice_is_one_registration(city: City) -> None:
    reg, created = _register(submission_key="tap-tap")
    again, created_again = _register(submission_key="tap-tap", name="别人")
    assert created and not created_again and again.pk == reg.pk
    assert TravellerRegistration.objects.count() == 1 and FollowUpTask.objects.count() == 1


def test_unmatched_address_is_queued_at_the_street_and_assigned(city: City) -> None:
    reg, _ = _register(destination_address="黄浦区南京东路街道某某新村12号")
    assert reg.match_status == "unmatched" and reg.area == city["street_a"]
    task = FollowUpTask.objects.get()
    assert task.area == city["street_a"]  # the street holds it until the address is placed
    with pytest.raises(OutOfScope):
        assign_registration(city.users["operator_b"], reg, city["compound_b1"])
    assign_registration(city.users["operator_a"], reg, city["compound_a2"])
    reg.refresh_from_db()
    task.refresh_from_db()
    assert reg.match_status == "assigned" and reg.area == city["compound_a2"]
    assert task.area == city["committee_a2"]
    assert Person.objects.get(pk=reg.person_id).area == city["compound_a2"]
    # A wrong assignment can be corrected; a registration its address placed cannot be moved.
    assign_registration(city.users["operator_a"], reg, city["compound_a1"])
    matched, _ = _register(submission_key="placed")
    with pytest.raises(InvalidInput) as exc:
        assign_registration(SYSTEM, matched, city["compound_a2"])
    assert exc.value.errors[0].field == "compound"
    with pytest.raises(InvalidInput):
        assign_registration(SYSTEM, reg, city["committee_a1"])  # not a compound


def test_unknown_place_is_kept_at_the_city(city: City) -> None:
    reg, _ = _register(destination_address="某地某处")
    assert reg.match_status == "unmatched" and reg.area == city["city"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"id_number": _BAD_CHECKSUM}, "id_number", "checksum"),
        ({"id_number": _FEB_30}, "id_number", "birth_date"),
        ({"id_number": "12345"}, "id_number", "length"),
        ({"phone": "12345"}, "phone", "invalid"),
        ({"phone": ""}, "phone", "required"),
        ({"name": ""}, "name", "required"),
        ({"name": "名" * 61}, "name", "too_long"),
        ({"temperature": "45"}, "temperature", "out_of_range"),
        ({"temperature": "30"}, "temperature", "out_of_range"),
        ({"temperature": "warm"}, "temperature", "invalid"),
        ({"arrival_date": "2020-02-11"}, "arrival_date", "future"),
        ({"arrival_date": "2019-10-01"}, "arrival_date", "too_old"),
        ({"arrival_date": "9 Feb"}, "arrival_date", "invalid"),
        ({"arrival_date": ""}, "arrival_date", "required"),
        ({"origin_province": "火星"}, "origin_province", "invalid"),
        ({"transport": "rocket"}, "transport", "invalid"),
        ({"vehicle_number": ""}, "vehicle_number", "required"),
        ({"vehicle_number": "ABC"}, "vehicle_number", "invalid"),
        ({"transport": "train", "vehicle_number": "鄂A12345"}, "vehicle_number", "invalid"),
        ({"destination_address": " "}, "destination_address", "required"),
        ({"symptoms": ["sneezing-fits"]}, "symptoms", "invalid"),
        ({"submission_key": " "}, "submission_key", "invalid"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    city: City, overrides: dict[str, Any], field: str, code: str
) -> None:
    audit_before = AuditEntry.objects.count()
    key = overrides.pop("submission_key", "bad")
    with pytest.raises(InvalidInput) as exc:
        register_traveller(PUBLIC_FORM, declaration(**overrides), submission_key=key)
    assert (field, code) in {(e.field, e.code) for e in exc.value.errors}, exc.value.errors
    assert not TravellerRegistration.objects.exists()
    assert not Person.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_every_bad_field_is_reported_at_once(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        register_traveller(
            PUBLIC_FORM,
            declaration(phone="1", temperature="50", arrival_date="2030-01-01"),
            submission_key="k",
        )
    assert {e.field for e in exc.value.errors} == {"phone", "temperature", "arrival_date"}


def test_train_and_flight_numbers(city: City) -> None:
    reg, _ = _register(transport="train", vehicle_number="g 1234")
    assert reg.vehicle_number == "G1234"
    flight, _ = _register(transport="flight", vehicle_number="MU5101")
    assert flight.vehicle_number == "MU5101"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    temperature=st.one_of(
        st.none(),
        st.decimals(min_value=20, max_value=50, places=1, allow_nan=False),
        st.text(max_size=6),
    ),
    phone=st.one_of(st.just("13912345678"), st.text(max_size=14)),
    days_ago=st.integers(min_value=-5, max_value=90),
)
def test_property_accepted_or_refused_whole(
    city: City, temperature: Any, phone: str, days_ago: int
) -> None:
    """Any mix of good and bad values: either one registration with everything, or an
    InvalidInput and nothing written at all."""
    regs, persons, tasks = (
        TravellerRegistration.objects.count(),
        Person.objects.count(),
        FollowUpTask.objects.count(),
    )
    arrival = (dt.date(2020, 2, 10) - dt.timedelta(days=days_ago)).isoformat()
    key = f"h-{temperature}-{phone}-{days_ago}"[:64]
    try:
        reg, created = register_traveller(
            PUBLIC_FORM,
            declaration(temperature=temperature, phone=phone, arrival_date=arrival),
            submission_key=key,
        )
    except InvalidInput as exc:
        assert exc.errors and all(e.field for e in exc.errors)
        assert TravellerRegistration.objects.count() == regs
        assert Person.objects.count() == persons and FollowUpTask.objects.count() == tasks
        return
    if created:
        assert 0 <= days_ago <= 60
        assert TravellerRegistration.objects.count() == regs + 1
        t = reg.temperature
        assert t is None or 34 <= float(t) <= 42.5


@pytest.mark.parametrize("field", ["name", "route", "destination_address", "contact_detail"])
def test_control_characters_are_refused_naming_the_field(city: City, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        register_traveller(PUBLIC_FORM, declaration(**{field: "李\x00娜"}), submission_key="k")
    assert (field, "invalid") in {(e.field, e.code) for e in exc.value.errors}
    with pytest.raises(InvalidInput) as exc:
        register_traveller(PUBLIC_FORM, declaration(), submission_key="k\x00")
    assert exc.value.errors[0].field == "submission_key"
    assert not TravellerRegistration.objects.exists()
