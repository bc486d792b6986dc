"""Health-code pages: the resident's own code, a person's code for staff, the rules editor;
and the `codes` command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.health.models import HealthCode, HealthCodeRule
from gridguard.health.services import codes
from gridguard.people.models import KeyPersonFlag
from tests import factories
from tests.conftest import City


def test_my_code_shows_colour_reasons_and_history(
    city: City, login: Callable[[str], Client]
) -> None:
    p = factories.person(city["compound_a1"], user=city.users["resident_a1"])
    KeyPersonFlag.objects.create(person=p, category="close_contact")
    codes.recompute([p.pk])
    r = login("resident_a1").get("/codes/me/", HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-colour="red"' in html
    assert 'data-rule="close-contact"' in html
    assert "data-change=" in html
    assert AuditEntry.objects.filter(action="read", object_id=str(p.pk)).exists()


def test_my_code_without_a_person(city: City, login: Callable[[str], Client]) -> None:
    r = login("resident_a1").get("/codes/me/")
    assert r.status_code == 200
    assert "data-colour" not in r.content.decode()


def test_person_page_is_scoped_and_audited(city: City, login: Callable[[str], Client]) -> None:
    p = factories.person(city["compound_b1"])
    assert login("operator_a").get(f"/codes/person/{p.pk}/").status_code == 404
    r = login("operator_b").get(f"/codes/person/{p.pk}/")
    assert r.status_code == 200
    assert f'data-person="{p.pk}"' in r.content.decode()
    assert AuditEntry.objects.filter(action="read", object_id=str(p.pk)).count() == 1
    assert login("pharmacist_b1").get(f"/codes/person/{p.pk}/").status_code == 403


def test_rules_page_for_admins_only(city: City, login: Callable[[str], Client]) -> None:
    r = login("admin").get("/codes/rules/")
    assert r.status_code == 200
    assert 'data-rule="fever-checkin"' in r.content.decode()
    assert login("operator_a").get("/codes/rules/").status_code == 403
    assert login("operator_a").post("/codes/rules/fever-checkin/", {}).status_code == 403


def _form(**over: str) -> dict[str, str]:
    data = {
        "condition": "fever",
        "params": '{"days": 3}',
        "colour": "red",
        "reason": "3天内体温异常",
        "reason_en": "Fever",
        "priority": "60",
        "valid_hours": "24",
        "active": "on",
    }
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"params": '{"days": "x"}'}, "params"),
        ({"params": "{not json"}, "params"),
        ({"condition": "moon"}, "condition"),
        ({"valid_hours": "many"}, "valid_hours"),
    ],
)
def test_rule_form_shows_errors_beside_fields(
    city: City, login: Callable[[str], Client], over: dict[str, str], field: str
) -> None:
    r = login("admin").post("/codes/rules/fever-checkin/", _form(**over))
    assert r.status_code == 400
    assert f'id="err-{field}"' in r.content.decode()
    assert HealthCodeRule.objects.get(code="fever-checkin").colour == "red"


def test_rule_form_saves_and_recomputes(city: City, login: Callable[[str], Client]) -> None:
    p = factories.person(city["compound_a1"])
    o = factories.order(p, status="released")
    with clock.frozen(dt.datetime(2020, 2, 10, 12, tzinfo=clock.SHANGHAI)):
        factories.checkin(o, temperature="38.0")
        r = login("admin").post("/codes/rules/fever-checkin/", _form(colour="yellow"))
    assert r.status_code == 302
    assert HealthCodeRule.objects.get(code="fever-checkin").colour == "yellow"
    # The worker recomputes every code after a rule change (too long for the request).
    with clock.frozen(dt.datetime(2020, 2, 10, 12, tzinfo=clock.SHANGHAI)):
        assert codes.recompute_after_rule_changes() >= 1
        assert codes.recompute_after_rule_changes() == 0  # once per change
    assert HealthCode.objects.get(person=p).colour == "yellow"
    assert AuditEntry.objects.filter(action="healthcode_rule.update").exists()


def test_command_recompute(city: City) -> None:
    p = factories.person(city["compound_a1"])
    KeyPersonFlag.objects.create(person=p, category="confirmed")
    out = StringIO()
    call_command("codes", "recompute", "--person", str(p.pk), stdout=out)
    assert out.getvalue().strip() == f"{p.pk}: red confirmed"
    out = StringIO()
    call_command("codes", "recompute", "--all", "--batch", "10", stdout=out)
    assert "1 persons" in out.getvalue() and "red 1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("codes", "recompute", "--person", "999999")
