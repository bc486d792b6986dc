"""Merging duplicate person records, deciding duplicate pairs, and undoing merges (P1).

A merge re-points every row of every app that refers to the merged person (found generically
through `Person._meta.related_objects`, so a new app's model is covered without changes here)
to the survivor, records exactly which rows moved in `PersonMerge.moved`
(`{"app_label.model": {"field": [pk, ...]}}`) and marks the merged record
`merged_into = survivor`. `unmerge` moves exactly those rows back.

Decisions (documented in docs/guide/committee-worker.md):

* One-to-one rows (the health code): the survivor keeps its own. The merged person's row moves
  to the survivor only if the survivor has none; otherwise it stays on the merged record, is
  not touched, and both codes are recomputed (announce) after the merge.
* The resident's login (`Person.user`) moves the same way: to the survivor if it has none.
* Unique constraints on the related rows (one active observation order per person) are
  checked before anything moves: a merge that would break one is refused with InvalidInput
  naming the model, so the worker ends one of the two first. Nothing is written then.
* Earlier merges into the merged person (`merged_into` pointing at it) are not re-pointed:
  they stay a chain, and `resolve()` follows it.
* Two records with two different valid resident ID numbers are two people by default: such
  a merge needs `force=True` and a reason (it is for a record typed with a wrong number).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model, Q, UniqueConstraint
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import require_in_scope, require_permission
from gridguard.people.identity import check_identity
from gridguard.people.models import (
    DuplicatePair,
    DuplicateStatus,
    IdType,
    Person,
    PersonMerge,
)
from gridguard.people.signals import announce

USER_KEY = "people.person"  # the login link lives on Person itself: {"user": [user pk]}


def _user_or_none(actor: Any) -> Any:
    """The user to store in `decided_by` / `merged_by` (tokens and SYSTEM store none)."""
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None


def person_relations() -> list[Any]:
    """Every reverse FK / one-to-one pointing at Person from any app, except the bookkeeping
    of merges and pairs themselves (hidden relations) and the self-reference `merged_into`."""
    return [
        rel
        for rel in Person._meta.related_objects
        if not rel.many_to_many
        and rel.related_model is not Person
        and rel.related_model not in (DuplicatePair, PersonMerge)
    ]


def _label(model: type[Model]) -> str:
    return model._meta.label_lower


def _valid_resident_id(p: Person) -> bool:
    if p.id_type != IdType.RESIDENT_ID:
        return False
    try:
        check_identity(p.id_type, p.id_number)
    except InvalidInput:
        return False
    return True


def resolve(person: Person) -> Person:
    """The live record for `person`: follows `merged_into` to the end of the chain."""
    seen = {person.pk}
    while person.merged_into_id is not None and person.merged_into_id not in seen:
        seen.add(person.merged_into_id)
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def _constraint_conflicts(survivor: Person, merged: Person) -> list[str]:
    """Models whose unique constraints would be broken by moving merged's rows over."""
    problems: list[str] = []
    for rel in person_relations():
        model, name = rel.related_model, rel.field.name
        if rel.one_to_one:
            continue  # handled by keeping the survivor's own row
        for constraint in model._meta.constraints:
            if not isinstance(constraint, UniqueConstraint) or name not in constraint.fields:
                continue
            others = [f for f in constraint.fields if f != name]
            cond = constraint.condition if constraint.condition is not None else Q()
            theirs = set(
                model._default_manager.filter(cond, **{name: merged}).values_list(*others)
                if others
                else model._default_manager.filter(cond, **{name: merged}).values_list("pk")
            )
            if not theirs:
                continue
            ours = (
                set(model._default_manager.filter(cond, **{name: survivor}).values_list(*others))
                if others
                else set(model._default_manager.filter(cond, **{name: survivor}).values_list("pk"))
            )
            if (others and theirs & ours) or (not others and ours):
                problems.append(str(model._meta.verbose_name))
    return problems


def decide_pair(actor: Any, pair: DuplicatePair, decision: str) -> DuplicatePair:
    """Close an open pair as "not_duplicate" (merges go through `merge`)."""
    require_permission(actor, "people.merge")
    if decision != DuplicateStatus.NOT_DUPLICATE:
        raise InvalidInput.one(
            "decision", "invalid", _("Decide “not_duplicate”, or merge the two records.")
        )
    with transaction.atomic():
        pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
        if pair.status != DuplicateStatus.OPEN:
            raise InvalidInput.one("decision", "decided", _("This pair has already been decided."))
        pair.status = DuplicateStatus.NOT_DUPLICATE
        pair.decided_by = _user_or_none(actor)
        pair.decided_at = clock.now()
        pair.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor,
            "person.not_duplicate",
            pair.first,
            detail={"pair": pair.pk, "first": pair.first_id, "second": pair.second_id},
        )
        return pair


def merge(
    actor: Any,
    target: DuplicatePair | tuple[Person, Person],
    *,
    survivor: Person | int | None = None,
    reason: str = "",
    force: bool = False,
) -> PersonMerge:
    """Merge two person records. `target` is a pair (then `survivor` names which of its two
    stays; default the first) or a (survivor, merged) tuple."""
    require_permission(actor, "people.merge")
    pair: DuplicatePair | None = None
    if isinstance(target, DuplicatePair):
        pair = target
        ids = (pair.first_id, pair.second_id)
        survivor_id = survivor.pk if isinstance(survivor, Person) else survivor
        survivor_id = survivor_id if survivor_id is not None else pair.first_id
        if survivor_id not in ids:
            raise InvalidInput.one(
                "survivor", "not_in_pair", _("The record to keep must be one of the pair.")
            )
        merged_id = ids[1] if survivor_id == ids[0] else ids[0]
    else:
        survivor_id, merged_id = target[0].pk, target[1].pk
    if survivor_id == merged_id:
        raise InvalidInput.one("survivor", "same", _("A record cannot be merged into itself."))
    reason = (reason or "").strip()[:255]
    with transaction.atomic():
        locked = {
            p.pk: p
            for p in Person.objects.select_for_update().filter(pk__in=[survivor_id, merged_id])
        }
        keep, gone = locked[survivor_id], locked[merged_id]
        require_in_scope(actor, keep.area)
        require_in_scope(actor, gone.area)
        if pair is not None:
            pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
            if pair.status != DuplicateStatus.OPEN:
                raise InvalidInput.one(
                    "decision", "decided", _("This pair has already been decided.")
                )
        if keep.merged_into_id is not None or gone.merged_into_id is not None:
            raise InvalidInput.one(
                "survivor", "already_merged", _("One of these records was already merged.")
            )
        if _valid_resident_id(keep) and _valid_resident_id(gone) and not (force and reason):
            raise InvalidInput.one(
                "force",
                "two_identities",
                _(
                    "Both records have a valid resident ID number, so they are two people. "
                    "Merge only if one number was typed wrongly: confirm and give a reason."
                ),
            )
        conflicts = _constraint_conflicts(keep, gone)
        if conflicts:
            raise InvalidInput.one(
                "survivor",
                "conflict",
                _("Both records have an active %(what)s: end one of them before merging.")
                % {"what": ", ".join(conflicts)},
            )
        moved: dict[str, dict[str, list[int]]] = {}
        kept: dict[str, dict[str, list[int]]] = {}
        for rel in person_relations():
            model, name = rel.related_model, rel.field.name
            manager = model._default_manager
            rows = manager.filter(**{name: gone})
            if rel.one_to_one and manager.filter(**{name: keep}).exists():
                pks = list(rows.values_list("pk", flat=True))
                if pks:
                    kept.setdefault(_label(model), {})[name] = pks
                continue
            pks = list(rows.order_by("pk").values_list("pk", flat=True))
            if pks:
                manager.filter(pk__in=pks).update(**{name: keep})
                moved.setdefault(_label(model), {})[name] = pks
        if gone.user_id is not None and keep.user_id is None:
            user_id = gone.user_id
            gone.user = None
            gone.save(update_fields=["user"])
            keep.user_id = user_id
            keep.save(update_fields=["user"])
            moved[USER_KEY] = {"user": [user_id]}
        gone.merged_into = keep
        gone.updated_at = clock.now()
        gone.save(update_fields=["merged_into", "updated_at"])
        record = PersonMerge.objects.create(
            survivor=keep, merged=gone, pair=pair, moved=moved, merged_by=_user_or_none(actor)
        )
        if pair is not None:
            pair.status = DuplicateStatus.MERGED
            pair.decided_by = _user_or_none(actor)
            pair.decided_at = clock.now()
            pair.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(
            actor,
            "person.merge",
            keep,
            detail={
                "merge": record.pk,
                "survivor": keep.pk,
                "merged": gone.pk,
                "pair": pair.pk if pair else None,
                "moved": {k: {f: len(v) for f, v in d.items()} for k, d in moved.items()},
                "kept": kept,
                "forced": bool(force),
                "reason": reason,
            },
        )
        announce(Person, keep.pk, gone.pk)
        return record


def _count(moved: dict[str, dict[str, list[int]]]) -> int:
    return sum(len(v) for d in moved.values() for v in d.values())


def unmerge(actor: Any, record: PersonMerge) -> PersonMerge:
    """Undo a merge: move exactly the recorded rows back and clear `merged_into`."""
    require_permission(actor, "people.merge")
    from django.apps import apps

    with transaction.atomic():
        record = PersonMerge.objects.select_for_update().get(pk=record.pk)
        if record.undone_at is not None:
            raise InvalidInput.one("merge", "undone", _("This merge has already been undone."))
        locked = {
            p.pk: p
            for p in Person.objects.select_for_update().filter(
                pk__in=[record.survivor_id, record.merged_id]
            )
        }
        keep, gone = locked[record.survivor_id], locked[record.merged_id]
        require_in_scope(actor, keep.area)
        if gone.merged_into_id != keep.pk:
            raise InvalidInput.one(
                "merge", "changed", _("The merged record has changed since; it cannot be undone.")
            )
        for label, fields in record.moved.items():
            if label == USER_KEY:
                continue
            model = apps.get_model(label)
            for name, pks in fields.items():
                model._default_manager.filter(pk__in=pks, **{name: keep}).update(**{name: gone})
        user_ids = record.moved.get(USER_KEY, {}).get("user", [])
        if user_ids and keep.user_id == user_ids[0]:
            keep.user = None
            keep.save(update_fields=["user"])
            gone.user_id = user_ids[0]
            gone.save(update_fields=["user"])
        gone.merged_into = None
        gone.updated_at = clock.now()
        gone.save(update_fields=["merged_into", "updated_at"])
        record.undone_by = _user_or_none(actor)
        record.undone_at = clock.now()
        record.save(update_fields=["undone_by", "undone_at"])
        if record.pair_id is not None:
            DuplicatePair.objects.filter(pk=record.pair_id).update(
                status=DuplicateStatus.OPEN, decided_by=None, decided_at=None
            )
        audit.record(
            actor,
            "person.unmerge",
            keep,
            detail={
                "merge": record.pk,
                "survivor": keep.pk,
                "merged": gone.pk,
                "rows": _count(record.moved),
            },
        )
        announce(Person, keep.pk, gone.pk)
        return record


def rows_pointing_at(person: Person) -> dict[str, dict[str, list[int]]]:
    """Every related row of `person`, in the shape of `PersonMerge.moved` (for tests, pages)."""
    found: dict[str, dict[str, list[int]]] = {}
    for rel in person_relations():
        model, name = rel.related_model, rel.field.name
        pks = list(
            model._default_manager.filter(**{name: person})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if pks:
            found.setdefault(_label(model), {})[name] = pks
    return found
