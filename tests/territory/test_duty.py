"""Duty rosters: plan shifts, clock in and out on a phone, total the hours served."""

from __future__ import annotations

import datetime as dt

import pytest

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.core.scoping import SYSTEM
from gridguard.territory import selectors
from gridguard.territory import services as territory
from gridguard.territory.models import DutyShift
from tests.conftest import City

START = dt.datetime(2020, 2, 10, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai


def _plan(
    city: City, user: str = "volunteer_a1", gate: str = "gate_a1", hours: int = 4, start=START
):
    return territory.plan_shift(
        city.users["committee_a1"] if gate.endswith("a1") else SYSTEM,
        area=city[gate],
        user=city.users[user],
        post="volunteer",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
    )


def _serve(shift: DutyShift, user, minutes_in: int, minutes_out: int) -> DutyShift:
    with clock.frozen(shift.starts_at + dt.timedelta(minutes=minutes_in)):
        territory.clock_in(user, shift)
    with clock.frozen(shift.starts_at + dt.timedelta(minutes=minutes_out)):
        return territory.clock_out(user, shift)


def test_clock_in_and_out_counts_hours(city: City) -> None:
    volunteer = city.users["volunteer_a1"]
    shift = _serve(_plan(city), volunteer, -10, 240)
    assert shift.served == dt.timedelta(hours=4, minutes=10)
    totals = selectors.duty_hours(city.users["operator_a"], by="person")
    assert [(t.key, t.hours, t.shifts) for t in totals] == [("volunteer_a1", 4.17, 1)]


def test_hours_per_post_and_per_street(city: City) -> None:
    v = city.users["volunteer_a1"]
    _serve(_plan(city), v, 0, 120)
    _serve(_plan(city, start=START + dt.timedelta(days=1)), v, 0, 60)
    b_worker = city.users["committee_b1"]
    _serve(_plan(city, user="committee_b1", gate="gate_b1"), b_worker, 0, 30)
    admin = city.users["admin"]
    by_post = {t.key: t.hours for t in selectors.duty_hours(admin, by="post")}
    assert by_post == {city["gate_a1"].code: 3.0, city["gate_b1"].code: 0.5}
    by_street = {t.key: (t.label, t.hours) for t in selectors.duty_hours(admin, by="street")}
    assert by_street == {"310101001": ("南京东路街道", 3.0), "310101002": ("外滩街道", 0.5)}
    # Street B's operator sees only street B's hours.
    only_b = selectors.duty_hours(city.users["operator_b"], by="street")
    assert [t.key for t in only_b] == ["310101002"]


def test_cannot_clock_in_twice_or_out_before_in(city: City) -> None:
    v = city.users["volunteer_a1"]
    shift = _plan(city)
    with clock.frozen(START), pytest.raises(InvalidInput) as exc:
        territory.clock_out(v, shift)
    assert exc.value.errors[0].code == "not_in"
    with clock.frozen(START):
        territory.clock_in(v, shift)
        with pytest.raises(InvalidInput) as exc:
            territory.clock_in(v, shift)
    assert exc.value.errors[0].code == "already_in"


def test_cannot_clock_in_to_a_shift_that_is_not_on(city: City) -> None:
    shift = _plan(city)
    with clock.frozen(START - dt.timedelta(hours=3)), pytest.raises(InvalidInput) as exc:
        territory.clock_in(city.users["volunteer_a1"], shift)
    assert exc.value.errors[0].field == "shift"
    shift.refresh_from_db()
    assert shift.clocked_in_at is None


def test_only_the_person_on_the_shift_clocks_in(city: City) -> None:
    shift = _plan(city)
    with clock.frozen(START), pytest.raises(NotPermitted):
        territory.clock_in(city.users["committee_a1"], shift)


def test_clock_out_is_capped_after_a_forgotten_shift(city: City) -> None:
    v = city.users["volunteer_a1"]
    shift = _serve(_plan(city), v, 0, 60 * 20)
    assert shift.clocked_out_at == shift.ends_at + territory.LATE


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hours": 0}, "ends_at"),
        ({"hours": 30}, "ends_at"),
        ({"gate": "compound_a1"}, "area"),
        ({"user": "resident_a1"}, "user"),
    ],
)
def test_bad_shifts_are_refused(city: City, kwargs: dict, field: str) -> None:
    gate = kwargs.pop("gate", "gate_a1")
    with pytest.raises(InvalidInput) as exc:
        territory.plan_shift(
            SYSTEM,
            area=city[gate],
            user=city.users[kwargs.pop("user", "volunteer_a1")],
            post="volunteer",
            starts_at=START,
            ends_at=START + dt.timedelta(hours=kwargs.pop("hours", 4)),
        )
    assert field in {e.field for e in exc.value.errors}
    assert not DutyShift.objects.exists()


def test_overlapping_shifts_are_refused(city: City) -> None:
    _plan(city)
    with pytest.raises(InvalidInput) as exc:
        _plan(city, start=START + dt.timedelta(hours=2))
    assert exc.value.errors[0].code == "overlap"
    assert DutyShift.objects.count() == 1


def test_volunteer_cannot_plan_and_other_street_cannot_plan_here(city: City) -> None:
    with pytest.raises(NotPermitted):
        territory.plan_shift(
            city.users["volunteer_a1"],
            area=city["gate_a1"],
            user=city.users["volunteer_a1"],
            post="volunteer",
            starts_at=START,
            ends_at=START + dt.timedelta(hours=2),
        )
    assert not DutyShift.objects.exists()
