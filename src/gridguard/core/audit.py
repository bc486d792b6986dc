"""The audit trail: append (hash-chained) and verify.

Services call `record()` inside their transaction, so a write and its audit row land together
or not at all. Reads of a person's record call `record_read()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

from gridguard.core import clock, context, leansql
from gridguard.core.models import AuditEntry, AuditHead, AuditInbox

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> str:
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(
        [
            entry.seq,
            at,
            entry.actor_id,
            entry.actor_label,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.area_path,
            entry.ip,
            entry.channel,
            entry.detail,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def compute_hash(entry: AuditEntry) -> str:
    """sha256 over the previous hash and the row's canonical content."""
    return hashlib.sha256((entry.prev_hash + _canonical(entry)).encode()).hexdigest()


def describe_actor(actor: Any) -> tuple[int | None, str]:
    """(user id or None, label) as the audit trail names an actor."""
    if actor is None:
        return None, "system"
    label = getattr(actor, "audit_label", None)
    if callable(label):
        return getattr(actor, "pk", None), str(label())
    return getattr(actor, "pk", None), str(actor)


def _object_fields(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


def record(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    area_path: str = "",
    detail: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
) -> AuditEntry:
    """Append one audit row. Call inside the transaction that does the audited work."""
    ctx = context.current()
    actor_id, actor_label = describe_actor(actor)
    otype, oid = _object_fields(obj)
    if not area_path and obj is not None:
        area = getattr(obj, "area", None)
        area_path = getattr(area, "path", "") or getattr(obj, "path", "") or ""
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor_id,
        actor_label=actor_label[:150],
        action=action,
        object_type=object_type or otype,
        object_id=(object_id or oid)[:64],
        area_path=area_path,
        ip=ctx.ip,
        channel=ctx.channel,
        detail=detail or {},
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(entry)  # written, chained, by the enclosing batched() block
        return entry
    _append([entry])
    return entry


class RecordedActor:
    """An actor known only by what the audit trail keeps of it (id and label): for work done
    later on someone's behalf, such as placing a queued registration."""

    def __init__(self, actor_id: int | None, label: str) -> None:
        self.pk = actor_id
        self.label = label

    def audit_label(self) -> str:
        return self.label

    def __str__(self) -> str:
        return self.label


def _append(entries: list[AuditEntry]) -> None:
    """Chain and insert `entries` under one lock of the chain head."""
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        seq, prev = head.seq, head.hash
        for entry in entries:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = compute_hash(entry)
        if len(entries) == 1:
            entries[0].save(force_insert=True)
        else:
            AuditEntry.objects.bulk_create(entries)
        head.seq, head.hash = seq, prev
        head.save(update_fields=["seq", "hash"])


_pending: contextvars.ContextVar[list[AuditEntry] | None] = contextvars.ContextVar(
    "gridguard_audit_pending", default=None
)


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Collect the rows `record()` makes inside the block and append them together at its end
    (one lock of the chain head instead of one per row). Use inside the transaction of a
    busy write path (a registration writes a person, a registration, a flag and a task); if
    the block raises, nothing is appended, as the transaction rolls back anyway."""
    if _pending.get() is not None:
        yield  # already inside a batch: the outer block writes
        return
    token = _pending.set([])
    try:
        yield
        entries = _pending.get() or []
    finally:
        _pending.reset(token)
    if entries:
        _append(entries)


def record_read(
    actor: Any, obj: models.Model, *, fields: Iterable[str] = (), deferred: bool = False
) -> AuditEntry | None:
    """Audit that `actor` read a person's record (and which personal fields were shown).

    `deferred=True` is for reads that come by the thousand a minute (gates checking codes):
    the row goes to the inbox with one insert and no lock, and `seal()` chains it within a
    second or so (the worker runs it; `verify` seals first)."""
    detail = {"fields": sorted(fields)} if fields else None
    if deferred and _pending.get() is None:
        defer(actor, "read", obj, detail=detail)
        return None
    return record(actor, "read", obj, detail=detail)


def defer(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    detail: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    area_path: str = "",
) -> AuditInbox:
    """Write an audit row to the inbox (one insert, no lock); `seal()` chains it.

    Without `obj`, `object_type`, `object_id` and `area_path` name the object (a hot path
    that knows a person's id without loading the person)."""
    row = inbox_row(
        actor,
        action,
        obj,
        detail=detail,
        object_type=object_type,
        object_id=object_id,
        area_path=area_path,
    )
    # Gates write these by the thousand a minute: the precompiled insert skips the ORM's
    # per-call SQL compiling (bench/health_codes.py).
    leansql.insert(row)
    return row


def inbox_row(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    detail: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    area_path: str = "",
) -> AuditInbox:
    """The unsaved inbox row `defer` would write, for a hot path that inserts it in the same
    statement as its own row (`leansql.insert_together`)."""
    ctx = context.current()
    actor_id, actor_label = describe_actor(actor)
    otype, oid = _object_fields(obj)
    otype, oid = otype or object_type, oid or object_id
    if not area_path:
        area = getattr(obj, "area", None) if obj is not None else None
        area_path = getattr(area, "path", "") or getattr(obj, "path", "") or ""
    return AuditInbox(
        at=clock.now(),
        actor_id=actor_id,
        actor_label=actor_label[:150],
        action=action,
        object_type=otype,
        object_id=oid[:64],
        area_path=area_path,
        ip=ctx.ip,
        channel=ctx.channel,
        detail=detail or {},
    )


_SEAL_FIELDS = (
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "area_path",
    "ip",
    "channel",
    "detail",
)


def seal(limit: int = 5000) -> int:
    """Move up to `limit` inbox rows into the chain, oldest first; returns how many."""
    with transaction.atomic():
        qs = AuditInbox.objects.order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs[:limit])
        if not rows:
            return 0
        _append([AuditEntry(**{f: getattr(r, f) for f in _SEAL_FIELDS}) for r in rows])
        AuditInbox.objects.filter(pk__in=[r.pk for r in rows]).delete()
        return len(rows)


def pending_seal() -> int:
    """How many audit rows wait in the inbox."""
    return AuditInbox.objects.count()


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order and report every changed, inserted or deleted row (after
    sealing what waits in the inbox, so every row is checked)."""
    while seal():
        pass
    problems: list[str] = []
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    qs = AuditEntry.objects.order_by("seq")
    start = 0
    while True:
        rows = list(qs.filter(seq__gt=start)[:batch])
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                problems.append(
                    f"rows {expected_seq}..{e.seq - 1} are missing (deleted)"
                    if e.seq > expected_seq
                    else f"row {e.seq} is out of order"
                )
            if e.prev_hash != expected_prev:
                problems.append(f"row {e.seq}: link to the previous row is broken")
            if compute_hash(e) != e.hash:
                problems.append(f"row {e.seq}: content was changed after it was written")
            expected_prev = e.hash
            expected_seq = e.seq + 1
            last_seq = e.seq
            checked += 1
        start = rows[-1].seq
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != last_seq or head.hash != expected_prev):
        problems.append(
            f"the chain ends at row {last_seq} but its head says {head.seq}: "
            "rows at the end were deleted or the head was changed"
        )
    return VerifyResult(ok=not problems, checked=checked, problems=problems)
