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


def flag_possible_duplicates_many(persons: list[Person]) -> int:
    """`flag_possible_duplicates` for a batch of new persons in two queries (the registration
    intake places hundreds at a time); returns how many pairs were opened."""
    if not persons:
        return 0
    by_name: Q | None = None
    for p in persons:
        if p.birth_date is not None:
            q = Q(name=p.name, birth_date=p.birth_date)
            by_name = q if by_name is None else by_name | q
    phones = {p.phone for p in persons if p.phone}
    where = Q(phone__in=phones) if phones else None
    if by_name is not None:
        where = by_name if where is None else where | by_name
    if where is None:
        return 0
    rows = list(
        Person.objects.filter(where, merged_into__isnull=True).values_list(
            "pk", "name", "birth_date", "phone"
        )
    )
    same_name: dict[tuple[str, object], list[int]] = {}
    same_phone: dict[str, list[int]] = {}
    for pk, name, born, phone in rows:
        if born is not None:
            same_name.setdefault((name, born), []).append(pk)
        if phone:
            same_phone.setdefault(phone, []).append(pk)
    pairs: set[tuple[int, int, str]] = set()
    for p in persons:
        groups = []
        if p.birth_date is not None:
            groups.append(
                (DuplicateReason.NAME_AND_BIRTH, same_name.get((p.name, p.birth_date), []))
            )
        if p.phone:
            groups.append((DuplicateReason.PHONE, same_phone.get(p.phone, [])))
        for reason, others in groups:
            for other in [o for o in others if o != p.pk][:20]:
                first, second = sorted((p.pk, other))
                pairs.add((first, second, str(reason)))
    DuplicatePair.objects.bulk_create(
        [DuplicatePair(first_id=a, second_id=b, reason=r) for a, b, r in sorted(pairs)],
        ignore_conflicts=True,
    )
    return len(pairs)
