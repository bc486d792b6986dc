"""Property tests of the identity check (hypothesis) and one person per identity."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.people.identity import check_identity, check_phone
from gridguard.people.models import DuplicatePair, Person
from gridguard.people.services import register_person
from tests.conftest import City

# Region codes that exist in stdnum's table (Shanghai districts, Beijing, Wuhan, Guangzhou).
REGIONS = ["310101", "310104", "310106", "310115", "110101", "420102", "440103"]
births = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2019, 12, 31))
serials = st.integers(min_value=0, max_value=999)


def _number(region: str, birth: dt.date, serial: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(REGIONS), births, serials)
def test_any_real_birth_date_and_region_with_the_right_check_digit_is_accepted(
    region: str, birth: dt.date, serial: int
) -> None:
    number = _number(region, birth, serial)
    identity = check_identity("resident_id", number)
    assert identity.id_number == number
    assert identity.birth_date == birth
    assert identity.sex == ("male" if serial % 2 else "female")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(REGIONS),
    births,
    serials,
    st.integers(min_value=0, max_value=17),
    st.integers(min_value=1, max_value=10),
)
def test_any_single_character_change_is_refused_with_checksum(
    region: str, birth: dt.date, serial: int, position: int, shift: int
) -> None:
    number = _number(region, birth, serial)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    old = alphabet.index(number[position])
    new = alphabet[(old + shift) % len(alphabet)]
    if new == number[position]:
        new = alphabet[(old + 1) % len(alphabet)]
    changed = number[:position] + new + number[position + 1 :]
    with pytest.raises(InvalidInput) as exc:
        check_identity("resident_id", changed)
    # A changed digit always breaks the ISO 7064 checksum: that is what is reported first.
    assert exc.value.errors[0].code == "checksum"
    assert exc.value.errors[0].field == "id_number"


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(REGIONS),
    st.integers(min_value=1950, max_value=2019),
    st.sampled_from([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31), (13, 1), (0, 10)]),
    serials,
)
def test_impossible_birth_dates_are_refused(
    region: str, year: int, month_day: tuple[int, int], serial: int
) -> None:
    month, day = month_day
    first17 = f"{region}{year:04d}{month:02d}{day:02d}{serial:03d}"
    number = first17 + ric.calc_check_digit(first17 + "0")
    with pytest.raises(InvalidInput) as exc:
        check_identity("resident_id", number)
    assert exc.value.errors[0].code == "birth_date"


@settings(max_examples=50, deadline=None)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(1900, 3, 1)) | births)
def test_february_29_only_in_leap_years(birth: dt.date) -> None:
    year = birth.year
    first17 = f"310101{year:04d}0229001"
    number = first17 + ric.calc_check_digit(first17 + "0")
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if leap:
        assert check_identity("resident_id", number).birth_date == dt.date(year, 2, 29)
    else:
        with pytest.raises(InvalidInput):
            check_identity("resident_id", number)


def test_future_birth_unknown_region_wrong_length_and_lowercase_x() -> None:
    future = "310101" + "20991231" + "001"
    with pytest.raises(InvalidInput) as exc:
        check_identity("resident_id", future + ric.calc_check_digit(future + "0"))
    assert exc.value.errors[0].code == "birth_date"
    bad_region = "999999" + "19850307" + "001"
    with pytest.raises(InvalidInput) as exc:
        check_identity("resident_id", bad_region + ric.calc_check_digit(bad_region + "0"))
    assert exc.value.errors[0].code == "region"
    with pytest.raises(InvalidInput) as exc:
        check_identity("resident_id", "31010119850307")
    assert exc.value.errors[0].code == "length"
    # Find a serial whose check digit is X and type it in lower case with spaces.
    for serial in range(1000):
        first17 = f"31010119850307{serial:03d}"
        if ric.calc_check_digit(first17 + "0") == "X":
            break
    typed = f"{first17[:6]} {first17[6:]}x"
    assert check_identity("resident_id", typed).id_number == first17 + "X"


@given(st.text(max_size=12))
def test_check_phone_never_crashes_and_names_the_field(value: str) -> None:
    try:
        phone = check_phone(value, required=False)
    except InvalidInput as exc:
        assert exc.errors[0].field == "phone"
    else:
        assert phone == "" or phone[0] in "0+1"


@pytest.mark.django_db
def test_registering_twice_gives_the_same_person(city: City) -> None:
    number = _number("310101", dt.date(1990, 5, 6), 123)
    first, created = register_person(
        SYSTEM, id_type="resident_id", id_number=number, name="赵敏", area=city["compound_a1"]
    )
    # Typed again with spaces and a new phone: still the same person, phone updated.
    again, created_again = register_person(
        SYSTEM,
        id_type="resident_id",
        id_number=f" {number[:6]} {number[6:]} ",
        name="赵敏",
        phone="13912345678",
        area=city["compound_a2"],
    )
    assert created and not created_again
    assert again.pk == first.pk
    assert Person.objects.filter(id_number=number).count() == 1
    again.refresh_from_db()
    assert again.phone == "13912345678"
    assert again.area == city["compound_a1"]  # no move without move_to_area


@pytest.mark.django_db
def test_same_name_and_birth_or_same_phone_opens_a_duplicate_pair(city: City) -> None:
    a, _ = register_person(
        SYSTEM,
        id_type="resident_id",
        id_number=_number("310101", dt.date(1970, 1, 2), 11),
        name="周杰",
        phone="13700000001",
        area=city["compound_a1"],
    )
    b, _ = register_person(
        SYSTEM,
        id_type="resident_id",
        id_number=_number("310104", dt.date(1970, 1, 2), 11),
        name="周杰",
        area=city["compound_a1"],
    )
    c, _ = register_person(
        SYSTEM,
        id_type="passport",
        id_number="E99887766",
        name="John Smith",
        phone="13700000001",
        area=city["compound_a1"],
    )
    pairs = set(DuplicatePair.objects.values_list("first_id", "second_id", "reason"))
    assert pairs == {(a.pk, b.pk, "name_birth"), (a.pk, c.pk, "phone")}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["hk_macao_permit", "taiwan_permit", "passport", "other"]), st.text())
def test_other_documents_never_crash(id_type: str, value: str) -> None:
    try:
        identity = check_identity(id_type, value)
    except InvalidInput as exc:
        assert exc.errors[0].field in ("id_number",)
    else:
        assert identity.id_number and identity.id_number == identity.id_number.upper()
