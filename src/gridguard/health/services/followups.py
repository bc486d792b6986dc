"""Follow-up tasks pushed to a committee (a key-area arrival, a fever-medicine purchase, …)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import require_in_scope
from gridguard.health.models import FollowUpStatus, FollowUpTask
from gridguard.people.models import Person
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

_COMMITTEES = {AreaKind.COMMITTEE, AreaKind.VILLAGE}


def committees_of(areas: list[Area]) -> dict[int, Area]:
    """{area pk: the committee it belongs to} in one query: the area itself when it is a
    committee, else its committee ancestor; an area above the committee level (an unmatched
    address) stays where it is, for the street to assign."""
    codes = {code for a in areas if a.kind not in _COMMITTEES for code in a.codes}
    found = {a.code: a for a in Area.objects.filter(code__in=codes, kind__in=_COMMITTEES)}
    out: dict[int, Area] = {}
    for a in areas:
        if a.kind in _COMMITTEES:
            out[a.pk] = a
            continue
        out[a.pk] = next((found[c] for c in reversed(a.codes) if c in found), a)
    return out


def responsible_committee(area: Area) -> Area:
    """The committee `area` belongs to (see `committees_of`)."""
    return committees_of([area])[area.pk]


def open_followup(
    actor: Any,
    *,
    kind: str,
    person: Person,
    area: Area,
    source: str,
    summary: str,
    due_in: dt.timedelta | None = dt.timedelta(hours=24),
) -> FollowUpTask:
    """Push a task about `person` to the committee of `area` (one task per source: calling
    again with the same source returns the existing task)."""
    with transaction.atomic():
        existing = FollowUpTask.objects.filter(source=source).first()
        if existing is not None:
            return existing
        task = FollowUpTask.objects.create(
            kind=kind,
            person=person,
            area=responsible_committee(area),
            source=source,
            summary=summary[:255],
            due_at=clock.now() + due_in if due_in else None,
        )
        audit.record(actor, "followup.open", task, detail={"kind": kind, "source": source})
        return task


def close_followup(
    actor: Any, task: FollowUpTask, *, outcome: str, cancelled: bool = False
) -> FollowUpTask:
    """Close a task with what was done (or cancel it). The actor must cover its area."""
    require_in_scope(actor, task.area)
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput.one("outcome", "required", _("Say what was done."))
    with transaction.atomic():
        task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
        if task.status != FollowUpStatus.OPEN:
            raise InvalidInput.one("status", "closed", _("This task is already closed."))
        task.status = FollowUpStatus.CANCELLED if cancelled else FollowUpStatus.DONE
        task.outcome = outcome[:255]
        task.closed_at = clock.now()
        task.closed_by = actor if getattr(actor, "pk", None) else None
        task.save(update_fields=["status", "outcome", "closed_at", "closed_by"])
        audit.record(actor, "followup.close", task, detail={"status": task.status})
        return task
