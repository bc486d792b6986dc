"""Shared tables: the hash-chained audit trail and the record of purges."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core.scoping import ScopedQuerySet


class AuditQuerySet(ScopedQuerySet["AuditEntry"]):
    # Audit rows keep the area path itself: the area may be purged, the trail may not.
    scope_lookup = "area_path"


class AuditEntry(models.Model):
    """One append-only row of the audit trail; `hash` chains it to the row before."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    area_path = models.CharField(max_length=255, blank=True, db_index=True)
    ip = models.CharField(max_length=45, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = models.Manager.from_queryset(AuditQuerySet)()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The chain's last sequence number and hash; one row, locked by every append.

    Keeping the head apart makes a deleted last row detectable, and locking it orders
    concurrent appends on PostgreSQL.
    """

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class PurgeRun(models.Model):
    """What one run of `gridguard purge` removed, kind by kind (the counts stay)."""

    kind = models.CharField(max_length=80)
    ran_at = models.DateTimeField()
    cutoff = models.DateTimeField()
    deleted = models.PositiveIntegerField()

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.deleted} before {self.cutoff:%Y-%m-%d}"


class AuditInbox(models.Model):
    """Audit rows of high-volume reads (a gate checking a health code), written with one
    insert and no lock; `audit.seal()` (run by the worker) moves them into the chain in
    order. A row here is already durable: sealing only chains it."""

    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    area_path = models.CharField(max_length=255, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("audit inbox row")
        verbose_name_plural = _("audit inbox")

    def __str__(self) -> str:
        return f"inbox {self.pk} {self.action}"
