"""Finding possible duplicate persons (same name and birth date; same phone)."""

from __future__ import annotations

from django.db.models import Q

from gridguard.people.models import DuplicatePair, DuplicateReason, Person


def flag_possible_duplicates(person: Person) -> list[DuplicatePair]:
    """Open a pair for every other person who may be `person` (call inside the transaction
    that created or changed them). Pairs are stored with the lower id first."""
    made: list[DuplicatePair] = []
    checks: list[tuple[str, Q]] = []
    if person.birth_date is not None:
        checks.append(
            (DuplicateReason.NAME_AND_BIRTH, Q(name=person.name, birth_date=person.birth_date))
        )
    if person.phone:
        checks.append((DuplicateReason.PHONE, Q(phone=person.phone)))
    if not checks:
        return made
    # One query for every reason: this runs on each new person (registrations arrive fast).
    either = checks[0][1]
    for _reason, q in checks[1:]:
        either |= q
    candidates = list(
        Person.objects.filter(either, merged_into__isnull=True)
        .exclude(pk=person.pk)
        .values_list("pk", "name", "birth_date", "phone")[:40]
    )
    for reason, _q in checks:
        if reason == DuplicateReason.PHONE:
            others = [pk for pk, _n, _b, phone in candidates if phone == person.phone]
        else:
            others = [
                pk
                for pk, name, born, _p in candidates
                if name == person.name and born == person.birth_date
            ]
        for other in others[:20]:
            first, second = sorted((person.pk, other))
            pair, created = DuplicatePair.objects.get_or_create(
                first_id=first, second_id=second, reason=reason
            )
            if created:
                made.append(pair)
    return made
