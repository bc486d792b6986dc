"""Each default rule turns a person yellow/red with its reason while its fact holds, and back
to green when the fact ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from gridguard.core import clock
from gridguard.health.models import (
    FeverMedicinePurchase,
    HealthCode,
    HealthCodeChange,
    ObservationAlert,
    ObservationOrder,
)
from gridguard.health.services import codes
from gridguard.people.models import KeyPersonFlag, Person
from tests import factories
from tests.conftest import City

SH = clock.SHANGHAI
T0 = dt.datetime(2020, 2, 12, 10, 0, tzinfo=SH)


def _flag(category: str) -> Callable[[Person, City], object]:
    def make(p: Person, city: City) -> object:
        return KeyPersonFlag.objects.create(person=p, category=category, since=T0)

    return make


def _order(p: Person, city: City) -> ObservationOrder:
    return factories.order(p, starts_on=dt.date(2020, 2, 12))


def _alert(kind: str, n: int = 1) -> Callable[[Person, City], object]:
    def make(p: Person, city: City) -> object:
        o = _order(p, city)
        for i in range(n):
            ObservationAlert.objects.create(
                order=o, area=o.area, kind=kind, slot_key=f"2020-02-12#{i}", raised_at=T0
            )
        # The order itself would make them red: release it so the alert is the only fact.
        o.status = "released"
        o.save()
        return o

    return make


def _fever(p: Person, city: City) -> object:
    o = _order(p, city)
    factories.checkin(o, temperature="37.8")
    o.status = "released"
    o.save()
    return o


def _arrival(p: Person, city: City) -> object:
    return factories.registration(p, p.area, from_key_area=True, arrival_date=dt.date(2020, 2, 12))


def _symptoms(p: Person, city: City) -> object:
    return factories.registration(p, p.area, symptoms=["cough"], arrival_date=dt.date(2020, 2, 1))


def _medicine(p: Person, city: City) -> object:
    return FeverMedicinePurchase.objects.create(
        area=city["pharmacy_a1"],
        buyer=p,
        name=p.name,
        id_type=p.id_type,
        id_number=p.id_number,
        phone="13800000000",
        medicine="布洛芬",
        submission_key=f"m-{p.pk}",
    )


# rule code, colour, fact maker, a time when the fact has ended by itself (None: end it)
CASES = [
    ("confirmed", "red", _flag("confirmed"), None),
    ("suspected", "red", _flag("suspected"), None),
    ("close-contact", "red", _flag("close_contact"), None),
    ("in-observation", "red", _order, None),
    ("breach", "red", _alert("breach"), T0 + dt.timedelta(days=14, minutes=1)),
    ("fever-checkin", "red", _fever, T0 + dt.timedelta(days=3, minutes=1)),
    ("key-area-arrival", "yellow", _arrival, dt.datetime(2020, 2, 26, 0, 0, tzinfo=SH)),
    ("symptoms-declared", "yellow", _symptoms, T0 + dt.timedelta(days=14, minutes=1)),
    ("missed-checkins", "yellow", _alert("missed", 2), T0 + dt.timedelta(days=2, minutes=1)),
    ("fever-medicine", "yellow", _medicine, T0 + dt.timedelta(days=3, minutes=1)),
]


def _end(p: Person) -> None:
    KeyPersonFlag.objects.filter(person=p).update(until=clock.now())
    ObservationOrder.objects.filter(person=p).update(status="released")


@pytest.mark.parametrize(("rule", "colour", "make", "ended_at"), CASES, ids=[c[0] for c in CASES])
def test_each_default_rule_colours_and_clears(
    city: City,
    rule: str,
    colour: str,
    make: Callable[[Person, City], object],
    ended_at: dt.datetime | None,
) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(T0):
        make(p, city)
        codes.recompute([p.pk])
    code = HealthCode.objects.get(person=p)
    assert code.colour == colour
    assert [r["rule"] for r in code.reasons] == [rule]
    assert code.expires_at <= T0 + dt.timedelta(hours=24)
    assert HealthCodeChange.objects.get(person=p).new_colour == colour

    later = ended_at or T0 + dt.timedelta(hours=1)
    with clock.frozen(later):
        if ended_at is None:
            _end(p)
        codes.recompute([p.pk])
    code.refresh_from_db()
    assert code.colour == "green"
    assert code.reasons == []
    assert code.expires_at == later + dt.timedelta(hours=24)
    last = HealthCodeChange.objects.filter(person=p).latest("pk")
    assert (last.old_colour, last.new_colour) == (colour, "green")


@pytest.mark.parametrize(("rule", "colour", "make", "ended_at"), CASES, ids=[c[0] for c in CASES])
def test_recompute_all_agrees_with_recompute(
    city: City,
    rule: str,
    colour: str,
    make: Callable[[Person, City], object],
    ended_at: dt.datetime | None,
) -> None:
    p = factories.person(city["compound_a1"])
    other = factories.person(city["compound_b1"], id_number=factories.id_number())
    with clock.frozen(T0):
        make(p, city)
        summary = codes.recompute_all(batch=1)
    assert summary.persons == 2
    assert HealthCode.objects.get(person=p).colour == colour
    assert HealthCode.objects.get(person=other).colour == "green"
    if ended_at is not None:
        with clock.frozen(ended_at):
            codes.recompute_all(batch=7)
        assert HealthCode.objects.get(person=p).colour == "green"
        assert HealthCodeChange.objects.filter(person=p, new_colour="green").count() == 1


def test_missed_checkins_needs_the_count(city: City) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(T0):
        _alert("missed", 1)(p, city)
        assert codes.compute_codes([p.pk])[p.pk].colour == "green"


def test_fever_below_threshold_is_not_fever(city: City) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(T0):
        o = _order(p, city)
        factories.checkin(o, temperature="37.2")
        o.status = "released"
        o.save()
        assert codes.compute_codes([p.pk])[p.pk].colour == "green"
        factories.checkin(o, temperature=str(Decimal("37.3")), slot=1)
        assert codes.compute_codes([p.pk])[p.pk].colour == "red"


def test_worst_colour_wins_and_reasons_by_priority(city: City) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(T0):
        _medicine(p, city)
        _flag("close_contact")(p, city)
        result = codes.recompute([p.pk])[p.pk]
    assert result.colour == "red"
    assert [r["rule"] for r in result.reasons] == ["close-contact", "fever-medicine"]


def test_expiry_is_the_soonest_fact_end(city: City) -> None:
    p = factories.person(city["compound_a1"])
    end = T0 + dt.timedelta(hours=5)
    with clock.frozen(T0):
        KeyPersonFlag.objects.create(person=p, category="suspected", since=T0, until=end)
        result = codes.recompute([p.pk])[p.pk]
    assert result.colour == "red"
    assert result.expires_at == end
    assert dt.datetime.fromisoformat(result.reasons[0]["until"]) == end


def test_unknown_person_ids_are_skipped(city: City) -> None:
    assert codes.recompute([987654321]) == {}
    assert not HealthCode.objects.exists()
