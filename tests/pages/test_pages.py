"""Every page answers for the roles that use it, and refuses the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.core.models import AuditEntry
from tests.conftest import City

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client: Client, city: City) -> None:
    for url in ("/accounts/home/", f"/territory/{city['street_a'].code}/", "/territory/duty/"):
        r = client.get(url)
        assert r.status_code == 302
        assert r["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "username", ["admin", "operator_a", "committee_a1", "volunteer_a1", "health_a", "resident_a1"]
)
def test_home_answers_for_every_role(login: Callable[[str], Client], username: str) -> None:
    r = login(username).get("/accounts/home/")
    assert r.status_code == 200
    assert b"Welcome" in r.content or "欢迎".encode() in r.content


def test_home_shows_translated_kind_labels_and_links(
    login: Callable[[str], Client], city: City
) -> None:
    c = login("operator_a")
    r = c.get("/accounts/home/", HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert 'data-kind="gate"' in html and ">Gate<" in html
    assert ">compound<" not in html  # a label, never the raw kind code
    assert "/territory/duty/plan/" in html and "/territory/duty/hours/" in html
    assert "/audit/" not in html  # operators do not read the audit trail
    r = c.get("/accounts/home/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "出入口" in r.content.decode()


def test_field_user_gets_phone_layout_and_clock_button(
    login: Callable[[str], Client], world: dict[str, Any]
) -> None:
    html = login("volunteer_a1").get("/accounts/home/").content.decode()
    assert '<body class="field">' in html
    assert f'data-shift="{world["shift_a1"].pk}"' in html
    assert 'data-action="clock-in"' in html
    desk = login("operator_a").get("/accounts/home/").content.decode()
    assert '<body class="desk">' in desk


def test_admin_home_links_audit_and_admin(login: Callable[[str], Client]) -> None:
    html = login("admin").get("/accounts/home/").content.decode()
    assert "/audit/" in html and "/admin/" in html


def test_area_page_parts(login: Callable[[str], Client], city: City, world: dict[str, Any]) -> None:
    c = login("operator_a")
    r = c.get(f"/territory/{city['committee_a1'].code}/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    html = r.content.decode()
    # Breadcrumbs stop at the top of the user's scope (street A), not at the city.
    assert city["street_a"].name in html and city["district"].name not in html
    assert city["compound_a1"].name in html  # a child
    assert "网格A1" in html and "committee_a1" in html  # grid cell with its worker
    assert "138****5678" not in html  # operators may see phones…
    assert "13812345678" in html
    assert f"/territory/{city['committee_a1'].code}/places/gate/" in html


def test_phone_masked_for_role_without_reveal(
    login: Callable[[str], Client], city: City, world: dict[str, Any]
) -> None:
    html = login("volunteer_a1").get(f"/territory/{city['compound_a1'].code}/").content.decode()
    assert "138****5678" in html and "13812345678" not in html


def test_places_by_kind_page(login: Callable[[str], Client], city: City) -> None:
    c = login("operator_a")
    r = c.get(f"/territory/{city['street_a'].code}/places/gate/")
    assert r.status_code == 200
    html = r.content.decode()
    assert city["gate_a1"].name in html and city["gate_a2"].name in html
    assert city["gate_b1"].name not in html
    assert c.get(f"/territory/{city['street_a'].code}/places/spaceship/").status_code == 404


def test_responsible_detail_is_audited(
    login: Callable[[str], Client], world: dict[str, Any]
) -> None:
    row = world["resp_a1"]
    before = AuditEntry.objects.filter(action="read", object_id=str(row.pk)).count()
    r = login("committee_a1").get(f"/territory/responsible/{row.pk}/")
    assert r.status_code == 200
    assert "13812345678" in r.content.decode()
    after = AuditEntry.objects.filter(action="read", object_id=str(row.pk))
    assert after.count() == before + 1
    assert after.first().actor_label == "committee_a1"  # type: ignore[union-attr]


def test_resident_cannot_browse_territory(login: Callable[[str], Client], city: City) -> None:
    c = login("resident_a1")
    assert c.get(f"/territory/{city['compound_a1'].code}/").status_code == 403
    assert c.get("/territory/duty/plan/").status_code == 403
    assert c.get("/territory/duty/hours/").status_code == 403
    assert c.get("/audit/").status_code == 403


def test_wrong_role_gets_403(login: Callable[[str], Client]) -> None:
    v = login("volunteer_a1")
    assert v.get("/territory/duty/plan/").status_code == 403
    assert v.get("/audit/").status_code == 403
    assert login("operator_a").get("/audit/").status_code == 403
    assert login("admin").get("/audit/").status_code == 200


def test_area_map_script_only_with_boundaries(login: Callable[[str], Client], city: City) -> None:
    from gridguard.core.scoping import SYSTEM
    from gridguard.territory import services

    c = login("operator_a")
    url = f"/territory/{city['street_a'].code}/"
    assert b"area-geojson" not in c.get(url).content
    square = {
        "type": "Polygon",
        "coordinates": [[[121, 31], [121.1, 31], [121.1, 31.1], [121, 31]]],
    }
    services.update_area(SYSTEM, city["committee_a1"], boundary=square)
    html = c.get(url).content.decode()
    assert 'id="area-geojson"' in html and "echarts.min.js" in html
    assert city["committee_a1"].code in html.split('id="area-geojson"')[1]
