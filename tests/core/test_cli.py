"""`gridguard audit verify|tail` and `gridguard purge` as an operator runs them."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from gridguard.core import audit, clock
from gridguard.core.models import AuditEntry, PurgeRun
from gridguard.core.scoping import SYSTEM
from gridguard.territory.models import DutyShift
from tests.conftest import City, plan_old_and_new_shifts
from tests.core.test_audit import _tamper


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Assertions read the English message ids, whatever translations exist.
    with translation.override("en"):
        yield


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_verify_reports_an_intact_trail(city: City) -> None:
    out, _err = run("audit", "verify")
    assert f"audit trail intact: {AuditEntry.objects.count()} entries" in out


def test_verify_fails_naming_the_changed_row(city: City) -> None:
    target = AuditEntry.objects.order_by("seq")[3]
    _tamper("UPDATE core_auditentry SET actor_label = %s WHERE seq = %s", ["mallory", target.seq])
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="audit trail broken"):
        call_command("audit", "verify", stdout=out, stderr=err)
    assert f"row {target.seq}: content was changed" in err.getvalue()
    assert "intact" not in out.getvalue()


def test_verify_fails_naming_the_deleted_row(city: City) -> None:
    target = AuditEntry.objects.order_by("seq")[5]
    _tamper("DELETE FROM core_auditentry WHERE seq = %s", [target.seq])
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=StringIO(), stderr=err)
    assert f"rows {target.seq}..{target.seq} are missing (deleted)" in err.getvalue()


def test_tail_hides_detail_unless_asked(city: City) -> None:
    with clock.frozen(dt.datetime(2020, 2, 10, 1, 2, 3, tzinfo=dt.UTC)):
        entry = audit.record(
            SYSTEM, "test.secret", city["gate_a1"], detail={"phone": "13800138000"}
        )
    out, _err = run("audit", "tail", "-n", "1")
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert str(entry.seq) in lines[0] and "test.secret" in lines[0]
    assert "2020-02-10 09:02:03" in lines[0]  # shown in Shanghai time
    assert city["gate_a1"].path in lines[0] and "system" in lines[0]
    assert "13800138000" not in out
    out, _err = run("audit", "tail", "-n", "1", "--detail")
    assert "13800138000" in out


def test_tail_prints_the_latest_n_oldest_first(city: City) -> None:
    last = AuditEntry.objects.order_by("-seq")[:3]
    out, _err = run("audit", "tail", "-n", "3")
    seqs = [int(line.split()[0]) for line in out.strip().splitlines()]
    assert seqs == sorted(e.seq for e in last)


def test_tail_refuses_a_bad_count(city: City) -> None:
    with pytest.raises(CommandError, match="-n"):
        run("audit", "tail", "-n", "0")


def _shifts(city: City) -> tuple[dt.datetime, dt.datetime]:
    return plan_old_and_new_shifts(city)


def test_purge_list_prints_every_kind_with_its_period(settings: Any) -> None:
    settings.RETENTION_DAYS = {"duty_shifts": 30}
    out, _err = run("purge", "--list")
    line = next(x for x in out.splitlines() if x.startswith("duty_shifts"))
    assert "30 days" in line and "Gate and checkpoint shifts" in line
    assert "login_log" in out and "90 days" in out


def test_purge_dry_run_counts_and_changes_nothing(city: City, settings: Any) -> None:
    settings.RETENTION_DAYS = {"duty_shifts": 30}
    _shifts(city)
    runs_before = PurgeRun.objects.count()
    with clock.frozen(dt.datetime(2020, 3, 1, tzinfo=dt.UTC)):
        out, _err = run("purge", "--dry-run")
    line = next(x for x in out.splitlines() if x.startswith("duty_shifts"))
    assert "would delete 1" in line
    assert "nothing changed" in out
    assert DutyShift.objects.count() == 2
    assert PurgeRun.objects.count() == runs_before
    assert not AuditEntry.objects.filter(action="purge").exists()


def test_purge_deletes_old_rows_and_records_the_run(city: City, settings: Any) -> None:
    settings.RETENTION_DAYS = {"duty_shifts": 30}
    _old, new_start = _shifts(city)
    with clock.frozen(dt.datetime(2020, 3, 1, tzinfo=dt.UTC)):
        out, _err = run("purge")
    line = next(x for x in out.splitlines() if x.startswith("duty_shifts"))
    assert "deleted 1" in line
    assert list(DutyShift.objects.values_list("starts_at", flat=True)) == [new_start]
    assert PurgeRun.objects.get(kind="duty_shifts").deleted == 1
    assert AuditEntry.objects.filter(action="purge", detail__kind="duty_shifts").exists()
    assert audit.verify().ok


def test_serve_logs_paths_without_query_strings(tmp_path: Path) -> None:
    """`gridguard serve` really serves; searches carry ID numbers and phones in the query
    string, and the access log leaves it out."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, GRIDGUARD_VAR_DIR=str(tmp_path), DATABASE_URL="")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gridguard.cli",
                "serve",
                "--no-worker",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "1",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.time() + 30
            status = None
            while time.time() < deadline and status is None:
                try:
                    url = f"http://127.0.0.1:{port}/accounts/login/?id_number=310101199001011234"
                    status = urllib.request.urlopen(url, timeout=2).status
                except OSError:
                    time.sleep(0.2)
            assert status == 200
            time.sleep(0.5)  # let the access log line be written
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    text = log.read_text()
    assert 'GET /accounts/login/ HTTP/1.1" 200' in text, text
    assert "310101199001011234" not in text and "id_number" not in text


def test_serve_refuses_a_bad_bind() -> None:
    with pytest.raises(CommandError, match="--bind"):
        call_command("serve", "--no-worker", "--bind", "nonsense")
