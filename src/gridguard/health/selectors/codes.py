"""Reads of health codes: a person's current code (recomputed when it has expired), their
history of changes, the rules. Staff reads are scoped to the reader's territory; a device
looking a code up by identity document is not (a person shows their code wherever they go),
but every read is audited by the caller."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gridguard.core import audit, clock, leansql
from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import require_permission
from gridguard.health.models import HealthCode, HealthCodeChange, HealthCodeRule
from gridguard.people.models import Person


def _fresh(person: Person, code: HealthCode | None) -> HealthCode:
    """The person's code, recomputed (and stored) first when it is missing or expired."""
    if code is not None and code.expires_at > clock.now():
        return code
    from gridguard.health.services.codes import recompute

    recompute([person.pk])
    return HealthCode.objects.get(person_id=person.pk)


def code_for(actor: Any, person: Person) -> HealthCode:
    """`person`'s current code, if the actor may read codes in the person's area."""
    require_permission(actor, "healthcode.view")
    code = HealthCode.objects.visible_to(actor).filter(person_id=person.pk).first()
    if code is None and not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise OutOfScope()
    return _fresh(person, code)


def code_by_person_id(actor: Any, person_id: int) -> tuple[Person, HealthCode]:
    """One query on the hot path: the person (in the actor's territory) with their code."""
    require_permission(actor, "healthcode.view")
    person = (
        Person.objects.visible_to(actor)
        .select_related("health_code", "area")
        .filter(pk=person_id)
        .first()
    )
    if person is None:
        raise OutOfScope()
    return person, _fresh(person, getattr(person, "health_code", None))


def code_by_identity(actor: Any, id_type: str, id_number: str) -> tuple[Person, HealthCode]:
    """A gate or an integration looks a code up by identity document; the read is audited.

    Gates ask many times a second: one prepared statement reads the person, their code and
    area and writes the audit inbox row (bench/health_codes.py), no ORM compiling."""
    require_permission(actor, "healthcode.view")
    read = audit.inbox_row(
        actor, "read", object_type=Person._meta.label_lower, detail={"fields": ["health_code"]}
    )
    person = leansql.get_with_related(
        Person,
        ("health_code", "area"),
        log=read,
        log_from={"object_id": "pk", "area_path": "area.path"},
        id_type=id_type,
        id_number=id_number.strip().upper(),
    )
    if person is None:
        raise OutOfScope()
    return person, _fresh(person, getattr(person, "health_code", None))


def own_code(user: Any) -> tuple[Person, HealthCode] | None:
    """A resident's own person record and code (None when the login is linked to nobody)."""
    person = Person.objects.select_related("health_code").filter(user=user).first()
    if person is None:
        return None
    return person, _fresh(person, getattr(person, "health_code", None))


def history(actor: Any, person: Person) -> QuerySet[HealthCodeChange]:
    """The changes of colour of a person, newest first (scoped)."""
    return (
        HealthCodeChange.objects.visible_to(actor)
        .filter(person_id=person.pk)
        .order_by("-changed_at", "-pk")
    )


def own_history(person: Person) -> QuerySet[HealthCodeChange]:
    return HealthCodeChange.objects.filter(person_id=person.pk).order_by("-changed_at", "-pk")


def rules(actor: Any) -> QuerySet[HealthCodeRule]:
    require_permission(actor, "healthcode.rules")
    return HealthCodeRule.objects.order_by("priority", "code")


def rule_by_code(actor: Any, code: str) -> HealthCodeRule:
    rule = rules(actor).filter(code=code).first()
    if rule is None:
        raise OutOfScope()
    return rule


def persons_with_codes(actor: Any) -> QuerySet[HealthCode]:
    """Codes in the actor's territory (for staff lists)."""
    require_permission(actor, "healthcode.view")
    return HealthCode.objects.visible_to(actor).select_related("person")
