"""Duty pages: clock in and out, plan a shift (errors name the field), hours with a date range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.core import clock
from gridguard.core.clock import SHANGHAI
from gridguard.territory.models import DutyShift
from tests.conftest import City
from tests.pages.conftest import served

pytestmark = pytest.mark.django_db


def test_clock_in_and_out_through_the_page(
    login: Callable[[str], Client], world: dict[str, Any]
) -> None:
    c = login("volunteer_a1")
    shift = world["shift_a1"]
    page = c.get("/territory/duty/").content.decode()
    assert 'data-action="clock-in"' in page
    r = c.post(f"/territory/duty/{shift.pk}/in/", follow=True)
    assert r.status_code == 200
    shift.refresh_from_db()
    assert shift.clocked_in_at is not None and shift.clocked_out_at is None
    assert 'data-action="clock-out"' in r.content.decode()
    # clocking in twice says so and changes nothing
    again = c.post(f"/territory/duty/{shift.pk}/in/", follow=True).content.decode()
    assert "already clocked in" in again or "已经签到" in again
    r = c.post(f"/territory/duty/{shift.pk}/out/", {"next": "/accounts/home/"})
    assert r.status_code == 302 and r["Location"] == "/accounts/home/"
    shift.refresh_from_db()
    assert shift.clocked_out_at is not None


def test_clock_next_must_be_local(login: Callable[[str], Client], world: dict[str, Any]) -> None:
    r = login("volunteer_a1").post(
        f"/territory/duty/{world['shift_a1'].pk}/in/", {"next": "https://evil.example/"}
    )
    assert r["Location"] == "/territory/duty/"


def _form(city: City, **over: str) -> dict[str, str]:
    day = clock.today() + dt.timedelta(days=3)
    data = {
        "area": city["gate_a1"].code,
        "user": "volunteer_a1",
        "post": "volunteer",
        "starts_at": f"{day}T08:00",
        "ends_at": f"{day}T12:00",
        "note": "",
    }
    data.update(over)
    return data


def test_plan_a_shift(login: Callable[[str], Client], city: City) -> None:
    c = login("committee_a1")
    r = c.post("/territory/duty/plan/", _form(city))
    assert r.status_code == 302
    shift = DutyShift.objects.filter(user=city.users["volunteer_a1"]).latest("starts_at")
    assert shift.area == city["gate_a1"]
    assert shift.starts_at.astimezone(SHANGHAI).hour == 8
    page = c.get("/territory/duty/plan/").content.decode()
    assert f'data-shift="{shift.pk}"' in page


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"area": ""}, "area"),
        ({"area": "nonsense"}, "area"),
        ({"user": "nobody"}, "user"),
        ({"user": "resident_a1"}, "user"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"ends_at": "2000-01-01T00:00"}, "ends_at"),
        ({"post": "astronaut"}, "post"),
    ],
)
def test_plan_errors_name_the_field(
    login: Callable[[str], Client], city: City, over: dict[str, str], field: str
) -> None:
    before = DutyShift.objects.count()
    r = login("committee_a1").post("/territory/duty/plan/", _form(city, **over))
    assert r.status_code == 400
    html = r.content.decode()
    assert f'data-field="{field}"' in html
    assert f'id="id_{field}"' in html
    assert DutyShift.objects.count() == before


def test_plan_overlap_is_reported_on_starts_at(login: Callable[[str], Client], city: City) -> None:
    c = login("committee_a1")
    assert c.post("/territory/duty/plan/", _form(city)).status_code == 302
    r = c.post("/territory/duty/plan/", _form(city))
    assert r.status_code == 400 and 'data-field="starts_at"' in r.content.decode()


def test_hours_page_totals_and_date_range(
    login: Callable[[str], Client], city: City, world: dict[str, Any]
) -> None:
    served(world["shift_a1"], minutes=90)
    c = login("operator_a")
    html = c.get("/territory/duty/hours/").content.decode()
    assert 'data-key="volunteer_a1"' in html and ">1.5<" in html
    assert f'data-key="{city["gate_a1"].code}"' in html
    assert 'data-key="310101001"' in html
    day = clock.today()
    since, until = day - dt.timedelta(days=9), day - dt.timedelta(days=2)
    past = c.get(f"/territory/duty/hours/?since={since}&until={until}")
    assert 'data-key="volunteer_a1"' not in past.content.decode()
    bad = c.get("/territory/duty/hours/?since=yesterday").content.decode()
    assert "since" in bad and 'role="alert"' in bad
