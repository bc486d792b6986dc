"""Retention of personal records: each app registers its kinds; `gridguard purge` applies them.

Counts that dashboards and reports show live in aggregate tables, not in the purged rows, so a
purge leaves them as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models, transaction

from gridguard.core import audit, clock
from gridguard.core.models import PurgeRun


@dataclass(frozen=True)
class RetentionRule:
    """Rows of `model` whose `date_field` is older than `days` are removed by a purge."""

    kind: str
    model: type[models.Model]
    date_field: str
    default_days: int
    description: str
    # For kinds whose age is not one column (e.g. "30 days after the observation ended"):
    # given the cutoff, the queryset of expired rows. Overrides date_field.
    expired: Callable[[dt.datetime], Any] | None = None

    @property
    def days(self) -> int:
        return int(getattr(settings, "RETENTION_DAYS", {}).get(self.kind, self.default_days))


_rules: dict[str, RetentionRule] = {}


def register(
    kind: str,
    model: type[models.Model],
    date_field: str,
    default_days: int,
    description: str,
    *,
    expired: Callable[[dt.datetime], Any] | None = None,
) -> None:
    """Register a kind of personal record (call from an AppConfig.ready)."""
    _rules[kind] = RetentionRule(kind, model, date_field, default_days, description, expired)


def rules() -> list[RetentionRule]:
    return sorted(_rules.values(), key=lambda r: r.kind)


def purge(*, dry_run: bool = False, at: dt.datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention period; returns the count per kind."""
    when = at or clock.now()
    counts: dict[str, int] = {}
    for rule in rules():
        cutoff = when - dt.timedelta(days=rule.days)
        if rule.expired is not None:
            qs = rule.expired(cutoff)
        else:
            qs = rule.model._default_manager.filter(**{f"{rule.date_field}__lt": cutoff})
        if dry_run:
            counts[rule.kind] = qs.count()
            continue
        with transaction.atomic():
            # qs.delete() also counts cascaded rows; report the rows of the kind itself.
            _total, per_model = qs.delete()
            deleted = per_model.get(rule.model._meta.label, 0)
            PurgeRun.objects.create(kind=rule.kind, ran_at=when, cutoff=cutoff, deleted=deleted)
            audit.record(
                None,
                "purge",
                object_type=rule.model._meta.label_lower,
                detail={"kind": rule.kind, "cutoff": cutoff.isoformat(), "deleted": deleted},
            )
        counts[rule.kind] = deleted
    return counts
