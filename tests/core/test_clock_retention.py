"""The one clock can be frozen; a purge removes what is past its period and keeps counts."""

from __future__ import annotations

import datetime as dt

import pytest

from gridguard.core import clock, retention
from gridguard.core.models import AuditEntry, PurgeRun
from gridguard.territory.models import DutyShift
from tests.conftest import City, plan_old_and_new_shifts


def test_frozen_clock_and_shanghai_date() -> None:
    at = dt.datetime(2020, 2, 9, 17, 30, tzinfo=dt.UTC)  # 01:30 on the 10th in Shanghai
    with clock.frozen(at):
        assert clock.now() == at
        assert clock.today() == dt.date(2020, 2, 10)
    assert clock.now() != at


def test_frozen_clock_refuses_naive_time() -> None:
    with pytest.raises(ValueError), clock.frozen(dt.datetime(2020, 1, 1)):
        pass


def test_every_kind_has_a_positive_period() -> None:
    kinds = {r.kind for r in retention.rules()}
    assert {"duty_shifts", "login_log", "login_failures"} <= kinds
    assert all(r.days > 0 for r in retention.rules())


def test_purge_removes_only_old_rows_and_records_the_count(city: City, settings) -> None:
    settings.RETENTION_DAYS = {"duty_shifts": 30}
    _old_start, new_start = plan_old_and_new_shifts(city)
    at = dt.datetime(2020, 3, 1, tzinfo=dt.UTC)
    assert retention.purge(dry_run=True, at=at)["duty_shifts"] == 1
    assert DutyShift.objects.count() == 2  # a dry run changes nothing
    counts = retention.purge(at=at)
    assert counts["duty_shifts"] == 1
    assert list(DutyShift.objects.values_list("starts_at", flat=True)) == [new_start]
    run = PurgeRun.objects.get(kind="duty_shifts")
    assert run.deleted == 1
    assert AuditEntry.objects.filter(action="purge", detail__kind="duty_shifts").exists()
