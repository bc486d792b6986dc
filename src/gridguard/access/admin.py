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
