"""Writes for the person registry (P1): one transaction each, audited.

The registry has one person per identity document. `register_person` is the one way in for
every channel (traveller form, checkpoint device, pharmacy, import, demo): a second
registration with the same document links to the same person.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput
from gridguard.people.identity import check_identity, check_phone
from gridguard.people.models import Household, KeyCategory, KeyPersonFlag, Person
from gridguard.people.signals import announce
from gridguard.territory.models import Area


def register_person(
    actor: Any,
    *,
    id_type: str,
    id_number: str,
    name: str,
    phone: str = "",
    area: Area,
    address: str = "",
    household: Household | None = None,
    move_to_area: bool = False,
) -> tuple[Person, bool]:
    """Find the person with this document, or create them; returns (person, created).

    A known person keeps their record: a new phone replaces the old, and their area changes
    only with `move_to_area` (a traveller registering a new destination). Bad identity or
    phone raises InvalidInput naming the field, before anything is written.
    """
    identity = check_identity(id_type, id_number)
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput.one("name", "required", _("A name of 1 to 60 characters is needed."))
    phone = check_phone(phone, required=False)
    with transaction.atomic():
        person = (
            Person.objects.select_for_update()
            .filter(id_type=identity.id_type, id_number=identity.id_number)
            .first()
        )
        if person is not None:
            changed: list[str] = []
            if phone and person.phone != phone:
                person.phone, changed = phone, [*changed, "phone"]
            if move_to_area and person.area_id != area.pk:
                person.area, changed = area, [*changed, "area"]
                if address:
                    person.address, changed = address, [*changed, "address"]
            if changed:
                person.updated_at = clock.now()
                person.save(update_fields=[*changed, "updated_at"])
                audit.record(actor, "person.update", person, detail={"fields": changed})
            return person, False
        person = Person(
            id_type=identity.id_type,
            id_number=identity.id_number,
            name=name,
            sex=identity.sex,
            birth_date=identity.birth_date,
            phone=phone,
            area=area,
            address=address,
            household=household,
        )
        try:
            with transaction.atomic():
                person.save(force_insert=True)
        except IntegrityError:
            # Registered by a concurrent request a moment ago: the same identity, one person.
            found = Person.objects.get(id_type=identity.id_type, id_number=identity.id_number)
            return found, False
        audit.record(actor, "person.create", person)
        from gridguard.people.duplicates import flag_possible_duplicates

        flag_possible_duplicates(person)
        return person, True


def add_flag(
    actor: Any,
    person: Person,
    category: str,
    *,
    source: str = "",
    until: dt.datetime | None = None,
    note: str = "",
) -> KeyPersonFlag:
    """Put a person in a key-person category (idempotent per category and source)."""
    if category not in KeyCategory.values:
        raise InvalidInput.one("category", "invalid", _("Unknown key-person category."))
    with transaction.atomic():
        flag = KeyPersonFlag.objects.filter(person=person, category=category, source=source).first()
        if flag is None:
            flag = KeyPersonFlag.objects.create(
                person=person, category=category, source=source, until=until, note=note
            )
            audit.record(
                actor, "person.flag", person, detail={"category": category, "source": source}
            )
        elif flag.until != until:
            flag.until = until
            flag.save(update_fields=["until"])
        announce(Person, person.pk)
        return flag


def end_flag(actor: Any, person: Person, category: str, *, at: dt.datetime | None = None) -> int:
    """End a person's open flags of one category; returns how many were ended."""
    when = at or clock.now()
    with transaction.atomic():
        n = KeyPersonFlag.objects.filter(
            person=person, category=category, until__isnull=True
        ).update(until=when)
        if n:
            audit.record(actor, "person.unflag", person, detail={"category": category})
            announce(Person, person.pk)
        return n
