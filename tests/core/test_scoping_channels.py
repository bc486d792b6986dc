"""Every scoped model, through every way a person can read it: pages, API, exports and admin.

`test_scoping.py` proves `visible_to()` on each model; this file proves the doors use it. For each
model in `ROW_MAKERS`, `READERS` lists the channels that can show its rows. Each reader fetches
what a user of street A would see and looks for a marker of the street-B row: it must be absent
for street A and present for street B (so a reader that shows nothing fails too). A scoped model
without an entry here fails `test_every_scoped_model_has_readers`.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import models
from django.test import Client

from gridguard.accounts import services as accounts
from gridguard.accounts.models import ApiToken, RoleBinding
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM, scoped_models
from gridguard.territory.models import Area, DutyShift, GridCell, Responsibility
from tests.conftest import PASSWORD, City
from tests.core.test_scoping import ROW_MAKERS
from tests.scoping_support import (
    ADMIN,
    Reader,
    collect,
)
from tests.scoping_support import (
    area_code_marker as _area_code,
)
from tests.scoping_support import (
    code_marker as _code,
)
from tests.scoping_support import (
    get as _get,
)

pytestmark = pytest.mark.django_db


READERS: dict[type[models.Model], list[Reader]] = {
    Area: [
        Reader("page", "operator", lambda c, _city, row: c.get(f"/territory/{row.code}/"), _code),
        Reader("api", "operator", _get("/api/v1/territory/areas?limit=500"), _code),
        Reader("api", "operator", _get("/api/v1/territory/places?kind=compound"), _code),
        Reader("export", "operator", _get("/api/v1/territory/export?format=csv"), _code),
        ADMIN,
    ],
    GridCell: [
        Reader("api", "operator", _get("/api/v1/territory/grid-cells?limit=500"), _code),
        ADMIN,
    ],
    Responsibility: [
        Reader(
            "page",
            "operator",
            lambda c, _city, row: c.get(f"/territory/responsible/{row.pk}/"),
            lambda _c, row: str(row.area.name),
        ),
        Reader("api", "operator", _get("/api/v1/territory/responsible?limit=500"), _area_code),
        Reader(
            "export",
            "operator",
            _get("/api/v1/territory/export?format=csv&what=responsible"),
            _area_code,
        ),
        ADMIN,
    ],
    DutyShift: [
        Reader(
            "api",
            "operator",
            lambda c, _city, row: c.get(
                f"/api/v1/territory/duty/shifts?day={row.starts_at.date()}&limit=500"
            ),
            _area_code,
        ),
        ADMIN,
    ],
    RoleBinding: [ADMIN],
    ApiToken: [
        Reader("api", "admin", _get("/api/v1/accounts/tokens?limit=500"), lambda _c, r: r.key_id),
        ADMIN,
    ],
    AuditEntry: [
        Reader(
            "page",
            "admin",
            lambda c, _city, row: c.get(f"/audit/?object_id={row.object_id}&action={row.action}"),
            lambda _c, row: str(row.area_path),
        ),
        ADMIN,
    ],
    **collect("READERS"),
}


def test_every_scoped_model_has_readers() -> None:
    missing = set(scoped_models()) - set(READERS)
    assert not missing, f"add readers for {sorted(m.__name__ for m in missing)}"
    for model in scoped_models():
        assert model in admin.site._registry, f"{model.__name__} is not in the admin"
        assert ADMIN in READERS[model]


def _clients(city: City, who: str) -> tuple[Client, Client]:
    """(street A's, street B's) logged-in clients for an operator or an administrator."""
    if who == "operator":
        users = city.users["operator_a"], city.users["operator_b"]
    else:
        users = tuple(
            accounts.create_user(
                SYSTEM,
                username=f"admin_{side}",
                password=PASSWORD,
                bindings=[("system_admin", city[f"street_{side}"])],
                validate=False,
            )
            for side in ("a", "b")
        )
    made = []
    for user in users:
        c = Client()
        c.force_login(user)
        made.append(c)
    return made[0], made[1]


CASES = [
    pytest.param(model, i, id=f"{model.__name__}-{reader.channel}-{i}")
    for model, readers in READERS.items()
    for i, reader in enumerate(readers)
]


@pytest.mark.parametrize(("model", "index"), CASES)
def test_street_a_cannot_read_street_b_through_any_door(
    city: City, model: type[models.Model], index: int
) -> None:
    reader = READERS[model][index]
    ROW_MAKERS[model](city, "a")
    row_b = ROW_MAKERS[model](city, "b")
    client_a, client_b = _clients(city, reader.who)
    seen_by_a = reader.fetch(client_a, city, row_b)
    seen_by_b = reader.fetch(client_b, city, row_b)
    assert seen_by_b.status_code == 200, seen_by_b.content[:300]
    if reader.channel == "admin":
        # The admin answers an object outside the user's scope as missing.
        assert seen_by_a.status_code in (302, 404)
        if seen_by_a.status_code == 302:
            assert seen_by_a["Location"] == "/admin/"
        return
    marker = reader.marker(city, row_b)
    assert marker, "a reader needs a marker"
    body_b = b"".join(seen_by_b.streaming_content) if seen_by_b.streaming else seen_by_b.content
    assert marker in body_b.decode(), f"street B's own {reader.channel} lacks {marker}"
    if seen_by_a.status_code == 404:
        return  # a single object outside the scope does not exist for street A
    assert seen_by_a.status_code == 200
    body_a = b"".join(seen_by_a.streaming_content) if seen_by_a.streaming else seen_by_a.content
    assert marker not in body_a.decode(), f"street A read {marker} through {reader.channel}"
