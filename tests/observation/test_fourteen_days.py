"""Fourteen days of one home observation with a moved clock, and property tests on check-ins."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard.core import clock
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import CheckIn, ObservationAlert, ObservationDailyCount
from gridguard.health.services import observation as obs
from gridguard.health.services import observation_jobs as jobs
from gridguard.people.models import KeyPersonFlag
from tests import factories
from tests.observation.helpers import DAY0, sh, started

pytestmark = pytest.mark.django_db

FEVER_DAY, MISSED_DAY = 3, 5


def test_fourteen_days(city) -> None:
    health = city.users["health_a"]
    order = started(city, actor=health)
    assert order.ends_on == DAY0 + dt.timedelta(days=13)
    missed_alerts: list[int] = []
    for n in range(14):
        day = DAY0 + dt.timedelta(days=n)
        for index, (hour, minute) in enumerate([(8, 20), (14, 40)]):
            if n == MISSED_DAY and index == 1:
                continue
            temperature = "38.1" if (n == FEVER_DAY and index == 0) else "36.5"
            with clock.frozen(sh(day, hour, minute)):
                row = obs.check_in(health, order, temperature, "visit")
            assert (row.slot_date, row.slot_index) == (day, index)
            if n == FEVER_DAY and index == 0:
                fever = ObservationAlert.objects.get(order=order, kind="fever")
                assert fever.slot_key == f"{day.isoformat()}#0"
                with clock.frozen(sh(day, 9)):
                    obs.acknowledge(health, fever, "已上门复测，转发热门诊")
        # The evening sweep (and a second, which must change nothing).
        evening = sh(day, 17)
        raised = jobs.sweep_missed(evening)
        assert jobs.sweep_missed(evening) == 0
        assert raised == (1 if n == MISSED_DAY else 0)
        if raised:
            alert = ObservationAlert.objects.get(order=order, kind="missed")
            assert alert.slot_key == f"{day.isoformat()}#1"
            missed_alerts.append(alert.pk)
            # Escalation: after 60 minutes unacknowledged, one level per 60 minutes, up to 2.
            assert jobs.escalate_overdue(sh(day, 17, 30)) == 0
            assert jobs.escalate_overdue(sh(day, 18, 1)) == 1
            alert.refresh_from_db()
            assert (alert.level, alert.escalated_at) == (1, sh(day, 18, 1))
            assert jobs.escalate_overdue(sh(day, 18, 30)) == 0
            assert jobs.escalate_overdue(sh(day, 19, 2)) == 1
            assert jobs.escalate_overdue(sh(day, 23, 0)) == 0
            alert.refresh_from_db()
            assert alert.level == 2
            with clock.frozen(sh(day, 23, 5)):
                obs.acknowledge(city.users["committee_a1"], alert, "电话联系，已补报")
    # The next morning's sweep looks at yesterday again and still raises nothing new.
    assert jobs.sweep_missed(sh(DAY0 + dt.timedelta(days=14), 17)) == 0
    assert missed_alerts and ObservationAlert.objects.filter(kind="missed").count() == 1
    # The fever alert was acknowledged at once, so it never escalated.
    assert ObservationAlert.objects.get(kind="fever").level == 0
    assert CheckIn.objects.filter(order=order).count() == 27

    last = order.ends_on
    with clock.frozen(sh(last - dt.timedelta(days=1), 18)), pytest.raises(InvalidInput) as exc:
        obs.release(health, order, "期满解除")
    assert exc.value.errors[0].code == "too_early"
    with clock.frozen(sh(last, 18)):
        order = obs.release(health, order, "期满解除，体温正常")
    assert order.status == "released"
    flag = KeyPersonFlag.objects.get(person=order.person, category="home_observation")
    assert flag.until == sh(last, 18)
    totals = {
        f: sum(ObservationDailyCount.objects.values_list(f, flat=True)) for f in obs.COUNT_FIELDS
    }
    assert totals == {"started": 1, "released": 1, "fevers": 1, "missed": 1}


IN_RANGE = st.decimals(min_value=Decimal("34.0"), max_value=Decimal("42.5"), places=1)
OUT_OF_RANGE = st.one_of(
    st.decimals(max_value=Decimal("33.99"), places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=Decimal("42.51"), places=2, allow_nan=False, allow_infinity=False),
    st.floats(max_value=33.99, allow_nan=False, allow_infinity=False),
    st.floats(min_value=42.51, allow_nan=False, allow_infinity=False),
    st.text(alphabet="abc-+ e", max_size=6),
)
_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_settings
@given(value=OUT_OF_RANGE)
def test_any_temperature_outside_range_refused(city, value) -> None:
    order = factories.order(factories.person(city["compound_a1"]))
    before = (CheckIn.objects.count(), ObservationAlert.objects.count())
    with clock.frozen(sh(DAY0, 9)), pytest.raises(InvalidInput) as exc:
        obs.check_in(SYSTEM, order, value, "visit")
    assert exc.value.errors[0].field == "temperature"
    assert (CheckIn.objects.count(), ObservationAlert.objects.count()) == before
    order.delete()


@_settings
@given(value=IN_RANGE, hour=st.integers(0, 23))
def test_any_temperature_inside_range_accepted_once_per_slot(city, value, hour) -> None:
    order = factories.order(factories.person(city["compound_a1"]))
    with clock.frozen(sh(DAY0, hour, 30)):
        row = obs.check_in(SYSTEM, order, value, "visit")
        assert row.temperature == value
        with pytest.raises(InvalidInput) as exc:
            obs.check_in(SYSTEM, order, value, "visit")
    assert exc.value.errors[0].code == "duplicate"
    assert CheckIn.objects.filter(order=order).count() == 1
    fevers = ObservationAlert.objects.filter(order=order, kind="fever").count()
    assert fevers == (1 if value >= Decimal("37.3") else 0)
