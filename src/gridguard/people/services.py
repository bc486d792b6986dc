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


# Residential places a person may live at (or the administrative level above, while the
# address is not matched yet).
HOME_KINDS = {"compound", "building", "building_group", "village_group", "committee", "street"}
EDITABLE = ("name", "phone", "address", "household", "area")


def _check_area(actor: Any, area: Any, field: str = "area") -> Area:
    from gridguard.core.scoping import covers

    if not isinstance(area, Area):
        raise InvalidInput.one(field, "invalid", _("Choose a place."))
    if area.kind not in HOME_KINDS:
        raise InvalidInput.one(
            field, "kind", _("A person lives at a compound, building or committee area.")
        )
    if not covers(actor, area.path):
        raise InvalidInput.one(field, "out_of_scope", _("This place is outside your area."))
    return area


def update_person(actor: Any, person: Person, **fields: Any) -> Person:
    """Change a person's name, phone, address, household or area (only those given).

    The audit lists the changed field names, never the values of personal numbers."""
    from gridguard.core.errors import FieldError, NotPermitted
    from gridguard.core.scoping import require_in_scope

    if not actor.can("people.edit"):
        raise NotPermitted()
    require_in_scope(actor, person.area)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput.one(
            sorted(unknown)[0], "unknown_field", _("This field cannot be changed here.")
        )
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    if "name" in fields:
        name = (fields["name"] or "").strip()
        if not name or len(name) > 60:
            errors.append(
                FieldError("name", "required", _("A name of 1 to 60 characters is needed."))
            )
        clean["name"] = name
    if "phone" in fields:
        try:
            clean["phone"] = check_phone(fields["phone"] or "", required=False)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if "address" in fields:
        address = (fields["address"] or "").strip()
        if len(address) > 255:
            errors.append(
                FieldError("address", "too_long", _("The address is at most 255 characters."))
            )
        clean["address"] = address
    if "area" in fields:
        try:
            clean["area"] = _check_area(actor, fields["area"])
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if "household" in fields:
        hh = fields["household"]
        if hh is not None and not isinstance(hh, Household):
            errors.append(FieldError("household", "invalid", _("Choose a household.")))
        elif hh is not None:
            from gridguard.core.scoping import covers

            if not covers(actor, hh.area.path):
                errors.append(
                    FieldError(
                        "household", "out_of_scope", _("This household is outside your area.")
                    )
                )
        clean["household"] = hh
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        changed: list[str] = []
        for key, value in clean.items():
            current = getattr(person, f"{key}_id") if key in ("area", "household") else None
            if key in ("area", "household"):
                if current != (value.pk if value is not None else None):
                    setattr(person, key, value)
                    changed.append(key)
            elif getattr(person, key) != value:
                setattr(person, key, value)
                changed.append(key)
        if changed:
            person.updated_at = clock.now()
            person.save(update_fields=[*changed, "updated_at"])
            audit.record(actor, "person.update", person, detail={"fields": changed})
            if {"name", "phone"} & set(changed):
                from gridguard.people.duplicates import flag_possible_duplicates

                flag_possible_duplicates(person)
            if "area" in changed:
                announce(Person, person.pk)
        return person


def create_household(actor: Any, *, area: Area, room: str = "", address: str = "") -> Household:
    """A new household at a compound or building the actor covers."""
    from gridguard.core.errors import NotPermitted

    if not actor.can("people.edit"):
        raise NotPermitted()
    area = _check_area(actor, area)
    room = (room or "").strip()
    address = (address or "").strip()
    if len(room) > 40:
        raise InvalidInput.one("room", "too_long", _("The room is at most 40 characters."))
    if len(address) > 255:
        raise InvalidInput.one("address", "too_long", _("The address is at most 255 characters."))
    with transaction.atomic():
        hh = Household.objects.create(area=area, room=room, address=address or area.name)
        audit.record(actor, "household.create", hh)
        return hh


def move_to_household(actor: Any, person: Person, household: Household | None) -> Person:
    """Put a person in a household (or take them out with None)."""
    return update_person(actor, person, household=household)


def settle_in_household(actor: Any, person: Person, *, room: str) -> Household:
    """Put a person in the household of `room` at the place they live (the household is
    created if that room has none yet)."""
    room = (room or "").strip()
    if not room:
        raise InvalidInput.one("room", "required", _("Enter the room (e.g. 502)."))
    if len(room) > 40:
        raise InvalidInput.one("room", "too_long", _("The room is at most 40 characters."))
    with transaction.atomic():
        household = Household.objects.filter(area=person.area, room=room).order_by("pk").first()
        if household is None:
            household = create_household(
                actor, area=person.area, room=room, address=f"{person.area.name}{room}"
            )
        move_to_household(actor, person, household)
        return household
