"""Observation services: orders, check-ins and their bad input, alerts, release, errands."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import (
    CheckIn,
    Errand,
    ObservationAlert,
    ObservationDailyCount,
    ObservationOrder,
    ObservationType,
)
from gridguard.health.services import errands
from gridguard.health.services import observation as obs
from gridguard.health.services import observation_jobs as jobs
from gridguard.people.models import KeyPersonFlag
from tests import factories
from tests.observation.helpers import DAY0, sh, started

pytestmark = pytest.mark.django_db


def _code(exc: pytest.ExceptionInfo[InvalidInput]) -> tuple[str | None, str]:
    e = exc.value.errors[0]
    return e.field, e.code


def test_slot_rules() -> None:
    kind = ObservationType.objects.get(code="home")
    assert obs.slot_for(kind, sh(DAY0, 7, 30)) == (DAY0, 0)  # before the first: first slot
    assert obs.slot_for(kind, sh(DAY0, 8)) == (DAY0, 0)
    assert obs.slot_for(kind, sh(DAY0, 13, 59)) == (DAY0, 0)
    assert obs.slot_for(kind, sh(DAY0, 14)) == (DAY0, 1)
    assert obs.slot_for(kind, sh(DAY0, 23, 59)) == (DAY0, 1)
    # 00:30 Shanghai is still the previous day in UTC: the Shanghai day counts.
    assert obs.slot_for(kind, sh(DAY0, 0, 30).astimezone(dt.UTC)) == (DAY0, 0)
    assert obs.slot_deadline(kind, DAY0, 0) == sh(DAY0, 16)
    assert obs.slot_deadline(kind, DAY0, 1) == sh(DAY0, 16)


def test_start_order_flags_counts_and_audits(city) -> None:
    order = started(city, actor=city.users["health_a"])
    assert order.ends_on == DAY0 + dt.timedelta(days=13)
    assert order.area == order.person.area
    flag = KeyPersonFlag.objects.get(person=order.person, category="home_observation")
    assert flag.until is None
    count = ObservationDailyCount.objects.get(area=city["committee_a1"], day=DAY0)
    assert count.started == 1
    assert AuditEntry.objects.filter(action="observation.start").count() == 1


def test_second_active_order_refused(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 9)), pytest.raises(InvalidInput) as exc:
        obs.start_order(SYSTEM, order.person, "home", DAY0, "家中")
    assert _code(exc) == ("person", "active_order")
    assert ObservationOrder.objects.filter(person=order.person).count() == 1


@pytest.mark.parametrize(
    ("kind", "starts", "place", "field", "code"),
    [
        ("nope", DAY0, "家中", "order_type", "invalid"),
        ("home", None, "家中", "starts_on", "required"),
        ("home", DAY0 - dt.timedelta(days=30), "家中", "starts_on", "past"),
        ("home", DAY0 + dt.timedelta(days=40), "家中", "starts_on", "too_far"),
    ],
)
def test_start_order_bad_input(city, kind, starts, place, field, code) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(sh(DAY0, 9)), pytest.raises(InvalidInput) as exc:
        obs.start_order(SYSTEM, p, kind, starts, place)
    assert _code(exc) == (field, code)
    assert not ObservationOrder.objects.exists()


def test_start_order_needs_permission_and_scope(city) -> None:
    p = factories.person(city["compound_b1"])
    with clock.frozen(sh(DAY0, 9)):
        with pytest.raises(NotPermitted):
            obs.start_order(city.users["operator_b"], p, "home", DAY0, "家中")
        with pytest.raises(OutOfScope):
            obs.start_order(city.users["health_a"], p, "home", DAY0, "家中")
    assert not ObservationOrder.objects.exists()


def test_notice_then_commitment_once_each(city) -> None:
    order = started(city)
    user = city.users["committee_a1"]
    with clock.frozen(sh(DAY0, 9)):
        with pytest.raises(InvalidInput) as exc:
            obs.record_commitment(user, order)
        assert _code(exc) == ("notice", "required")
        order = obs.serve_notice(user, order)
        assert order.notice_served_by == user
        with pytest.raises(InvalidInput) as exc:
            obs.serve_notice(user, order)
        assert _code(exc) == ("notice", "already")
        order = obs.record_commitment(user, order)
        assert order.commitment_signed_at == sh(DAY0, 9)
        with pytest.raises(InvalidInput) as exc:
            obs.record_commitment(user, order)
        assert _code(exc) == ("commitment", "already")


@pytest.mark.parametrize("value", ["45", "30", "33.9", "42.6", "abc", "", "NaN", "Infinity"])
def test_check_in_temperature_refused(city, value) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 9)), pytest.raises(InvalidInput) as exc:
        obs.check_in(SYSTEM, order, value, "visit")
    assert exc.value.errors[0].field == "temperature"
    assert not CheckIn.objects.exists()


def test_check_in_duplicate_slot_and_inactive_order(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 8, 30)):
        row = obs.check_in(SYSTEM, order, "36.55", "visit")
        assert (row.slot_date, row.slot_index, row.temperature) == (DAY0, 0, Decimal("36.6"))
    with clock.frozen(sh(DAY0, 13)), pytest.raises(InvalidInput) as exc:
        obs.check_in(SYSTEM, order, "36.4", "visit")
    assert _code(exc) == ("slot", "duplicate")
    with clock.frozen(sh(DAY0, 14, 5)):
        obs.check_in(SYSTEM, order, "36.4", "visit")
        obs.release(SYSTEM, order, "提前解除", early=True, reason="排除风险")
    with clock.frozen(sh(DAY0 + dt.timedelta(days=1), 9)), pytest.raises(InvalidInput) as exc:
        obs.check_in(SYSTEM, order, "36.4", "visit")
    assert _code(exc) == ("order", "inactive")
    assert CheckIn.objects.filter(order=order).count() == 2


def test_check_in_bad_time_and_source(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 9)):
        with pytest.raises(InvalidInput) as exc:
            obs.check_in(SYSTEM, order, "36.5", "visit", at=sh(DAY0, 12))
        assert _code(exc) == ("at", "future")
        with pytest.raises(InvalidInput) as exc:
            obs.check_in(SYSTEM, order, "36.5", "visit", at=sh(DAY0 - dt.timedelta(days=1), 9))
        assert _code(exc) == ("at", "outside")
        with pytest.raises(InvalidInput) as exc:
            obs.check_in(SYSTEM, order, "36.5", "telepathy")
        assert _code(exc) == ("source", "invalid")
    assert not CheckIn.objects.exists()


def test_check_in_permissions(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 9)):
        with pytest.raises(OutOfScope):
            obs.check_in(city.users["health_b"], order, "36.5", "visit")
        with pytest.raises(NotPermitted):
            obs.check_in(city.users["resident_a1"], order, "36.5", "self")  # not their order
        order.person.user = city.users["resident_a1"]
        order.person.save()
        order.refresh_from_db()
        row = obs.check_in(city.users["resident_a1"], order, "36.5", "self")
    assert row.recorded_by == city.users["resident_a1"]


def test_fever_raises_alert_flag_and_count(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 8, 30)):
        obs.check_in(city.users["health_a"], order, "37.3", "visit")
    alert = ObservationAlert.objects.get(order=order, kind="fever")
    assert (alert.slot_key, alert.temperature) == ("2020-02-10#0", Decimal("37.3"))
    assert KeyPersonFlag.objects.filter(person=order.person, category="fever").exists()
    assert ObservationDailyCount.objects.get(day=DAY0).fevers == 1


def test_breach_and_acknowledge(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 10)):
        with pytest.raises(InvalidInput) as exc:
            obs.report_breach(city.users["committee_a1"], order, "  ")
        assert _code(exc) == ("detail", "required")
        alert = obs.report_breach(city.users["committee_a1"], order, "下楼取快递")
        with pytest.raises(InvalidInput) as exc:
            obs.acknowledge(city.users["health_a"], alert, "")
        assert _code(exc) == ("note", "required")
        with pytest.raises(OutOfScope):
            obs.acknowledge(city.users["health_b"], alert, "已劝返")
        alert = obs.acknowledge(city.users["health_a"], alert, "已劝返")
        with pytest.raises(InvalidInput) as exc:
            obs.acknowledge(city.users["health_a"], alert, "again")
        assert _code(exc) == ("alert", "acknowledged")
    assert alert.acknowledged_by == city.users["health_a"]
    assert alert.kind == "breach"


def test_release_rules(city) -> None:
    order = started(city)
    with clock.frozen(sh(DAY0, 10)):
        with pytest.raises(InvalidInput) as exc:
            obs.release(SYSTEM, order, "期满")
        assert _code(exc) == ("ends_on", "too_early")
        with pytest.raises(InvalidInput) as exc:
            obs.release(SYSTEM, order, "提前", early=True)
        assert _code(exc) == ("reason", "required")
        with pytest.raises(InvalidInput) as exc:
            obs.release(SYSTEM, order, "", early=True, reason="x")
        assert _code(exc) == ("note", "required")
    order.refresh_from_db()
    assert order.status == "active"
    assert KeyPersonFlag.objects.get(person=order.person, category="home_observation").until is None


def test_sweep_ignores_slots_before_the_order_existed(city) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(sh(DAY0, 15)):
        obs.start_order(SYSTEM, p, "home", DAY0, "家中")
    assert jobs.sweep_missed(sh(DAY0, 17)) == 0
    assert jobs.sweep_missed(sh(DAY0 + dt.timedelta(days=1), 17)) == 2


def test_refresh_in_observation(city) -> None:
    started(city, "a")
    started(city, "b", name="王观察")
    with clock.frozen(sh(DAY0, 20)):
        assert jobs.refresh_in_observation() == 2
    counts = dict(
        ObservationDailyCount.objects.filter(day=DAY0).values_list("area__code", "in_observation")
    )
    assert counts == {city["committee_a1"].code: 1, city["committee_b1"].code: 1}


def test_errands_flow(city) -> None:
    order = started(city)
    worker, volunteer = city.users["committee_a1"], city.users["volunteer_a1"]
    with clock.frozen(sh(DAY0, 10)):
        with pytest.raises(InvalidInput) as exc:
            errands.request_errand(worker, order, "spaceship", "x")
        assert _code(exc) == ("kind", "invalid")
        errand = errands.request_errand(worker, order, "groceries", "蔬菜两斤")
        with pytest.raises(InvalidInput) as exc:
            errands.assign_errand(worker, errand, city.users["pharmacist_a1"])
        assert _code(exc) == ("volunteer", "invalid")
        errand = errands.assign_errand(worker, errand, volunteer)
        with pytest.raises(InvalidInput) as exc:
            errands.close_errand(volunteer, errand, "")
        assert _code(exc) == ("outcome", "required")
        errand = errands.close_errand(volunteer, errand, "已送达")
        with pytest.raises(InvalidInput):
            errands.close_errand(volunteer, errand, "again")
    assert Errand.objects.get().status == "done"
    assert errand.closed_by == volunteer
