"""Every model that belongs to a place is scoped: a user of one street reads nothing of another.

`ROW_MAKERS` must name every scoped model. A new scoped model without a maker fails
`test_every_scoped_model_is_covered`, so the scoping proof cannot silently miss it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import models

from gridguard.accounts.models import ApiToken, RoleBinding
from gridguard.accounts.services import issue_token
from gridguard.core import audit
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM, covers, paths_of, scoped_models
from gridguard.territory import services as territory
from gridguard.territory.models import Area, DutyShift, GridCell, Responsibility
from tests.conftest import City
from tests.scoping_support import collect

RowMaker = Callable[[City, str], models.Model]


def _gate(city: City, side: str) -> Area:
    return city[f"gate_{side}1"]


def _shift(city: City, side: str) -> models.Model:
    start = dt.datetime(2020, 2, 10, 8, tzinfo=dt.UTC)
    volunteer = city.users["volunteer_a1"] if side == "a" else city.users["committee_b1"]
    return territory.plan_shift(
        SYSTEM,
        area=_gate(city, side),
        user=volunteer,
        post="volunteer",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
    )


ROW_MAKERS: dict[type[models.Model], RowMaker] = {
    Area: lambda c, s: c[f"compound_{s}1"],
    GridCell: lambda c, s: GridCell.objects.create(
        area=c[f"committee_{s}1"], code=f"{c[f'committee_{s}1'].code}W01", name="网格一"
    ),
    Responsibility: lambda c, s: territory.set_responsible(
        SYSTEM, area=_gate(c, s), kind="gate_chief", person_name="王建国", phone="13800138000"
    ),
    DutyShift: _shift,
    RoleBinding: lambda c, s: RoleBinding.objects.get(user=c.users[f"committee_{s}1"]),
    ApiToken: lambda c, s: issue_token(
        SYSTEM, name="北门扫码枪", purpose="gate_scanner", area=_gate(c, s)
    )[0],
    AuditEntry: lambda c, s: audit.record(SYSTEM, "test.touch", c[f"compound_{s}1"]),
    **collect("ROW_MAKERS"),
}


def test_every_scoped_model_is_covered() -> None:
    missing = set(scoped_models()) - set(ROW_MAKERS)
    assert not missing, f"add a row maker for {sorted(m.__name__ for m in missing)}"


@pytest.mark.parametrize("model", list(ROW_MAKERS), ids=lambda m: m.__name__)
def test_street_user_reads_only_their_street(city: City, model: type[models.Model]) -> None:
    row_a = ROW_MAKERS[model](city, "a")
    row_b = ROW_MAKERS[model](city, "b")
    manager: Any = model._default_manager
    visible_a = set(manager.visible_to(city.users["operator_a"]).values_list("pk", flat=True))
    visible_b = set(manager.visible_to(city.users["operator_b"]).values_list("pk", flat=True))
    assert row_a.pk in visible_a and row_b.pk not in visible_a
    assert row_b.pk in visible_b and row_a.pk not in visible_b
    # The committee worker of A1 sees A1's row; the committee of B1 never A's.
    visible_c = set(manager.visible_to(city.users["committee_b1"]).values_list("pk", flat=True))
    assert row_a.pk not in visible_c


def test_committee_user_sees_only_their_committee(city: City) -> None:
    worker = city.users["committee_a1"]
    codes = set(Area.objects.visible_to(worker).values_list("code", flat=True))
    assert codes == set(
        Area.objects.filter(path__startswith=city["committee_a1"].path).values_list(
            "code", flat=True
        )
    )
    assert city["committee_a2"].code not in codes
    assert city["street_a"].code not in codes  # not even the street above


def test_resident_binding_opens_no_records(city: City) -> None:
    assert paths_of(city.users["resident_a1"]) == ()
    assert not Area.objects.visible_to(city.users["resident_a1"]).exists()


def test_anonymous_and_inactive_see_nothing(city: City) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not Area.objects.visible_to(AnonymousUser()).exists()
    user = city.users["operator_a"]
    user.is_active = False
    assert not Area.objects.visible_to(user).exists()


def test_nested_bindings_reduce_and_cover(city: City) -> None:
    from gridguard.accounts.services import bind_role

    user = city.users["operator_a"]
    bind_role(SYSTEM, user=user, role="committee_worker", area=city["committee_a1"])
    user.forget_bindings()
    assert paths_of(user) == (city["street_a"].path,)
    assert covers(user, city["gate_a1"].path)
    assert not covers(user, city["gate_b1"].path)


def test_audit_rows_without_area_are_for_the_whole_city_only(city: City) -> None:
    entry = audit.record(SYSTEM, "test.no_area")
    assert not AuditEntry.objects.visible_to(city.users["admin"]).filter(pk=entry.pk).exists() or (
        city.users["admin"].is_superuser
    )
    assert not AuditEntry.objects.visible_to(city.users["operator_a"]).filter(pk=entry.pk).exists()
