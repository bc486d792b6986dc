"""Mask outlets and reservations (P6): stock, limits, codes, pickup, cancel, expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import MaskOutlet, MaskQuotaDay, MaskReservation, ReservationStatus
from gridguard.health.selectors import pharmacy as selectors
from gridguard.health.services import pharmacy as masks
from tests import factories
from tests.conftest import City
from tests.pharmacy.helpers import NOON, TODAY, key, resident_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def outlet(city: City) -> MaskOutlet:
    with clock.frozen(NOON):
        return masks.set_outlet(
            city.users["pharmacist_a1"],
            city["pharmacy_a1"],
            daily_quota=10,
            per_person_limit=5,
            period_days=7,
        )


def _reserve(actor: Any, person: Any, outlet: MaskOutlet, q: Any, day: dt.date = TODAY) -> Any:
    with clock.frozen(NOON):
        return masks.reserve_masks(actor, person, outlet, day, q, key("m"))


def _refusal(fn: Any, *args: Any) -> tuple[str | None, str]:
    with pytest.raises(InvalidInput) as exc:
        fn(*args)
    return exc.value.errors[0].field, exc.value.errors[0].code


def test_set_outlet_validates_and_updates(city: City, outlet: MaskOutlet) -> None:
    pharmacist = city.users["pharmacist_a1"]
    assert outlet.daily_quota == 10 and outlet.active
    for field, value in (("daily_quota", -1), ("per_person_limit", 0), ("period_days", 91)):
        fields: dict[str, Any] = {"daily_quota": 10, "per_person_limit": 5, "period_days": 7}
        fields[field] = value
        with pytest.raises(InvalidInput) as exc:
            masks.set_outlet(pharmacist, city["pharmacy_a1"], **fields)
        assert exc.value.errors[0].field == field
    with pytest.raises(OutOfScope):
        masks.set_outlet(pharmacist, city["pharmacy_b1"], daily_quota=5)
    with pytest.raises(NotPermitted):
        masks.set_outlet(city.users["committee_a1"], city["pharmacy_a1"], daily_quota=5)
    with clock.frozen(NOON):
        masks.open_day(outlet, TODAY)
        again = masks.set_outlet(pharmacist, city["pharmacy_a1"], daily_quota=30, active=False)
    assert again.pk == outlet.pk and not again.active
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).quota == 30
    assert MaskOutlet.objects.count() == 1


def test_reserve_takes_stock_and_gives_a_code(city: City, outlet: MaskOutlet) -> None:
    user, person = resident_person(city)
    r = _reserve(user, person, outlet, 3)
    assert r.status == ReservationStatus.RESERVED and r.quantity == 3
    assert len(r.code) == 8 and r.code.isalnum() and r.code.upper() == r.code
    stock = MaskQuotaDay.objects.get(outlet=outlet, day=TODAY)
    assert (stock.quota, stock.reserved) == (10, 3)
    assert selectors.remaining(outlet, TODAY) == 7
    assert selectors.own_reservations(user).get() == r


def test_codes_are_unique_and_unguessable() -> None:
    codes = {masks.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert not set("".join(codes)) & set("01IOL")


def test_same_submission_key_is_one_reservation(city: City, outlet: MaskOutlet) -> None:
    user, person = resident_person(city)
    with clock.frozen(NOON):
        a = masks.reserve_masks(user, person, outlet, TODAY, 2, "same")
        b = masks.reserve_masks(user, person, outlet, TODAY, 2, "same")
    assert a.pk == b.pk
    assert MaskQuotaDay.objects.get(outlet=outlet).reserved == 2


def test_sold_out_and_limit_are_told_apart(city: City, outlet: MaskOutlet) -> None:
    user, person = resident_person(city)
    others = [factories.person(city["compound_a1"]) for _ in range(2)]
    _reserve(SYSTEM, others[0], outlet, 5)
    _reserve(SYSTEM, others[1], outlet, 3)
    # 2 left: asking for 3 is "sold out" (the person's limit of 5 allows it).
    assert _refusal(_reserve, user, person, outlet, 3) == ("quantity", "sold_out")
    _reserve(user, person, outlet, 2)
    # A later day has stock, but the person used 2 of 5 in the period.
    later = TODAY + dt.timedelta(days=2)
    assert _refusal(_reserve, user, person, outlet, 4, later) == ("quantity", "limit")
    assert _reserve(user, person, outlet, 3, later).quantity == 3
    # A week on, today's 2 no longer count, but the 3 of two days later still do.
    week = TODAY + dt.timedelta(days=7)
    assert _refusal(_reserve, user, person, outlet, 3, week) == ("quantity", "limit")
    assert _reserve(user, person, outlet, 2, week).quantity == 2
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).reserved == 10


@pytest.mark.parametrize(
    ("q", "day_offset", "expected"),
    [
        (0, 0, ("quantity", "range")),
        (6, 0, ("quantity", "range")),
        ("lots", 0, ("quantity", "invalid")),
        (1, -1, ("day", "past")),
        (1, 8, ("day", "too_far")),
    ],
)
def test_bad_reservations_are_refused(
    city: City, outlet: MaskOutlet, q: Any, day_offset: int, expected: tuple[str, str]
) -> None:
    user, person = resident_person(city)
    day = TODAY + dt.timedelta(days=day_offset)
    assert _refusal(_reserve, user, person, outlet, q, day) == expected
    assert MaskReservation.objects.count() == 0


def test_closed_outlet_and_others_people(city: City, outlet: MaskOutlet) -> None:
    user, person = resident_person(city)
    stranger = factories.person(city["compound_a1"])
    with pytest.raises(NotPermitted):
        _reserve(user, stranger, outlet, 1)
    masks.set_outlet(city.users["pharmacist_a1"], city["pharmacy_a1"], daily_quota=10, active=False)
    outlet.refresh_from_db()
    assert _refusal(_reserve, user, person, outlet, 1) == ("outlet", "closed")


def test_pickup_once_on_the_day_by_the_outlets_pharmacist(city: City, outlet: MaskOutlet) -> None:
    user, person = resident_person(city)
    r = _reserve(user, person, outlet, 2)
    tomorrow = _reserve(user, person, outlet, 1, TODAY + dt.timedelta(days=1))
    with clock.frozen(NOON):
        # Another pharmacy's pharmacist does not find it; a committee worker may not pick up.
        assert _refusal(masks.pickup, city.users["pharmacist_b1"], r.code) == ("code", "not_found")
        with pytest.raises(NotPermitted):
            masks.pickup(city.users["committee_a1"], r.code)
        assert _refusal(masks.pickup, city.users["pharmacist_a1"], "NOPE") == ("code", "not_found")
        assert _refusal(masks.pickup, city.users["pharmacist_a1"], tomorrow.code)[1] == "wrong_day"
        done = masks.pickup(city.users["pharmacist_a1"], f" {r.code.lower()} ")
        assert done.status == ReservationStatus.PICKED_UP
        assert done.picked_up_by == city.users["pharmacist_a1"]
        assert _refusal(masks.pickup, city.users["pharmacist_a1"], r.code)[1] == "picked_up"
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).picked_up == 2


def test_cancel_returns_stock_and_cannot_be_picked_up(city: City, outlet: MaskOutlet) -> None:
    user, person = resident_person(city)
    r = _reserve(user, person, outlet, 4)
    with pytest.raises(OutOfScope):
        masks.cancel(city.users["pharmacist_b1"], r)
    masks.cancel(user, r)
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).reserved == 0
    with clock.frozen(NOON):
        assert _refusal(masks.pickup, city.users["pharmacist_a1"], r.code)[1] == "cancelled"
    assert _refusal(masks.cancel, user, r) == ("status", "not_reserved")
    # Cancelled masks do not count against the limit.
    assert _reserve(user, person, outlet, 5).quantity == 5


def test_expire_uncollected_is_set_based_and_returns_stock(city: City, outlet: MaskOutlet) -> None:
    people = [factories.person(city["compound_a1"]) for _ in range(3)]
    rs = [_reserve(SYSTEM, p, outlet, 2) for p in people]
    with clock.frozen(NOON):
        masks.pickup(city.users["pharmacist_a1"], rs[0].code)
    later = _reserve(SYSTEM, people[1], outlet, 1, TODAY + dt.timedelta(days=1))
    assert masks.expire_uncollected(TODAY) == 2
    statuses = dict(MaskReservation.objects.values_list("pk", "status"))
    assert statuses[rs[0].pk] == ReservationStatus.PICKED_UP
    assert statuses[rs[1].pk] == statuses[rs[2].pk] == ReservationStatus.EXPIRED
    assert statuses[later.pk] == ReservationStatus.RESERVED
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).reserved == 2
    with clock.frozen(NOON):
        assert _refusal(masks.pickup, city.users["pharmacist_a1"], rs[1].code)[1] == "expired"
    assert masks.expire_uncollected(TODAY) == 0


def test_open_outlets_shows_whats_left(city: City, outlet: MaskOutlet) -> None:
    _reserve(SYSTEM, factories.person(city["compound_a1"]), outlet, 4)
    with clock.frozen(NOON):
        found = selectors.open_outlets()
    assert [(o.pk, o.remaining) for o in found] == [(outlet.pk, 6)]  # type: ignore[attr-defined]


def test_a_colliding_code_is_drawn_again(
    city: City, outlet: MaskOutlet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridguard.health.services import pharmacy_masks

    first = _reserve(SYSTEM, factories.person(city["compound_a1"]), outlet, 1)
    draws = iter([first.code, first.code, "ZZZZ2345"])
    monkeypatch.setattr(pharmacy_masks, "new_code", lambda: next(draws))
    second = _reserve(SYSTEM, factories.person(city["compound_a1"]), outlet, 1)
    assert second.code == "ZZZZ2345"
