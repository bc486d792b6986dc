"""Fever-medicine purchases (P5): validation, idempotence, the flag and the follow-up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.health.models import FeverMedicinePurchase, FollowUpTask
from gridguard.health.selectors import pharmacy as selectors
from gridguard.health.services.pharmacy import register_purchase
from gridguard.people.models import KeyCategory, KeyPersonFlag, Person
from gridguard.people.signals import facts_changed
from tests import factories
from tests.conftest import City
from tests.pharmacy.helpers import NOON, purchase_fields

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return (
        FeverMedicinePurchase.objects.count(),
        Person.objects.count(),
        FollowUpTask.objects.count(),
        KeyPersonFlag.objects.count(),
    )


def test_purchase_registers_buyer_flags_and_pushes_followup(city: City) -> None:
    heard: list[list[int]] = []

    def listener(sender: Any, person_ids: list[int], **_kw: Any) -> None:
        heard.append(person_ids)

    facts_changed.connect(listener)
    try:
        with clock.frozen(NOON):
            p = register_purchase(
                city.users["pharmacist_a1"], city["pharmacy_a1"], **purchase_fields()
            )
    finally:
        facts_changed.disconnect(listener)
    assert p.temperature == Decimal("37.8")
    buyer = p.buyer
    # No address: a new buyer lives, for now, at the pharmacy's committee.
    assert buyer.area == city["committee_a1"]
    flag = KeyPersonFlag.objects.get(person=buyer, category=KeyCategory.FEVER_MEDICINE)
    assert flag.source == f"purchase:{p.pk}"
    assert flag.until == NOON + dt.timedelta(days=14)
    task = FollowUpTask.objects.get(source=f"purchase:{p.pk}")
    assert task.kind == "fever_medicine" and task.person == buyer
    assert task.area == city["committee_a1"]
    assert p.recorded_by == city.users["pharmacist_a1"]
    assert AuditEntry.objects.filter(action="pharmacy.purchase", object_id=str(p.pk)).exists()
    assert any(buyer.pk in ids for ids in heard)


def test_followup_lands_at_the_buyers_committee_and_is_scoped_there(city: City) -> None:
    p = register_purchase(
        city.users["pharmacist_a1"],
        city["pharmacy_a1"],
        **purchase_fields(buyer_address="外滩街道B1小区3号楼201"),
    )
    assert p.buyer.area == city["compound_b1"]
    task = FollowUpTask.objects.get(source=f"purchase:{p.pk}")
    assert task.area == city["committee_b1"]
    assert FollowUpTask.objects.visible_to(city.users["committee_b1"]).filter(pk=task.pk).exists()
    assert not FollowUpTask.objects.visible_to(city.users["committee_a1"]).filter(pk=task.pk)
    # The purchase itself stays with the pharmacy.
    assert selectors.purchases_visible_to(city.users["operator_a"]).filter(pk=p.pk).exists()
    assert not selectors.purchases_visible_to(city.users["operator_b"]).filter(pk=p.pk).exists()


def test_a_known_person_is_linked_and_followed_up_at_home(city: City) -> None:
    known = factories.person(city["compound_b1"], name="赵强")
    p = register_purchase(
        city.users["pharmacist_a1"],
        city["pharmacy_a1"],
        **purchase_fields(id_number=known.id_number, name="赵强"),
    )
    assert p.buyer_id == known.pk
    assert Person.objects.filter(id_number=known.id_number).count() == 1
    assert FollowUpTask.objects.get(source=f"purchase:{p.pk}").area == city["committee_b1"]


def test_double_submit_is_one_record(city: City) -> None:
    fields = purchase_fields()
    first = register_purchase(city.users["pharmacist_a1"], city["pharmacy_a1"], **fields)
    before = _counts()
    audits = AuditEntry.objects.count()
    again = register_purchase(city.users["pharmacist_a1"], city["pharmacy_a1"], **fields)
    assert again.pk == first.pk
    assert _counts() == before
    assert AuditEntry.objects.count() == audits


def test_a_key_from_another_pharmacy_is_refused(city: City) -> None:
    fields = purchase_fields()
    register_purchase(city.users["pharmacist_a1"], city["pharmacy_a1"], **fields)
    with pytest.raises(InvalidInput) as exc:
        register_purchase(city.users["pharmacist_b1"], city["pharmacy_b1"], **fields)
    assert exc.value.errors[0].code == "reused"


def test_only_the_pharmacys_pharmacist_records(city: City) -> None:
    with pytest.raises(OutOfScope):
        register_purchase(city.users["pharmacist_b1"], city["pharmacy_a1"], **purchase_fields())
    with pytest.raises(NotPermitted):
        register_purchase(city.users["committee_a1"], city["pharmacy_a1"], **purchase_fields())
    with pytest.raises(InvalidInput) as exc:
        register_purchase(city.users["pharmacist_a1"], city["compound_a1"], **purchase_fields())
    assert exc.value.errors[0].field == "pharmacy"
    assert FeverMedicinePurchase.objects.count() == 0


BAD_FIELDS = [
    ("id_type", "spaceship"),
    ("id_number", ""),
    ("id_number", "310101198503070000"),
    ("id_number", "12345"),
    ("name", ""),
    ("name", "名" * 61),
    ("phone", ""),
    ("phone", "12345"),
    ("medicine", ""),
    ("medicine", "药" * 101),
    ("quantity", 0),
    ("quantity", 21),
    ("quantity", "many"),
    ("quantity", None),
    ("temperature", "33.9"),
    ("temperature", "42.6"),
    ("temperature", "hot"),
    ("temperature", "NaN"),
    ("buyer_address", "路" * 256),
    ("submission_key", ""),
    ("submission_key", "k" * 65),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_bad_field_is_named_and_nothing_is_written(city: City, field: str, value: Any) -> None:
    before = _counts()
    with pytest.raises(InvalidInput) as exc:
        register_purchase(
            city.users["pharmacist_a1"], city["pharmacy_a1"], **purchase_fields(**{field: value})
        )
    assert field in {e.field for e in exc.value.errors}, exc.value.errors
    assert _counts() == before


def test_several_bad_fields_are_reported_together(city: City) -> None:
    with pytest.raises(InvalidInput) as exc:
        register_purchase(
            city.users["pharmacist_a1"],
            city["pharmacy_a1"],
            **purchase_fields(name="", phone="1", quantity=99),
        )
    assert {e.field for e in exc.value.errors} == {"name", "phone", "quantity"}


def test_temperature_is_optional_and_edges_are_accepted(city: City) -> None:
    for t in (None, "", "34", "42.5", 36.6):
        p = register_purchase(
            city.users["pharmacist_a1"], city["pharmacy_a1"], **purchase_fields(temperature=t)
        )
        assert p.temperature is None or Decimal("34") <= p.temperature <= Decimal("42.5")


_bad_values = {
    "id_number": st.sampled_from(["", "abc", "310101198513070001", "1" * 18, "31010119850307"]),
    "name": st.sampled_from(["", "   ", "名" * 61]),
    "phone": st.sampled_from(["", "1", "2" * 11, "phone", "+86"]),
    "medicine": st.sampled_from(["", " ", "药" * 101]),
    "quantity": st.one_of(
        st.integers(max_value=0), st.integers(min_value=21), st.sampled_from(["x", "", None])
    ),
    "temperature": st.one_of(
        st.decimals(max_value=Decimal("33.9"), allow_nan=False, places=1),
        st.decimals(min_value=Decimal("42.6"), allow_nan=False, places=1),
        st.floats(min_value=42.51, max_value=1e6),
        st.sampled_from(["warm", "inf", "-inf", "nan"]),
    ),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bad=st.dictionaries(st.sampled_from(sorted(_bad_values)), st.none(), min_size=1).flatmap(
        lambda keys: st.fixed_dictionaries({k: _bad_values[k] for k in keys})
    )
)
def test_random_bad_fields_write_nothing(city: City, bad: dict[str, Any]) -> None:
    before = _counts()
    audits = AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        register_purchase(
            city.users["pharmacist_a1"], city["pharmacy_a1"], **purchase_fields(**bad)
        )
    assert set(bad) <= {e.field for e in exc.value.errors}
    assert _counts() == before
    assert AuditEntry.objects.count() == audits
