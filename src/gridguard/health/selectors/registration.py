"""Reads of traveller registrations and follow-up tasks, always scoped to the reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import ScopedQuerySet, require_permission
from gridguard.health.models import (
    FollowUpTask,
    MatchStatus,
    RegistrationIntake,
    TravellerRegistration,
)


def registrations_visible_to(
    actor: Any,
    *,
    match_status: str | None = None,
    key_area: bool | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    q: str = "",
) -> ScopedQuerySet[TravellerRegistration]:
    """Registrations in the reader's territory, newest first, with optional filters."""
    require_permission(actor, "travellers.view")
    qs = TravellerRegistration.objects.visible_to(actor).select_related("area")
    if match_status:
        qs = qs.filter(match_status=match_status)
    if key_area is not None:
        qs = qs.filter(from_key_area=key_area)
    if since:
        qs = qs.filter(arrival_date__gte=since)
    if until:
        qs = qs.filter(arrival_date__lte=until)
    q = (q or "").strip()
    if q:
        # Exact identifiers only: a search must not let a worker browse people by fragments.
        qs = qs.filter(receipt_code=q.upper()) | qs.filter(id_number=q.upper()) | qs.filter(phone=q)
    return qs.order_by("-submitted_at", "-id")


def unmatched_queue(actor: Any) -> ScopedQuerySet[TravellerRegistration]:
    """Registrations whose address reached no compound, oldest first (never dropped)."""
    return registrations_visible_to(actor, match_status=MatchStatus.UNMATCHED).order_by(
        "submitted_at", "id"
    )


def registration(actor: Any, pk: int) -> TravellerRegistration:
    """One registration in the reader's territory (OutOfScope when it is not)."""
    require_permission(actor, "travellers.view")
    reg = (
        TravellerRegistration.objects.visible_to(actor)
        .select_related("area", "person", "key_region", "checkpoint")
        .filter(pk=pk)
        .first()
    )
    if reg is None:
        raise OutOfScope()
    return reg


def by_receipt(code: str) -> TravellerRegistration | None:
    """The registration with this receipt code (for the registrant's own lookup)."""
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    return TravellerRegistration.objects.select_related("area").filter(receipt_code=code).first()


def intake_by_receipt(code: str) -> RegistrationIntake | None:
    """The intake row of a receipt code (placed or still queued), for the device that sent it."""
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    return (
        RegistrationIntake.objects.select_related("registration__area")
        .filter(receipt_code=code)
        .first()
    )


def followups_visible_to(
    actor: Any, *, status: str | None = "open", kind: str | None = None
) -> ScopedQuerySet[FollowUpTask]:
    """Follow-up tasks at the reader's committees, oldest due first."""
    require_permission(actor, "followups.view")
    qs = FollowUpTask.objects.visible_to(actor).select_related("area", "person")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("due_at", "id")


def followup(actor: Any, pk: int) -> FollowUpTask:
    require_permission(actor, "followups.view")
    task = FollowUpTask.objects.visible_to(actor).select_related("area", "person").filter(pk=pk)
    found = task.first()
    if found is None:
        raise OutOfScope()
    return found
