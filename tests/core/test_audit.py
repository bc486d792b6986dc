"""The audit chain verifies, and detects a changed, inserted or deleted row."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from gridguard.core import audit
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from tests.conftest import City


def _tamper(sql: str, params: list[Any]) -> None:
    """Play an attacker with database rights: switch the append-only triggers off, write."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditentry DISABLE TRIGGER USER")
            cur.execute(sql, params)
            cur.execute("ALTER TABLE core_auditentry ENABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER core_auditentry_no_update")
            cur.execute("DROP TRIGGER core_auditentry_no_delete")
            cur.execute(sql, params)
            import importlib

            mig = importlib.import_module("gridguard.core.migrations.0002_audit_append_only")
            for stmt in mig.SQLITE:
                cur.execute(stmt)


def test_chain_verifies(city: City) -> None:
    result = audit.verify()
    assert result.ok, result.problems
    assert result.checked == AuditEntry.objects.count() > 10


def test_changed_row_is_detected(city: City) -> None:
    target = AuditEntry.objects.order_by("seq")[3]
    _tamper("UPDATE core_auditentry SET actor_label = %s WHERE seq = %s", ["mallory", target.seq])
    result = audit.verify()
    assert not result.ok
    assert any(f"row {target.seq}: content was changed" in p for p in result.problems)


def test_deleted_row_is_detected(city: City) -> None:
    target = AuditEntry.objects.order_by("seq")[5]
    _tamper("DELETE FROM core_auditentry WHERE seq = %s", [target.seq])
    result = audit.verify()
    assert not result.ok
    assert any("missing (deleted)" in p for p in result.problems)


def test_deleted_last_row_is_detected(city: City) -> None:
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None
    _tamper("DELETE FROM core_auditentry WHERE seq = %s", [last.seq])
    result = audit.verify()
    assert not result.ok
    assert any("rows at the end were deleted" in p for p in result.problems)


def test_database_refuses_update_and_delete(city: City) -> None:
    entry = AuditEntry.objects.order_by("seq").first()
    assert entry is not None
    for sql in (
        "UPDATE core_auditentry SET action = 'x' WHERE seq = %s",
        "DELETE FROM core_auditentry WHERE seq = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [entry.seq])
    assert AuditEntry.objects.get(seq=entry.seq).action == entry.action


def test_record_carries_request_context(city: City) -> None:
    from gridguard.core import context

    token = context.set_current(context.RequestContext(ip="10.1.2.3", channel="web"))
    try:
        e = audit.record(city.users["operator_a"], "test.ctx", city["gate_a1"])
    finally:
        context.reset(token)
    assert (e.ip, e.channel, e.actor_label) == ("10.1.2.3", "web", "operator_a")
    assert e.area_path == city["gate_a1"].path
    assert e.object_type == "territory.area" and e.object_id == str(city["gate_a1"].pk)


@pytest.mark.django_db
def test_batched_rows_are_chained_together_and_verify(city: City) -> None:
    before = AuditEntry.objects.count()
    with transaction.atomic(), audit.batched():
        audit.record(SYSTEM, "test.one", city["compound_a1"])
        audit.record(SYSTEM, "test.two", city["compound_a2"])
        assert AuditEntry.objects.count() == before  # held until the block ends
    rows = list(AuditEntry.objects.order_by("-seq")[:2])
    assert [r.action for r in rows] == ["test.two", "test.one"]
    assert rows[0].prev_hash == rows[1].hash
    assert audit.verify().ok


@pytest.mark.django_db
def test_batched_block_that_raises_appends_nothing(city: City) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), audit.batched():
        audit.record(SYSTEM, "test.lost", city["compound_a1"])
        raise RuntimeError("the write failed")
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_deferred_reads_are_sealed_into_the_chain_in_order(city: City) -> None:
    from gridguard.core.models import AuditInbox

    audit.record(SYSTEM, "test.before", city["compound_a1"])
    for n in range(3):
        audit.defer(SYSTEM, "read", city["compound_a1"], detail={"n": n})
    assert AuditInbox.objects.count() == 3
    assert audit.seal() == 3 and audit.seal() == 0
    assert not AuditInbox.objects.exists()
    rows = list(AuditEntry.objects.order_by("-seq")[:4])
    assert [r.detail.get("n") for r in rows[:3]] == [2, 1, 0]
    assert rows[0].area_path == city["compound_a1"].path
    assert audit.verify().ok


@pytest.mark.django_db
def test_verify_seals_the_inbox_first(city: City) -> None:
    audit.defer(SYSTEM, "read", city["compound_a1"])
    result = audit.verify()
    assert result.ok and result.checked >= 1
    assert AuditEntry.objects.filter(action="read").count() == 1
