"""A street-A user cannot see street B through any page or the admin, and the reverse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import City
from tests.pages.conftest import served

pytestmark = pytest.mark.django_db


def _b_urls(city: City, world: dict[str, Any]) -> list[str]:
    """Every page URL that names a street-B object."""
    return [
        f"/territory/{city['street_b'].code}/",
        f"/territory/{city['committee_b1'].code}/",
        f"/territory/{city['compound_b1'].code}/",
        f"/territory/{city['gate_b1'].code}/",
        f"/territory/{city['checkpoint_b'].code}/",
        f"/territory/{city['street_b'].code}/places/gate/",
        f"/territory/responsible/{world['resp_b1'].pk}/",
    ]


def test_street_a_operator_gets_404_for_every_street_b_page(
    login: Callable[[str], Client], city: City, world: dict[str, Any]
) -> None:
    c = login("operator_a")
    for url in _b_urls(city, world):
        assert c.get(url).status_code == 404, url
    # and the mirror: street B's operator cannot open street A
    b = login("operator_b")
    assert b.get(f"/territory/{city['street_a'].code}/").status_code == 404
    assert b.get(f"/territory/responsible/{world['resp_a1'].pk}/").status_code == 404


def test_shared_parents_are_not_reachable(login: Callable[[str], Client], city: City) -> None:
    c = login("operator_a")
    assert c.get(f"/territory/{city['district'].code}/").status_code == 404
    assert c.get(f"/territory/{city['city'].code}/").status_code == 404


def test_lists_hide_street_b(
    login: Callable[[str], Client], city: City, world: dict[str, Any]
) -> None:
    served(world["shift_a1"])
    served(world["shift_b1"])
    c = login("operator_a")
    pages = [
        "/accounts/home/",
        f"/territory/{city['street_a'].code}/",
        f"/territory/{city['street_a'].code}/places/gate/",
        f"/territory/{city['street_a'].code}/places/checkpoint/",
        "/territory/duty/plan/",
        "/territory/duty/hours/",
    ]
    for url in pages:
        html = c.get(url).content.decode()
        for secret in (
            city["street_b"].name,
            city["gate_b1"].name,
            city["checkpoint_b"].name,
            "门长B1",
            "13987654321",
            "987****4321".replace("987", "139"),
            "committee_b1",
            "网格B1",
        ):
            assert secret not in html, (url, secret)


def test_committee_user_sees_only_their_committee(
    login: Callable[[str], Client], city: City, world: dict[str, Any]
) -> None:
    c = login("committee_a1")
    assert c.get(f"/territory/{city['committee_a1'].code}/").status_code == 200
    assert c.get(f"/territory/{city['committee_a2'].code}/").status_code == 404
    assert c.get(f"/territory/{city['street_a'].code}/").status_code == 404
    html = c.get("/territory/duty/plan/").content.decode()
    assert city["gate_a1"].code in html
    assert city["gate_a2"].code not in html and city["checkpoint_a"].code not in html
    home = c.get("/accounts/home/").content.decode()
    assert city["committee_a2"].name not in home


def test_clock_route_refuses_someone_elses_shift(
    login: Callable[[str], Client], world: dict[str, Any]
) -> None:
    c = login("volunteer_a1")
    r = c.post(f"/territory/duty/{world['shift_b1'].pk}/in/")
    assert r.status_code == 404
    world["shift_b1"].refresh_from_db()
    assert world["shift_b1"].clocked_in_at is None


def test_plan_refuses_street_b_gate_and_person(
    login: Callable[[str], Client], city: City, world: dict[str, Any]
) -> None:
    from gridguard.territory.models import DutyShift

    before = DutyShift.objects.count()
    r = login("operator_a").post(
        "/territory/duty/plan/",
        {
            "area": city["gate_b1"].code,
            "user": "committee_b1",
            "post": "official",
            "starts_at": "2030-01-01T08:00",
            "ends_at": "2030-01-01T12:00",
        },
    )
    assert r.status_code == 400
    assert DutyShift.objects.count() == before
    html = r.content.decode()
    assert 'data-field="area"' in html and 'data-field="user"' in html
