"""Fixtures for page tests: logged-in clients, a shift on now, named responsible persons."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gridguard.core import clock
from gridguard.core.scoping import SYSTEM
from gridguard.territory import services as territory
from gridguard.territory.models import DutyShift, GridCell
from tests.conftest import City


@pytest.fixture
def world(city: City) -> dict[str, Any]:
    """Responsible persons, grid cells and shifts (on now) in both streets."""
    today = clock.today()
    found: dict[str, Any] = {}
    for key, phone in (("a1", "13812345678"), ("b1", "13987654321")):
        found[f"resp_{key}"] = territory.set_responsible(
            SYSTEM,
            area=city[f"gate_{key}"],
            kind="gate_chief",
            person_name=f"门长{key.upper()}",
            phone=phone,
            since=today,
        )
        cell = GridCell.objects.create(
            area=city[f"committee_{key}"], code=f"G-{key}", name=f"网格{key.upper()}"
        )
        cell.workers.add(city.users[f"committee_{key}"])
        found[f"cell_{key}"] = cell
    start = clock.now() - dt.timedelta(minutes=30)
    found["shift_a1"] = territory.plan_shift(
        SYSTEM,
        area=city["gate_a1"],
        user=city.users["volunteer_a1"],
        post="volunteer",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
    )
    found["shift_b1"] = territory.plan_shift(
        SYSTEM,
        area=city["gate_b1"],
        user=city.users["committee_b1"],
        post="official",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
    )
    return found


def served(shift: DutyShift, minutes: int = 90) -> DutyShift:
    """Clock the shift's own person in at its start and out `minutes` later."""
    with clock.frozen(shift.starts_at):
        territory.clock_in(shift.user, shift)
    with clock.frozen(shift.starts_at + dt.timedelta(minutes=minutes)):
        return territory.clock_out(shift.user, shift)
