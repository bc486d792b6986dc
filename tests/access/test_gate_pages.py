"""The gate volunteer's pages: which gates one may open, and the scan page shell (A2)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.test import Client

from gridguard.access.models import Verdict
from gridguard.territory.models import Area
from tests.conftest import City


def _listed(response: object) -> set[str]:
    return set(re.findall(r'data-gate="([^"]+)"', response.content.decode()))  # type: ignore[attr-defined]


def test_gate_pages_need_a_login(city: City) -> None:
    client = Client()
    for url in ("/gate/", f"/gate/{city['gate_a1'].code}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_a_volunteer_sees_the_gates_of_their_compound(
    city: City, login: Callable[[str], Client]
) -> None:
    response = login("volunteer_a1").get("/gate/")
    assert response.status_code == 200
    assert _listed(response) == {city["gate_a1"].code}
    # A committee worker scans at every gate of the committee's compounds, no other.
    assert _listed(login("committee_a1").get("/gate/")) == {city["gate_a1"].code}
    assert _listed(login("committee_b1").get("/gate/")) == {city["gate_b1"].code}


def test_roles_without_gate_scan_see_no_gate(city: City, login: Callable[[str], Client]) -> None:
    for username in ("operator_a", "health_a", "resident_a1", "pharmacist_a1"):
        response = login(username).get("/gate/")
        assert response.status_code == 200
        assert _listed(response) == set(), username
        assert login(username).get(f"/gate/{city['gate_a1'].code}/").status_code == 404


def test_the_scan_page_carries_the_gate_and_the_words(
    city: City, login: Callable[[str], Client]
) -> None:
    gate = city["gate_a1"]
    response = login("volunteer_a1").get(f"/gate/{gate.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-gate="{gate.code}"' in html
    assert f'data-compound="{city["compound_a1"].code}"' in html
    assert 'data-api="/api/v1/"' in html
    assert "gridguard/gate/gate.js" in html and "vendor/jsQR.js" in html
    strings = json.loads(
        re.search(
            r'<script id="gate-strings" type="application/json">(.*?)</script>', html, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert set(strings["reasons"]) == set(Verdict.values)
    assert "no-cache" in response.get("Cache-Control", "")


def test_a_gate_out_of_scope_or_unknown_is_404(city: City, login: Callable[[str], Client]) -> None:
    client = login("volunteer_a1")
    for key in ("gate_a2", "gate_b1"):
        assert client.get(f"/gate/{city[key].code}/").status_code == 404
    assert client.get("/gate/310101001001C001G99/").status_code == 404
    # An area of another kind inside the volunteer's compound is not a gate.
    assert client.get(f"/gate/{city['building_a1'].code}/").status_code == 404


def test_an_inactive_gate_is_not_offered(city: City, login: Callable[[str], Client]) -> None:
    Area.objects.filter(pk=city["gate_a1"].pk).update(active=False)
    client = login("volunteer_a1")
    assert _listed(client.get("/gate/")) == set()
    assert client.get(f"/gate/{city['gate_a1'].code}/").status_code == 404


def test_the_list_can_be_searched(city: City, login: Callable[[str], Client]) -> None:
    client = login("committee_a1")
    assert _listed(client.get("/gate/", {"q": "北门"})) == {city["gate_a1"].code}
    assert _listed(client.get("/gate/", {"q": city["gate_a1"].code[:12]})) == {city["gate_a1"].code}
    response = client.get("/gate/", {"q": "nothing like it"})
    assert _listed(response) == set()
    assert "No gate matches." in response.content.decode() or "empty" in response.content.decode()


def test_the_service_worker_is_served_under_gate(city: City) -> None:
    response = Client().get("/gate/sw.js")  # no login: it holds no data
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert "/static/gridguard/gate/verify.js" in body and "/static/vendor/jsQR.js" in body
    assert 'const SCOPE = "/gate/"' in body
