"""Reads of the audit trail, scoped to the reader's territory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from gridguard.core.clock import SHANGHAI
from gridguard.core.models import AuditEntry


def audit_entries(
    actor: Any,
    *,
    actor_label: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    area: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """Audit rows in the actor's territory, newest first, filtered."""
    qs = AuditEntry.objects.visible_to(actor)
    if actor_label:
        qs = qs.filter(actor_label=actor_label)
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if area:
        qs = qs.filter(area_path__contains=f"/{area}/")
    if since:
        qs = qs.filter(at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=SHANGHAI))
    if until:
        qs = qs.filter(
            at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
        )
    return qs.order_by("-seq")
