"""Admin for access control: scoped, read-only views (passes and keys change through the
services, which check and audit)."""

from __future__ import annotations

from django.contrib import admin

from gridguard.access import models as m
from gridguard.people.admin import ReadOnlyScopedAdmin


@admin.register(m.SigningKey)
class SigningKeyAdmin(ReadOnlyScopedAdmin):
    view_permission = "passes.keys"
    list_display = ("kid", "area", "created_at", "retired_at", "withdrawn_at")
    exclude = ("private_key_sealed",)


@admin.register(m.EntryPass)
class EntryPassAdmin(ReadOnlyScopedAdmin):
    view_permission = "passes.view"
    list_display = ("pass_id", "kind", "status", "area", "valid_until")
    list_filter = ("kind", "status")
    exclude = ("credential",)


@admin.register(m.GateEvent)
class GateEventAdmin(ReadOnlyScopedAdmin):
    view_permission = "passes.view"
    list_display = ("scanned_at", "area", "verdict", "offline")
    list_filter = ("verdict", "offline")


@admin.register(m.GateVisitor)
class GateVisitorAdmin(ReadOnlyScopedAdmin):
    view_permission = "gate.view"
    list_display = ("time_in", "area", "purpose", "time_out")


@admin.register(m.GateVehicle)
class GateVehicleAdmin(ReadOnlyScopedAdmin):
    view_permission = "gate.view"
    list_display = ("at", "area", "plate", "direction", "passengers")


@admin.register(m.Checkpoint)
class CheckpointAdmin(ReadOnlyScopedAdmin):
    view_permission = "checkpoint.view"
    list_display = ("area", "kind", "active")
    list_filter = ("kind", "active")


@admin.register(m.CheckpointCheck)
class CheckpointCheckAdmin(ReadOnlyScopedAdmin):
    view_permission = "checkpoint.view"
    list_display = ("checked_at", "checkpoint", "plate", "passengers", "outcome")
    list_filter = ("outcome",)


@admin.register(m.TraceBack)
class TraceBackAdmin(ReadOnlyScopedAdmin):
    # Who traced whom and why is oversight material, like the audit trail.
    view_permission = "audit.view"
    list_display = ("requested_at", "area", "window_start", "window_end")
