"""Placing typed addresses in the territory: normalised, nested, never guessed on a tie."""

from __future__ import annotations

import pytest

from gridguard.territory.address_match import match_address, normalise_address
from gridguard.territory.models import Area
from tests.conftest import City

pytestmark = pytest.mark.django_db


def test_normalise_folds_width_spaces_and_punctuation() -> None:
    assert normalise_address(" 黄浦区，Ａ１小区 3号楼-502 ") == "黄浦区A1小区3号楼502"


def test_full_address_reaches_the_compound(city: City) -> None:
    m = match_address("上海市黄浦区南京东路街道A1小区3号楼502室")
    assert m.matched and m.area == city["compound_a1"]


def test_full_width_and_lower_case_still_match(city: City) -> None:
    m = match_address("黄浦区 ａ１小区 3 号楼")
    assert m.matched and m.area == city["compound_a1"]


def test_street_without_compound_stays_at_the_street(city: City) -> None:
    m = match_address("黄浦区外滩街道中山东一路12号")
    assert not m.matched and m.area == city["street_b"]


def test_nothing_known_stays_at_the_city(city: City) -> None:
    m = match_address("北京市朝阳区某路1号")
    assert not m.matched and m.area == city["city"]


def test_two_compounds_of_the_same_name_are_not_guessed(city: City) -> None:
    Area.objects.filter(pk=city["compound_a2"].pk).update(name="A1小区")
    from gridguard.territory.address_match import forget_index

    forget_index()  # update() sends no signal
    assert not match_address("黄浦区A1小区1号楼").matched
    # Naming the street decides it.
    m = match_address("黄浦区南京东路街道A1小区")
    assert not m.matched  # both are in street A: still a tie, for the street to assign
    assert m.area == city["street_a"]


def test_within_limits_the_search(city: City) -> None:
    assert not match_address("A1小区", within=city["street_b"]).matched
    assert match_address("A1小区", within=city["street_a"]).area == city["compound_a1"]


def test_a_new_compound_is_found_at_once(city: City) -> None:
    match_address("A1小区")  # loads the cache
    Area.objects.create(
        code=city["committee_b1"].code + "C009",
        name="新建花园",
        kind="compound",
        parent=city["committee_b1"],
        path=city["committee_b1"].path + city["committee_b1"].code + "C009/",
        depth=city["committee_b1"].depth + 1,
    )
    assert match_address("外滩街道新建花园5号").matched
