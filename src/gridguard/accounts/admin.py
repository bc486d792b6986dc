"""Admin for users, role bindings and device tokens, scoped to the administrator's territory."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridguard.accounts.models import ApiToken, RoleBinding, User
from gridguard.accounts.selectors import users_visible_to
from gridguard.core.admin import ScopedModelAdmin


@admin.register(RoleBinding)
class RoleBindingAdmin(ScopedModelAdmin):
    view_permission = "accounts.manage"
    edit_permission = "accounts.manage"
    list_display = ("user", "role", "area", "active", "granted_at")
    list_filter = ("role", "active")
    search_fields = ("user__username", "area__code")
    list_select_related = ("user", "area")
    readonly_fields = ("granted_by", "granted_at")


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedModelAdmin):
    """Tokens are issued through the API (the secret is shown once); here only viewed/revoked."""

    view_permission = "tokens.manage"
    edit_permission = "tokens.manage"
    list_display = ("name", "purpose", "area", "key_id", "expires_at", "revoked_at")
    list_select_related = ("area",)
    fields = ("name", "purpose", "area", "key_id", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("key_id", "purpose", "area", "last_used_at")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False


@admin.register(User)
class UserAdmin(ScopedModelAdmin):
    """Users who hold a role inside the administrator's territory (no password hashes shown)."""

    view_permission = "accounts.manage"
    edit_permission = "accounts.manage"
    list_display = ("username", "display_name", "is_active", "is_staff", "last_login")
    search_fields = ("username", "display_name")
    fields = ("username", "display_name", "phone", "is_active", "is_staff")

    def get_queryset(self, request: HttpRequest) -> Any:
        return users_visible_to(request.user)

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or users_visible_to(request.user).filter(pk=obj.pk).exists()

    def _edit_at(self, request: HttpRequest, obj: Any) -> bool:
        user: Any = request.user
        if not (user.is_active and user.is_staff and user.can(self.edit_permission)):
            return False
        return obj is None or (obj.pk is None or self._in_scope(request, obj))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # New users get a role at once: that is accounts.services.create_user (CLI/API).
        return False
