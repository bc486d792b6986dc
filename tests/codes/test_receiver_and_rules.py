"""The receiver recomputes on announced facts; administrators' rule changes are checked,
audited and recompute every code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from gridguard.health.code_facts import validate_params
from gridguard.health.models import HealthCode, HealthCodeChange, HealthCodeRule
from gridguard.health.services import codes
from gridguard.people import services as people
from gridguard.people.models import Person
from tests import factories
from tests.conftest import City

T0 = dt.datetime(2020, 2, 12, 10, 0, tzinfo=clock.SHANGHAI)


def test_a_flag_changes_the_code_on_commit(
    city: City, django_capture_on_commit_callbacks: Any
) -> None:
    p = factories.person(city["compound_a1"])
    with clock.frozen(T0):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            people.add_flag(SYSTEM, p, "close_contact")
        assert callbacks, "the recompute waits for the commit"
        code = HealthCode.objects.get(person=p)
        assert code.colour == "red"
        assert code.reasons[0]["rule"] == "close-contact"
        with django_capture_on_commit_callbacks(execute=True):
            people.end_flag(SYSTEM, p, "close_contact")
    code.refresh_from_db()
    assert code.colour == "green"
    assert list(
        HealthCodeChange.objects.filter(person=p)
        .order_by("pk")
        .values_list("new_colour", flat=True)
    ) == ["red", "green"]


def test_nothing_is_recomputed_before_the_commit(
    city: City, django_capture_on_commit_callbacks: Any
) -> None:
    p = factories.person(city["compound_a1"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        people.add_flag(SYSTEM, p, "confirmed")
    assert len(callbacks) >= 1
    assert not HealthCode.objects.filter(person=p).exists()


def _fever_person(city: City) -> Person:
    p = factories.person(city["compound_a1"])
    o = factories.order(p, starts_on=dt.date(2020, 2, 12))
    factories.checkin(o, temperature="38.2")
    o.status = "released"
    o.save()
    return p


def test_admin_makes_fever_yellow_audited_and_recomputed(city: City) -> None:
    with clock.frozen(T0):
        p = _fever_person(city)
        codes.recompute_all()
        assert HealthCode.objects.get(person=p).colour == "red"
        rule = HealthCodeRule.objects.get(code="fever-checkin")
        codes.update_rule(city.users["admin"], rule, colour="yellow", recompute_now=True)
    assert HealthCode.objects.get(person=p).colour == "yellow"
    entry = AuditEntry.objects.filter(action="healthcode_rule.update").get()
    assert entry.detail == {"before": {"colour": "red"}, "after": {"colour": "yellow"}}
    assert entry.actor_id == city.users["admin"].pk
    assert AuditEntry.objects.filter(action="healthcode.recompute_all").exists()
    assert HealthCodeChange.objects.filter(person=p, old_colour="red", new_colour="yellow").exists()


def test_deactivating_a_rule_turns_its_persons_green(city: City) -> None:
    with clock.frozen(T0):
        p = _fever_person(city)
        codes.recompute_all()
        codes.update_rule(
            city.users["admin"],
            HealthCodeRule.objects.get(code="fever-checkin"),
            active=False,
            recompute_now=True,
        )
    assert HealthCode.objects.get(person=p).colour == "green"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"condition": "moon_phase"}, "condition"),
        ({"params": {"days": "three"}}, "params"),
        ({"params": {"days": 3, "weeks": 1}}, "params"),
        ({"params": {}}, "params"),
        ({"params": [3]}, "params"),
        ({"colour": "blue"}, "colour"),
        ({"valid_hours": 0}, "valid_hours"),
        ({"priority": "high"}, "priority"),
        ({"reason": ""}, "reason"),
        ({"active": "yes"}, "active"),
    ],
)
def test_bad_rule_edits_are_refused_naming_the_field(
    city: City, fields: dict[str, Any], field: str
) -> None:
    rule = HealthCodeRule.objects.get(code="fever-checkin")
    with pytest.raises(InvalidInput) as exc:
        codes.update_rule(city.users["admin"], rule, **fields)
    assert field in [e.field for e in exc.value.errors]
    rule.refresh_from_db()
    assert (rule.condition, rule.colour, rule.params) == ("fever", "red", {"days": 3})
    assert not AuditEntry.objects.filter(action="healthcode_rule.update").exists()


def test_only_system_admins_edit_rules(city: City) -> None:
    rule = HealthCodeRule.objects.get(code="fever-checkin")
    with pytest.raises(NotPermitted):
        codes.update_rule(city.users["operator_a"], rule, colour="yellow")
    rule.refresh_from_db()
    assert rule.colour == "red"


def test_create_rule(city: City) -> None:
    with clock.frozen(T0):
        p = factories.person(city["compound_a1"])
        people.add_flag(SYSTEM, p, "elderly_alone")
        rule = codes.create_rule(
            city.users["admin"],
            code="elderly",
            condition="flag",
            params={"category": "elderly_alone"},
            colour="yellow",
            reason="独居老人",
        )
        assert codes.rules_changed_since_recompute()
        codes.recompute_after_rule_changes()  # what the worker does next
        assert not codes.rules_changed_since_recompute()
    assert rule.pk and HealthCode.objects.get(person=p).colour == "yellow"
    assert AuditEntry.objects.filter(action="healthcode_rule.create").exists()
    with pytest.raises(InvalidInput) as exc:
        codes.create_rule(
            city.users["admin"],
            code="elderly",
            condition="in_observation",
            colour="red",
            reason="x",
        )
    assert exc.value.errors[0].field == "code"


def test_validate_params_cleans() -> None:
    assert validate_params("missed_checkins", {"days": 2, "count": 3}) == {"days": 2, "count": 3}
    assert validate_params("in_observation", None) == {}
    with pytest.raises(InvalidInput):
        validate_params("flag", {"category": "martian"})
    with pytest.raises(InvalidInput):
        validate_params("fever", {"days": True})
