"""Admin for master data, scoped like everything else.

`ScopedModelAdmin` is the one base for every model that belongs to a place: its list is
`visible_to(request.user)`, an object outside the user's territory cannot be opened (the admin
then says it does not exist), and view/change rights come from our role permissions, not from
Django's per-model permission table. The audit trail is shown read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from gridguard.core import audit
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import covers

admin.site.site_header = _("GridGuard administration")
admin.site.site_title = _("GridGuard")
admin.site.index_title = _("Master data")


def _path_of(obj: Any) -> str:
    """The territory path an object belongs to (its own for an area)."""
    area = getattr(obj, "area", None)
    if area is not None:
        return str(area.path)
    # Records about a person (flags, codes, duplicate pairs) belong where the person lives.
    for attr in ("person", "first", "survivor"):
        related = getattr(obj, attr, None)
        if related is not None and getattr(related, "area", None) is not None:
            return str(related.area.path)
    return str(getattr(obj, "path", "") or getattr(obj, "area_path", "") or "")


def _can(user: Any, permission: str) -> bool:
    can = getattr(user, "can", None)
    return bool(user.is_active and user.is_staff and can and can(permission))


class ScopedModelAdmin(admin.ModelAdmin):
    """ModelAdmin that shows only the user's territory and checks our role permissions."""

    view_permission = "territory.view"
    edit_permission = "territory.edit"

    def get_queryset(self, request: HttpRequest) -> Any:
        # Every scoped model's manager returns a ScopedQuerySet (see core.scoping).
        qs: Any = super().get_queryset(request)
        return qs.visible_to(request.user)

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or covers(request.user, _path_of(obj))

    def _edit_at(self, request: HttpRequest, obj: Any) -> bool:
        user: Any = request.user
        if not _can(user, self.edit_permission):
            return False
        if obj is None:
            return True
        return self._in_scope(request, obj) and bool(
            user.can_at(self.edit_permission, _path_of(obj))
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _can(request.user, self.view_permission)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _can(request.user, self.view_permission) and self._in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return _can(request.user, self.edit_permission)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._edit_at(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._edit_at(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A user may only attach records to areas (and people) inside their territory.
        from gridguard.territory.models import Area

        if db_field.related_model is Area:
            kwargs["queryset"] = Area.objects.visible_to(request.user).order_by("path")
        elif db_field.name in {"user", "granted_by", "created_by"}:
            from gridguard.accounts.selectors import users_visible_to

            kwargs["queryset"] = users_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Refuse a record placed outside the user's territory; audit the write."""
        from django.core.exceptions import PermissionDenied

        if not self._edit_at(request, obj):
            raise PermissionDenied
        super().save_model(request, obj, form, change)
        action = "update" if change else "create"
        audit.record(request.user, f"admin.{obj._meta.model_name}.{action}", obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.record(request.user, f"admin.{obj._meta.model_name}.delete", obj)
        super().delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModelAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes rows through the admin."""

    view_permission = "audit.view"
    list_display = ("seq", "at", "actor_label", "action", "object_type", "object_id", "area_path")
    list_filter = ("action", "channel")
    search_fields = ("actor_label", "action", "object_id", "area_path")
    ordering = ("-seq",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
