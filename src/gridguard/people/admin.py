"""Admin for the person registry: read-only views, scoped (writes go through the services,
which check identities and audit)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridguard.core.admin import ScopedModelAdmin
from gridguard.people.models import DuplicatePair, Household, KeyPersonFlag, Person, PersonMerge


class ReadOnlyScopedAdmin(ScopedModelAdmin):
    """Personal records are viewed here, changed through the pages that check and audit."""

    view_permission = "people.view"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Person)
class PersonAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "id_type", "area", "created_at")
    search_fields = ("name",)
    exclude = ("id_number", "phone")  # shown masked on the person page, audited there


@admin.register(Household)
class HouseholdAdmin(ReadOnlyScopedAdmin):
    list_display = ("area", "room", "address")


@admin.register(KeyPersonFlag)
class KeyPersonFlagAdmin(ReadOnlyScopedAdmin):
    list_display = ("person", "category", "since", "until")
    list_filter = ("category",)


@admin.register(DuplicatePair)
class DuplicatePairAdmin(ReadOnlyScopedAdmin):
    list_display = ("first", "second", "reason", "status")
    list_filter = ("status", "reason")


@admin.register(PersonMerge)
class PersonMergeAdmin(ReadOnlyScopedAdmin):
    list_display = ("survivor", "merged", "merged_at", "undone_at")
