"""Territory scoping: the one mechanism deciding which records an actor may read.

Every area has a materialised `path` ("/3101/310106/310106001/"). An actor (a user, or an API
token) covers the union of the subtrees whose paths it returns from `scope_paths()`; "/" covers
the whole city. Every model that belongs to a place inherits `AreaScoped`, and every read goes
through `Model.objects.visible_to(actor)` in a selector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

from django.apps import apps
from django.db import models
from django.db.models import Q

from gridguard.core.errors import NotPermitted, OutOfScope

if TYPE_CHECKING:
    from gridguard.territory.models import Area

WHOLE_CITY = "/"
_M = TypeVar("_M", bound=models.Model)


@runtime_checkable
class Actor(Protocol):
    """Anything that acts: a user or a device token."""

    def scope_paths(self) -> tuple[str, ...]: ...

    def can(self, permission: str) -> bool: ...


def paths_of(actor: Any) -> tuple[str, ...]:
    """The subtree paths an actor covers, reduced so none lies inside another."""
    if actor is None or not getattr(actor, "is_authenticated", True):
        return ()
    get = getattr(actor, "scope_paths", None)
    if get is None:
        return ()
    paths = sorted(set(get()))
    reduced: list[str] = []
    for p in paths:
        if not any(p.startswith(r) for r in reduced):
            reduced.append(p)
    return tuple(reduced)


def scope_q(actor: Any, lookup: str) -> Q | None:
    """A Q object restricting `lookup` (a path field) to the actor's subtrees.

    Returns None when the actor covers the whole city, and an always-false Q when it covers
    nothing.
    """
    paths = paths_of(actor)
    if WHOLE_CITY in paths:
        return None
    if not paths:
        return Q(pk__in=[])
    q = Q()
    for p in paths:
        q |= Q(**{f"{lookup}__startswith": p})
    return q


def covers(actor: Any, path: str) -> bool:
    """Whether the actor's scope includes the area with this path."""
    return any(path.startswith(p) for p in paths_of(actor))


def require_permission(actor: Any, *permissions: str) -> None:
    """Raise NotPermitted unless one of the actor's roles grants one of `permissions`."""
    if not any(actor.can(p) for p in permissions):
        raise NotPermitted()


def require_in_scope(actor: Any, area: Area) -> None:
    """Raise OutOfScope unless the actor covers `area`."""
    if not covers(actor, area.path):
        raise OutOfScope()


def require_permission_at(actor: Any, permission: str, area: Area) -> None:
    """OutOfScope unless the actor covers `area`; NotPermitted unless a role held over it
    grants `permission`."""
    require_in_scope(actor, area)
    if not actor.can_at(permission, area.path):
        raise NotPermitted()


class ScopedQuerySet(models.QuerySet[_M]):
    """A queryset that knows which field holds the area path."""

    scope_lookup = "area__path"

    def visible_to(self, actor: Any) -> Self:
        """Only the rows inside the actor's territory."""
        q = scope_q(actor, self.scope_lookup)
        return self if q is None else self.filter(q)

    def within(self, area: Area) -> Self:
        """Only the rows inside `area`'s subtree (combine with visible_to)."""
        return self.filter(**{f"{self.scope_lookup}__startswith": area.path})


ScopedManager = models.Manager.from_queryset(ScopedQuerySet)


class AreaScoped(models.Model):
    """Base for every record that belongs to a place in the territory tree."""

    area = models.ForeignKey(
        "territory.Area", on_delete=models.PROTECT, related_name="+", db_index=True
    )

    objects = ScopedManager()

    class Meta:
        abstract = True


def scoped_models() -> list[type[models.Model]]:
    """Every concrete model whose rows are scoped by territory (used by the scoping test)."""
    found: list[type[models.Model]] = []
    for model in apps.get_models():
        manager = getattr(model, "_default_manager", None)
        if manager is not None and isinstance(manager.get_queryset(), ScopedQuerySet):
            found.append(model)
    return found


class SystemActor:
    """The actor for command-line jobs, imports, the demo generator and scheduled work.

    It covers the whole city and may do anything; the audit trail names it "system".
    """

    pk = None
    is_authenticated = True
    is_active = True

    def scope_paths(self) -> tuple[str, ...]:
        return (WHOLE_CITY,)

    def can(self, permission: str) -> bool:
        return True

    def can_at(self, permission: str, path: str) -> bool:
        return True

    def audit_label(self) -> str:
        return "system"

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()


class PublicActor:
    """Nobody logged in, acting through one public door (the traveller form, the ticket
    form, Open311): no territory, no permission; the audit trail names the door."""

    pk = None
    is_authenticated = False
    is_active = True

    def __init__(self, label: str) -> None:
        self.label = label

    def scope_paths(self) -> tuple[str, ...]:
        return ()

    def can(self, permission: str) -> bool:
        return False

    def can_at(self, permission: str, path: str) -> bool:
        return False

    def audit_label(self) -> str:
        return self.label

    def __str__(self) -> str:
        return self.label
