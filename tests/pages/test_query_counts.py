"""List pages read a fixed number of queries however many rows they show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.territory import services
from gridguard.territory.models import GridCell
from tests.conftest import City

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowded(city: City) -> City:
    """Sixty gates, thirty grid cells with workers and shifts in street A."""
    compound = city["compound_a1"]
    for i in range(2, 62):
        services.create_area(
            SYSTEM, code=f"{compound.code}G{i:02d}", name=f"门{i}", kind="gate", parent=compound
        )
    for i in range(30):
        cell = GridCell.objects.create(area=city["committee_a1"], code=f"C{i}", name=f"格{i}")
        cell.workers.add(city.users["committee_a1"])
    start = clock.now() + dt.timedelta(days=1)
    for i in range(20):
        services.plan_shift(
            SYSTEM,
            area=city["gate_a1"],
            user=city.users["volunteer_a1"],
            post="volunteer",
            starts_at=start + dt.timedelta(hours=5 * i),
            ends_at=start + dt.timedelta(hours=5 * i + 4),
        )
    return city


@pytest.mark.parametrize(
    ("url", "limit"),
    [
        ("/territory/{compound}/", 13),
        ("/territory/{committee}/", 14),
        ("/territory/{street}/places/gate/", 10),
        ("/territory/duty/plan/", 10),
        ("/territory/duty/hours/", 9),
        ("/accounts/home/", 9),
    ],
)
def test_list_page_query_counts(
    crowded: City,
    login: Callable[[str], Client],
    django_assert_max_num_queries: Any,
    url: str,
    limit: int,
) -> None:
    c = login("operator_a")
    target = url.format(
        compound=crowded["compound_a1"].code,
        committee=crowded["committee_a1"].code,
        street=crowded["street_a"].code,
    )
    c.get(target)  # warm the session and translation caches
    with django_assert_max_num_queries(limit):
        r = c.get(target)
    assert r.status_code == 200
