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
    for reason, q in checks:
        others = (
            Person.objects.filter(q, merged_into__isnull=True)
            .exclude(pk=person.pk)
            .values_list("pk", flat=True)[:20]
        )
        for other in others:
            first, second = sorted((person.pk, other))
            pair, created = DuplicatePair.objects.get_or_create(
                first_id=first, second_id=second, reason=reason
            )
            if created:
                made.append(pair)
    return made
