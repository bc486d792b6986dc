"""Admin for the health app: the reference data administrators keep (key regions,
observation types, mask outlets) and read-only, scoped views of the personal records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridguard.core import audit
from gridguard.core.admin import ScopedModelAdmin
from gridguard.health import models as m
from gridguard.people.admin import ReadOnlyScopedAdmin


class AuditedReferenceAdmin(admin.ModelAdmin):
    """City-wide reference data (not scoped): only system administrators change it, and every
    change is audited."""

    permission = "health.key_regions"

    def _ok(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and user.is_staff and user.can(self.permission))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._ok(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._ok(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._ok(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._ok(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._ok(request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        action = "update" if change else "create"
        audit.record(
            request.user,
            f"admin.{obj._meta.model_name}.{action}",
            obj,
            detail={"changed": sorted(form.changed_data)},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.record(request.user, f"admin.{obj._meta.model_name}.delete", obj)
        super().delete_model(request, obj)


@admin.register(m.KeyRegion)
class KeyRegionAdmin(AuditedReferenceAdmin):
    list_display = ("province", "city", "since", "until", "active")


@admin.register(m.ObservationType)
class ObservationTypeAdmin(AuditedReferenceAdmin):
    permission = "healthcode.rules"
    list_display = ("code", "name", "days", "slots", "fever_threshold")


class HealthRecordAdmin(ReadOnlyScopedAdmin):
    view_permission = "observation.view"


for model, permission in [
    (m.TravellerRegistration, "travellers.view"),
    (m.FollowUpTask, "followups.view"),
    (m.ObservationOrder, "observation.view"),
    (m.CheckIn, "observation.view"),
    (m.ObservationAlert, "observation.view"),
    (m.Errand, "observation.view"),
    (m.ObservationDailyCount, "observation.view"),
    (m.HealthCode, "healthcode.view"),
    (m.HealthCodeChange, "healthcode.view"),
    (m.FeverMedicinePurchase, "pharmacy.view"),
    (m.MaskQuotaDay, "pharmacy.view"),
    (m.MaskReservation, "pharmacy.view"),
]:
    admin.site.register(
        model,
        type(
            f"{model.__name__}Admin",
            (HealthRecordAdmin,),
            {
                "view_permission": permission,
            },
        ),
    )


@admin.register(m.MaskOutlet)
class MaskOutletAdmin(ScopedModelAdmin):
    view_permission = "pharmacy.view"
    edit_permission = "masks.manage"
    list_display = ("area", "daily_quota", "per_person_limit", "period_days", "active")
