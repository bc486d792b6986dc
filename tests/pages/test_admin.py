"""The admin: staff only, scoped lists, out-of-scope objects unreachable, audit read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gridguard.accounts import services as accounts
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from tests.conftest import PASSWORD, City

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(city: City) -> Any:
    """A system administrator of street A only (is_staff comes with the role)."""
    return accounts.create_user(
        SYSTEM,
        username="admin_a",
        password=PASSWORD,
        bindings=[("system_admin", city["street_a"])],
        validate=False,
    )


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_system_admin_role_gives_staff(city: City, admin_a: Any) -> None:
    admin_a.refresh_from_db()
    assert admin_a.is_staff
    city.users["admin"].refresh_from_db()
    assert city.users["admin"].is_staff
    assert not city.users["operator_a"].is_staff


def test_non_staff_cannot_enter_admin(login: Callable[[str], Client]) -> None:
    r = login("operator_a").get("/admin/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def test_admin_lists_are_scoped(city: City, admin_a: Any, world: dict[str, Any]) -> None:
    c = _client(admin_a)
    areas = c.get("/admin/territory/area/?q=310101").content.decode()
    assert city["gate_a1"].code in areas and city["gate_b1"].code not in areas
    resp = c.get("/admin/territory/responsibility/").content.decode()
    assert "门长A1" in resp and "门长B1" not in resp
    shifts = c.get("/admin/territory/dutyshift/").content.decode()
    assert "committee_b1" not in shifts


def test_admin_cannot_open_street_b_objects(
    city: City, admin_a: Any, world: dict[str, Any]
) -> None:
    c = _client(admin_a)
    urls = [
        f"/admin/territory/area/{city['gate_b1'].pk}/change/",
        f"/admin/territory/area/{city['street_b'].pk}/delete/",
        f"/admin/territory/responsibility/{world['resp_b1'].pk}/change/",
        f"/admin/territory/gridcell/{world['cell_b1'].pk}/change/",
        f"/admin/territory/dutyshift/{world['shift_b1'].pk}/change/",
        f"/admin/accounts/user/{city.users['operator_b'].pk}/change/",
    ]
    for url in urls:
        r = c.get(url)
        # Django's admin answers a missing object with a redirect to the index.
        assert r.status_code in (302, 404), url
        if r.status_code == 302:
            assert r["Location"] == "/admin/", url
    r = c.post(f"/admin/territory/area/{city['gate_b1'].pk}/change/", {"name": "hacked"})
    city["gate_b1"].refresh_from_db()
    assert city["gate_b1"].name != "hacked"
    # street A's own gate opens
    assert c.get(f"/admin/territory/area/{city['gate_a1'].pk}/change/").status_code == 200


def test_area_admin_edits_through_services(city: City, admin_a: Any) -> None:
    c = _client(admin_a)
    gate = city["gate_a1"]
    r = c.post(
        f"/admin/territory/area/{gate.pk}/change/",
        {"name": "北门(新)", "address": "", "active": "on"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    gate.refresh_from_db()
    assert gate.name == "北门(新)" and gate.code == city["gate_a1"].code
    assert AuditEntry.objects.filter(
        action="territory.area.update", object_id=str(gate.pk)
    ).exists()
    # a new area with a code that breaks the tree is refused and names the field
    r = c.post(
        "/admin/territory/area/add/",
        {"code": "999", "name": "x", "kind": "gate", "parent": city["compound_a1"].pk},
    )
    assert r.status_code == 200 and b"errorlist" in r.content
    r = c.post(
        "/admin/territory/area/add/",
        {
            "code": city["compound_a1"].code + "G02",
            "name": "南门",
            "kind": "gate",
            "parent": city["compound_a1"].pk,
            "active": "on",
        },
    )
    assert r.status_code == 302
    from gridguard.territory.models import Area

    new = Area.objects.get(code=city["compound_a1"].code + "G02")
    assert new.path == city["compound_a1"].path + new.code + "/" and new.depth == 5


def test_audit_entries_are_read_only(city: City) -> None:
    c = _client(city.users["admin"])
    entry = AuditEntry.objects.order_by("seq").first()
    assert entry is not None
    assert c.get("/admin/core/auditentry/").status_code == 200
    assert c.get(f"/admin/core/auditentry/{entry.pk}/change/").status_code == 200
    assert c.get("/admin/core/auditentry/add/").status_code == 403
    assert c.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
