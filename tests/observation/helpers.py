"""Shared makers for the observation tests."""

from __future__ import annotations

import datetime as dt

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import ObservationOrder
from gridguard.health.services import observation as obs
from tests import factories
from tests.conftest import City

DAY0 = dt.date(2020, 2, 10)


def sh(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A Shanghai wall-clock time."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=clock.SHANGHAI)


def started(
    city: City, side: str = "a", actor: object = None, name: str = "李观察", code: str = "home"
) -> ObservationOrder:
    """A person of compound `side`1 put in observation through the service on DAY0 07:00."""
    p = factories.person(city[f"compound_{side}1"], name=name)
    with clock.frozen(sh(DAY0, 7)):
        return obs.start_order(
            actor or SYSTEM,
            p,
            code,
            DAY0,
            "A小区1号楼101",
            health_worker=city.users[f"health_{side}"],
            reason="来自重点地区",
        )
