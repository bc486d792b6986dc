"""Retention of health records: what `gridguard purge` removes, and what it must keep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from stdnum.cn import ric

from gridguard.core import retention
from gridguard.core.scoping import SYSTEM
from gridguard.health import models as m
from gridguard.people.models import KeyPersonFlag, Person
from gridguard.people.services import register_person
from tests.conftest import City

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2020, 4, 1, 4, 0, tzinfo=dt.UTC)


def _id(serial: int) -> str:
    first17 = f"31010119800101{serial:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def _person(city: City, serial: int) -> Person:
    return register_person(
        SYSTEM,
        id_type="resident_id",
        id_number=_id(serial),
        name=f"居民{serial}",
        phone=f"1380013{serial:04d}",
        area=city["compound_a1"],
    )[0]


def _registration(city: City, person: Person, days_ago: int, key: str) -> Any:
    return m.TravellerRegistration.objects.create(
        area=city["compound_a1"],
        receipt_code=key.upper(),
        submission_key=key,
        person=person,
        name=person.name,
        id_type=person.id_type,
        id_number=person.id_number,
        phone=person.phone,
        origin_province="湖北省",
        transport="train",
        arrival_date=(NOW - dt.timedelta(days=days_ago)).date(),
        channel="public_form",
        destination_address="贵州路1号",
        match_status="matched",
        submitted_at=NOW - dt.timedelta(days=days_ago),
    )


def _order(city: City, person: Person, *, ended_days_ago: int | None, reg: Any = None) -> Any:
    kind = m.ObservationType.objects.get(code="home")
    start = (NOW - dt.timedelta(days=60)).date()
    order = m.ObservationOrder.objects.create(
        area=city["compound_a1"],
        person=person,
        order_type=kind,
        place_address="贵州路1号",
        starts_on=start,
        ends_on=start + dt.timedelta(days=13),
        registration=reg,
        status="active" if ended_days_ago is None else "released",
        released_at=None if ended_days_ago is None else NOW - dt.timedelta(days=ended_days_ago),
    )
    m.CheckIn.objects.create(
        area=order.area,
        order=order,
        slot_date=start,
        slot_index=0,
        temperature="36.5",
        source="self",
    )
    return order


def test_every_health_kind_is_registered() -> None:
    kinds = {r.kind for r in retention.rules()}
    assert {
        "observation_orders",
        "traveller_registrations",
        "followup_tasks",
        "fever_medicine_purchases",
        "mask_reservations",
        "health_code_changes",
        "key_person_flags",
    } <= kinds


def test_registrations_and_observations_go_30_days_after_the_observation_ended(
    city: City,
) -> None:
    old_done = _person(city, 1)  # observation ended 31 days ago: all of it goes
    recent_done = _person(city, 2)  # ended 10 days ago: kept
    running = _person(city, 3)  # still in observation: kept, even its old registration
    no_order = _person(city, 4)  # registered 40 days ago, never observed: goes
    fresh = _person(city, 5)  # registered 5 days ago: kept
    r1 = _registration(city, old_done, 50, "k1")
    r2 = _registration(city, recent_done, 50, "k2")
    r3 = _registration(city, running, 50, "k3")
    _registration(city, no_order, 40, "k4")
    r5 = _registration(city, fresh, 5, "k5")
    o1 = _order(city, old_done, ended_days_ago=31, reg=r1)
    o2 = _order(city, recent_done, ended_days_ago=10, reg=r2)
    o3 = _order(city, running, ended_days_ago=None, reg=r3)
    m.ObservationDailyCount.objects.create(area=city["committee_a1"], day=o1.starts_on, started=3)

    counts = retention.purge(at=NOW)

    assert counts["observation_orders"] == 1
    assert counts["traveller_registrations"] == 2
    assert set(m.ObservationOrder.objects.values_list("pk", flat=True)) == {o2.pk, o3.pk}
    assert set(m.TravellerRegistration.objects.values_list("pk", flat=True)) == {
        r2.pk,
        r3.pk,
        r5.pk,
    }
    # The check-ins went with their order; the counts stay; the persons stay.
    assert not m.CheckIn.objects.filter(order_id=o1.pk).exists()
    assert m.CheckIn.objects.filter(order_id=o2.pk).exists()
    assert m.ObservationDailyCount.objects.get(area=city["committee_a1"]).started == 3
    assert Person.objects.filter(pk=old_done.pk).exists()


def test_purge_keeps_open_flags_and_removes_long_ended_ones(city: City) -> None:
    p = _person(city, 7)
    KeyPersonFlag.objects.create(person=p, category="fever", until=NOW - dt.timedelta(days=31))
    open_flag = KeyPersonFlag.objects.create(person=p, category="elderly_alone")
    counts = retention.purge(at=NOW)
    assert counts["key_person_flags"] == 1
    assert list(KeyPersonFlag.objects.filter(person=p)) == [open_flag]


def test_dry_run_counts_without_deleting(city: City) -> None:
    p = _person(city, 8)
    _registration(city, p, 45, "k8")
    counts = retention.purge(at=NOW, dry_run=True)
    assert counts["traveller_registrations"] == 1
    assert m.TravellerRegistration.objects.filter(person=p).exists()


def test_intake_rows_go_before_their_registration_and_waiting_rows_stay(city: City) -> None:
    """A placed intake row is purged after 7 days, so its registration can go at 30; a row
    that was never placed is never purged."""
    from gridguard.core import clock
    from gridguard.health.services.intake import process_intake
    from gridguard.health.services.registration import PUBLIC_FORM, accept_registration
    from tests.travellers.conftest import declaration

    with clock.frozen(NOW - dt.timedelta(days=40)):
        arrival = (NOW - dt.timedelta(days=41)).date().isoformat()
        accept_registration(
            PUBLIC_FORM, declaration(arrival_date=arrival), submission_key="old", channel="staff"
        )
        process_intake()
        waiting, _ = accept_registration(
            PUBLIC_FORM,
            declaration(arrival_date=arrival, id_number=_id(77)),
            submission_key="stuck",
            channel="staff",
        )
    counts = retention.purge(at=NOW)
    assert counts["registration_intake"] == 1
    assert counts["traveller_registrations"] == 1
    assert list(m.RegistrationIntake.objects.values_list("submission_key", flat=True)) == ["stuck"]
    assert waiting.processed_at is None
