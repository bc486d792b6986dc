"""Masking happens in one place and follows the role."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gridguard.core import masking
from gridguard.core.scoping import SYSTEM
from tests.conftest import City


def test_id_number_mask_keeps_region_and_last_four() -> None:
    assert masking.mask_id_number("310101199001011234") == "3101**********1234"


def test_phone_mask_keeps_prefix_and_last_four() -> None:
    assert masking.mask_phone("13812345678") == "138****5678"


def test_name_mask() -> None:
    assert masking.mask_name("张三") == "张*"
    assert masking.mask_name("欧阳小明") == "欧**明"


@given(st.text(alphabet="0123456789X", min_size=9, max_size=30))
def test_masked_id_never_shows_the_middle(value: str) -> None:
    out = masking.mask_id_number(value)
    assert len(out) == len(value)
    assert out[4:-4] == "*" * (len(value) - 8)
    assert out[:4] == value[:4] and out[-4:] == value[-4:]


@given(st.text(alphabet="0123456789-", min_size=0, max_size=20))
def test_masked_phone_hides_at_least_half_of_long_numbers(value: str) -> None:
    out = masking.mask_phone(value)
    assert len(out) == len(value)
    if len(value) >= 8:
        assert out.count("*") >= len(value) - 7


def test_roles_decide_what_is_revealed(city: City) -> None:
    phone, idn = "13812345678", "310101199001011234"
    committee = city.users["committee_a1"]  # needs both to register households
    volunteer = city.users["volunteer_a1"]  # needs neither
    operator = city.users["operator_a"]  # calls people back, but no ID numbers
    assert masking.phone_for(committee, phone) == phone
    assert masking.id_number_for(committee, idn) == idn
    assert masking.phone_for(volunteer, phone) == "138****5678"
    assert masking.id_number_for(volunteer, idn) == "3101**********1234"
    assert masking.phone_for(operator, phone) == phone
    assert masking.id_number_for(operator, idn) == "3101**********1234"
    assert masking.phone_for(None, phone) == "138****5678"
    assert masking.id_number_for(SYSTEM, idn) == idn
