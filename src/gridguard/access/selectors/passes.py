"""Reads of entry passes, always scoped: staff read the passes of their territory ("passes.view"),
a resident reads only the passes of the person their login is linked to (``Person.user``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from gridguard.access.models import EntryPass, PassKind, PassStatus
from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import covers, require_permission
from gridguard.people import selectors as people_selectors
from gridguard.people.models import Person
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

# How many persons the issue form offers for one search: a name typed in part may match many.
PERSON_CHOICES = 20
# Compounds and gates offered by the forms (a committee has a few dozen compounds).
PLACE_CHOICES = 300


def passes_visible_to(
    actor: Any,
    *,
    status: str = "",
    kind: str = "",
    compound: Area | None = None,
) -> QuerySet[EntryPass]:
    """Passes in the actor's territory, newest request first; filters left empty are ignored
    (an unknown status or kind is ignored too: the page says so)."""
    require_permission(actor, "passes.view")
    qs = EntryPass.objects.visible_to(actor).select_related("person", "area")
    if status in PassStatus.values:
        qs = qs.filter(status=status)
    if kind in PassKind.values:
        qs = qs.filter(kind=kind)
    if compound is not None:
        qs = qs.filter(area=compound)
    return qs.order_by("-requested_at", "-pk")


def pass_detail(actor: Any, pass_id: str) -> EntryPass:
    """One pass in the actor's territory, or OutOfScope (also for one that does not exist)."""
    require_permission(actor, "passes.view")
    entry_pass = (
        EntryPass.objects.visible_to(actor)
        .select_related("person", "area")
        .prefetch_related("gates")
        .filter(pass_id=pass_id)
        .first()
    )
    if entry_pass is None:
        raise OutOfScope()
    return entry_pass


def requests_queue(actor: Any) -> QuerySet[EntryPass]:
    """Requested passes waiting for a decision, oldest first (first come, first served)."""
    return passes_visible_to(actor, status=PassStatus.REQUESTED).order_by("requested_at", "pk")


def _is_login(user: Any) -> bool:
    """Whether `user` is a person's login (a device token has no person of its own)."""
    return isinstance(user, get_user_model()) and user.is_authenticated


def own_person(user: Any) -> Person | None:
    """The person the login is linked to (None when it is linked to nobody)."""
    if not _is_login(user):
        return None
    return Person.objects.select_related("area").filter(user=user).first()


def own_passes(user: Any) -> QuerySet[EntryPass]:
    """The passes of the person the login is linked to, newest first (none if not linked)."""
    if not _is_login(user):
        return EntryPass.objects.none()
    return (
        EntryPass.objects.filter(person__user=user)
        .select_related("person", "area")
        .order_by("-requested_at", "-pk")
    )


def own_pass(user: Any, pass_id: str) -> EntryPass:
    """One of the user's own passes, or OutOfScope."""
    entry_pass = own_passes(user).prefetch_related("gates").filter(pass_id=pass_id).first()
    if entry_pass is None:
        raise OutOfScope()
    return entry_pass


def pass_for_card(user: Any, pass_id: str) -> EntryPass:
    """A pass whose paper card the user may print: staff with "passes.view" over it, or its
    holder. OutOfScope otherwise."""
    if user.can("passes.view"):
        try:
            return pass_detail(user, pass_id)
        except OutOfScope:
            pass
    return own_pass(user, pass_id)


def may_manage(actor: Any, entry_pass: EntryPass) -> bool:
    """Whether the actor may issue, decide and revoke at the pass's compound."""
    return covers(actor, entry_pass.area.path) and bool(
        actor.can_at("passes.issue", entry_pass.area.path)
    )


def compounds_for_issue(actor: Any) -> list[Area]:
    """The compounds where the actor may issue passes."""
    qs = Area.objects.visible_to(actor).filter(kind=AreaKind.COMPOUND).order_by("path")
    return [a for a in qs[:PLACE_CHOICES] if actor.can_at("passes.issue", a.path)]


def compounds_visible_to(actor: Any) -> QuerySet[Area]:
    """The compounds in the actor's territory (for the list's filter)."""
    return Area.objects.visible_to(actor).filter(kind=AreaKind.COMPOUND).order_by("path")


def compound_for_issue(actor: Any, code: str) -> Area | None:
    """The compound with this code if the actor may issue passes there (else None)."""
    code = (code or "").strip()
    if not code:
        return None
    area = Area.objects.visible_to(actor).filter(kind=AreaKind.COMPOUND, code=code).first()
    if area is None or not actor.can_at("passes.issue", area.path):
        return None
    return area


def compound_visible(actor: Any, code: str) -> Area | None:
    """A compound in the actor's territory by code (None if unknown or out of scope)."""
    code = (code or "").strip()
    if not code:
        return None
    return compounds_visible_to(actor).filter(code=code).first()


def gates_of(compounds: list[Area]) -> list[Area]:
    """The gates of these compounds, by compound."""
    if not compounds:
        return []
    return list(
        Area.objects.filter(kind=AreaKind.GATE, parent__in=compounds).order_by("path")[
            :PLACE_CHOICES
        ]
    )


def gates_by_code(compound: Area, codes: list[str]) -> tuple[list[Area], list[str]]:
    """The gates named by `codes` (any area with that code, so the service can say which one
    is not a gate of the compound), and the codes that name no area at all."""
    wanted = [c.strip() for c in codes if c and c.strip()]
    found = {a.code: a for a in Area.objects.filter(code__in=wanted)}
    return [found[c] for c in wanted if c in found], [c for c in wanted if c not in found]


def compounds_for_request(user: Any) -> list[Area]:
    """The compounds a resident may ask for a pass at: the one they live in, and the ones
    their resident role is bound to."""
    person = own_person(user)
    q = Q(pk__in=[])
    if person is not None:
        q |= Q(path__in=_prefixes(person.area.path))
    for binding in getattr(user, "bindings", list)():
        if binding.role == "resident":
            q |= Q(path__startswith=binding.area.path)
    return list(Area.objects.filter(q, kind=AreaKind.COMPOUND).order_by("path")[:PLACE_CHOICES])


def _prefixes(path: str) -> list[str]:
    """Every ancestor path of `path`, itself included ("/a/b/" → "/a/", "/a/b/")."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def persons_for_issue(actor: Any, q: str) -> list[Person]:
    """Persons in the actor's territory matching `q` (name in part, or an ID number or phone
    typed in full), for the issue form. Nothing for an empty search."""
    q = (q or "").strip()[:60]
    if not q:
        return []
    return list(
        people_selectors.persons_visible_to(actor, q).order_by("name", "pk")[:PERSON_CHOICES]
    )


def person_for_issue(actor: Any, person_id: Any) -> Person | None:
    """A person in the actor's territory by id (None if unknown, out of scope or not a number)."""
    try:
        pk = int(person_id)
    except (TypeError, ValueError):
        return None
    return people_selectors.persons_visible_to(actor).filter(pk=pk).first()
