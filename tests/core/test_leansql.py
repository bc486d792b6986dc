"""The precompiled one-row SQL of the hot device paths gives what the ORM gives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from gridguard.accounts.models import ApiToken
from gridguard.accounts.services import issue_token
from gridguard.core import clock, leansql
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import RegistrationIntake
from tests.conftest import City


def _intake(key: str, code: str) -> RegistrationIntake:
    return RegistrationIntake(
        receipt_code=code,
        submission_key=key,
        channel="checkpoint_device",
        actor_label="device",
        declaration={"name": "王芳", "temperature": "36.6", "symptoms": ["cough"]},
    )


def test_insert_writes_the_row_the_orm_reads_back(city: City) -> None:
    intake = _intake("k-1", "ABCDEFGHJK")
    leansql.insert(intake)
    assert intake.pk is not None and not intake._state.adding
    again = RegistrationIntake.objects.get(pk=intake.pk)
    assert again.declaration == {"name": "王芳", "temperature": "36.6", "symptoms": ["cough"]}
    assert again.submission_key == "k-1"
    # The field default (clock.now) was applied, as save() would.
    assert abs(again.received_at - clock.now()) < dt.timedelta(minutes=1)
    assert again.processed_at is None


def test_insert_breaks_a_unique_constraint_like_save(city: City) -> None:
    leansql.insert(_intake("same", "ABCDEFGHJK"))
    with pytest.raises(IntegrityError), transaction.atomic():
        leansql.insert(_intake("same", "ZYXWVUTSRQ"))
    assert RegistrationIntake.objects.filter(submission_key="same").count() == 1


def test_insert_unless_exists_leaves_the_first_row_alone(city: City) -> None:
    first = _intake("retry", "ABCDEFGHJK")
    assert leansql.insert(first, unless_exists="submission_key") is True
    again = _intake("retry", "ZYXWVUTSRQ")
    assert leansql.insert(again, unless_exists="submission_key") is False
    assert again.pk is None
    rows = RegistrationIntake.objects.filter(submission_key="retry")
    assert [r.receipt_code for r in rows] == ["ABCDEFGHJK"]


def test_insert_together_writes_both_and_the_second_even_when_the_first_exists(
    city: City,
) -> None:
    from gridguard.core.models import AuditInbox

    def inbox() -> AuditInbox:
        return AuditInbox(at=clock.now(), action="read", object_type="people.person")

    first, row = _intake("pair", "ABCDEFGHJK"), inbox()
    assert leansql.insert_together(first, row, unless_exists="submission_key") is True
    assert first.pk is not None and row.pk is not None
    again, row2 = _intake("pair", "ZYXWVUTSRQ"), inbox()
    assert leansql.insert_together(again, row2, unless_exists="submission_key") is False
    assert again.pk is None and row2.pk is not None
    assert RegistrationIntake.objects.filter(submission_key="pair").count() == 1
    assert AuditInbox.objects.filter(pk__in=[row.pk, row2.pk]).count() == 2


def test_get_with_related_equals_select_related(city: City) -> None:
    area = city["street_a"]
    area.latitude = Decimal("31.230416")
    area.boundary = {"type": "Point", "coordinates": [121.47, 31.23]}
    area.save()
    token, _secret = issue_token(SYSTEM, name="gate", purpose="gate_scanner", area=area)
    lean = leansql.get_with_related(ApiToken, "area", key_id=token.key_id)
    orm = ApiToken.objects.select_related("area").get(key_id=token.key_id)
    assert lean is not None
    for field in ApiToken._meta.concrete_fields:
        assert getattr(lean, field.attname) == getattr(orm, field.attname), field.name
    for field in type(area)._meta.concrete_fields:
        assert getattr(lean.area, field.attname) == getattr(orm.area, field.attname), field.name
    assert isinstance(lean.created_at, dt.datetime) and lean.created_at.tzinfo is not None
    assert lean.area.latitude == Decimal("31.230416")
    assert lean.area.boundary == {"type": "Point", "coordinates": [121.47, 31.23]}


def test_get_with_related_of_no_row_is_none(city: City) -> None:
    assert leansql.get_with_related(ApiToken, "area", key_id="nosuchkey") is None


def test_get_with_related_reads_a_one_to_one_pointing_back_and_two_keys(city: City) -> None:
    """A person by identity document with their health code (a reverse one-to-one) and area,
    as the gates' look-up reads it; a person with no code yet reads as having none."""
    from gridguard.health.models import HealthCode
    from gridguard.people.models import Person

    area = city["compound_a1"]
    coded = Person.objects.create(area=area, id_type="passport", id_number="E1", name="甲")
    bare = Person.objects.create(area=area, id_type="passport", id_number="E2", name="乙")
    now = clock.now()
    HealthCode.objects.create(
        person=coded,
        colour="yellow",
        reasons=[{"rule": "r"}],
        computed_at=now,
        expires_at=now + dt.timedelta(hours=1),
    )
    lean = leansql.get_with_related(
        Person, ("health_code", "area"), id_type="passport", id_number="E1"
    )
    assert lean is not None and lean.pk == coded.pk
    assert lean.health_code.colour == "yellow" and lean.health_code.reasons == [{"rule": "r"}]
    assert lean.area.path == area.path
    without = leansql.get_with_related(
        Person, ("health_code", "area"), id_type="passport", id_number="E2"
    )
    assert without is not None and without.pk == bare.pk
    assert getattr(without, "health_code", None) is None
    assert leansql.get_with_related(Person, "area", id_type="resident_id", id_number="E1") is None


def test_get_with_related_writes_the_log_row_only_when_it_finds_the_row(city: City) -> None:
    """The gates' audited read: the audit inbox row takes the person's id and area path from
    the row read (one statement on PostgreSQL), and nothing is written when nobody matches."""
    from gridguard.core import audit
    from gridguard.core.models import AuditInbox
    from gridguard.people.models import Person

    area = city["compound_a1"]
    person = Person.objects.create(area=area, id_type="passport", id_number="E9", name="丙")
    before = AuditInbox.objects.count()
    read = audit.inbox_row(SYSTEM, "read", object_type="people.person", detail={"fields": ["x"]})
    found = leansql.get_with_related(
        Person,
        ("health_code", "area"),
        log=read,
        log_from={"object_id": "pk", "area_path": "area.path"},
        id_type="passport",
        id_number="E9",
    )
    assert found is not None and found.pk == person.pk
    row = AuditInbox.objects.get(pk=read.pk)
    assert (row.object_type, row.object_id, row.area_path) == (
        "people.person",
        str(person.pk),
        area.path,
    )
    assert row.action == "read" and row.detail == {"fields": ["x"]}
    missing = audit.inbox_row(SYSTEM, "read", object_type="people.person")
    nobody = leansql.get_with_related(
        Person,
        "area",
        log=missing,
        log_from={"object_id": "pk", "area_path": "area.path"},
        id_type="passport",
        id_number="NOSUCH",
    )
    assert nobody is None and missing.pk is None
    assert AuditInbox.objects.count() == before + 1
