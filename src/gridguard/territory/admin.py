"""Admin for the territory's master data: areas, grid cells, responsible persons, shifts.

Areas are written through territory.services, so the code rules, the materialised path and
the audit row are the same as for imports and the API; the tree fields (code, kind, parent)
cannot be changed once an area exists.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from gridguard.core.admin import ScopedModelAdmin
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.territory import services
from gridguard.territory.kinds import code_problem_field
from gridguard.territory.models import Area, DutyShift, GridCell, Responsibility

_EDITABLE = ["name", "address", "boundary", "latitude", "longitude", "households", "population"]


class AreaAdminForm(forms.ModelForm):
    class Meta:
        model = Area
        fields = ["code", "name", "kind", "parent", *_EDITABLE, "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and data.get("code") and data.get("kind"):
            parent = data.get("parent")
            field, problem = code_problem_field(
                data["kind"],
                str(data["code"]).strip(),
                parent.kind if parent else None,
                parent.code if parent else None,
            )
            if problem:
                self.add_error(field if field in self.fields else None, problem)
        return data


@admin.register(Area)
class AreaAdmin(ScopedModelAdmin):
    form = AreaAdminForm
    list_display = ("code", "name", "kind", "depth", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    ordering = ("path",)
    list_select_related = ("parent",)
    raw_id_fields = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Changing code, kind or parent would break every path below: not here.
        return ("code", "kind", "parent", "path", "depth") if obj is not None else ("path",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            if change:
                services.update_area(
                    request.user,
                    obj,
                    **{
                        f: form.cleaned_data[f]
                        for f in [*_EDITABLE, "active"]
                        if f in form.changed_data
                    },
                )
            else:
                created = services.create_area(
                    request.user,
                    code=obj.code,
                    name=obj.name,
                    kind=obj.kind,
                    parent=obj.parent,
                    address=obj.address,
                    boundary=obj.boundary,
                )
                obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth
        except (InvalidInput, NotPermitted) as exc:
            from django.core.exceptions import PermissionDenied

            messages.error(request, str(exc))
            raise PermissionDenied(str(exc)) from exc


@admin.register(GridCell)
class GridCellAdmin(ScopedModelAdmin):
    list_display = ("code", "name", "area")
    search_fields = ("code", "name")
    list_select_related = ("area",)
    filter_horizontal = ("workers",)
    autocomplete_fields = ()

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        from gridguard.accounts.selectors import users_visible_to

        if db_field.name == "places":
            kwargs["queryset"] = Area.objects.visible_to(request.user).order_by("path")
        elif db_field.name == "workers":
            kwargs["queryset"] = users_visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Responsibility)
class ResponsibilityAdmin(ScopedModelAdmin):
    view_permission = "responsibility.view"
    edit_permission = "responsibility.edit"
    list_display = ("kind", "area", "person_name", "since", "until")
    list_filter = ("kind",)
    search_fields = ("person_name", "area__code", "area__name")
    list_select_related = ("area",)


@admin.register(DutyShift)
class DutyShiftAdmin(ScopedModelAdmin):
    view_permission = "duty.view"
    edit_permission = "duty.plan"
    list_display = (
        "user",
        "area",
        "post",
        "starts_at",
        "ends_at",
        "clocked_in_at",
        "clocked_out_at",
    )
    list_filter = ("post",)
    list_select_related = ("area", "user")
    readonly_fields = ("clocked_in_at", "clocked_out_at")
