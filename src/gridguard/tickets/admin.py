"""Admin for tickets: departments are master data edited here (scoped); tickets, cases and
their history change only through the services, so they are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from gridguard.accounts.selectors import users_visible_to
from gridguard.core.admin import ScopedModelAdmin
from gridguard.people.admin import ReadOnlyScopedAdmin
from gridguard.tickets import models as m


@admin.register(m.Department)
class DepartmentAdmin(ScopedModelAdmin):
    view_permission = "tickets.view"
    edit_permission = "tickets.departments"
    list_display = ("name", "kind", "area", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "area__code", "area__name")
    list_select_related = ("area",)
    filter_horizontal = ("handlers",)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "handlers":
            kwargs["queryset"] = users_visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(m.Case)
class CaseAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("number", "subclass", "status", "area", "department", "ticket_count")
    list_filter = ("status", "urgency")
    search_fields = ("number",)


@admin.register(m.Ticket)
class TicketAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("number", "channel", "received_at", "subclass", "area")
    list_filter = ("channel",)
    search_fields = ("number", "channel_ref")
    exclude = ("reporter_phone", "reporter_name")


@admin.register(m.TicketEvent)
class TicketEventAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("at", "case", "kind", "actor")
    list_filter = ("kind",)


@admin.register(m.Correction)
class CorrectionAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("corrected_at", "predicted", "corrected", "corrected_by")


@admin.register(m.Notice)
class NoticeAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("title", "area", "published_at", "withdrawn_at")


@admin.register(m.Answer)
class AnswerAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("question", "area", "published_at", "withdrawn_at")


@admin.register(m.TicketReport)
class TicketReportAdmin(ReadOnlyScopedAdmin):
    view_permission = "tickets.view"
    list_display = ("date", "area", "generated_at")
