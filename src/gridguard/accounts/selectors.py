"""Reads for accounts, always scoped."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gridguard.accounts.models import ApiToken, RoleBinding, User


def bindings_visible_to(actor: Any) -> QuerySet[RoleBinding]:
    return RoleBinding.objects.visible_to(actor).select_related("user", "area")


def users_visible_to(actor: Any) -> QuerySet[User]:
    """Users holding at least one role inside the actor's territory."""
    ids = bindings_visible_to(actor).values("user_id")
    return User.objects.filter(pk__in=ids).order_by("username")


def tokens_visible_to(actor: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.visible_to(actor).select_related("area").order_by("-created_at")


def users_with_permission_visible_to(actor: Any, permission: str) -> QuerySet[User]:
    """Users holding a role that grants `permission` somewhere inside the actor's territory."""
    from gridguard.accounts.roles import roles_with

    ids = (
        bindings_visible_to(actor)
        .filter(active=True, role__in=roles_with(permission))
        .values("user_id")
    )
    return User.objects.filter(pk__in=ids, is_active=True).order_by("username")
