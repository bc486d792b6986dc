"""The demo city: deterministic, realistic at both scales, one working login per role."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from gridguard.accounts.models import RoleBinding, User
from gridguard.accounts.roles import Role
from gridguard.core import audit
from gridguard.core.models import AuditEntry
from gridguard.demo.plan import plan_territory
from gridguard.demo.presets import PRESETS
from gridguard.demo.registry import DEFAULT_DEMO_PASSWORD, steps
from gridguard.demo.steps.logins import ROLE_AREA
from gridguard.territory.kinds import code_problem
from gridguard.territory.models import Area, DutyShift, GridCell, Responsibility

REPO = Path(__file__).resolve().parents[2]


def _rows(seed: int, preset: str = "default") -> list[tuple[Any, ...]]:
    rows = plan_territory(PRESETS[preset], random.Random(seed))
    return [(r.code, r.name, r.kind, r.parent_code, r.latitude, r.longitude) for r in rows]


def test_same_seed_same_city_other_seed_other_city() -> None:
    assert _rows(7) == _rows(7)
    assert _rows(7) != _rows(8)


def test_default_city_is_one_district_with_every_kind_of_place() -> None:
    kinds = Counter(r[2] for r in _rows(2020))
    assert kinds["district"] == 1 and kinds["street"] >= 2
    for kind in (
        "committee",
        "compound",
        "gate",
        "building",
        "building_group",
        "office_building",
        "shop",
        "market",
        "enterprise",
        "pharmacy",
        "checkpoint",
        "camera",
        "road",
        "block",
        "village",
        "village_group",
    ):
        assert kinds[kind] > 0, kind


def test_shanghai_preset_has_the_seeds_scale() -> None:
    rows = plan_territory(PRESETS["shanghai"], random.Random(2020))
    kinds = Counter(r.kind for r in rows)
    assert kinds["district"] == 16
    assert kinds["street"] + kinds["township"] == 215
    assert kinds["committee"] >= 6000
    assert kinds["compound"] >= 13000
    assert kinds["gate"] >= 2 * kinds["compound"]
    # Every code is valid under its parent, and codes are unique.
    by_code = {r.code: r for r in rows}
    assert len(by_code) == len(rows)
    for r in rows[:: max(1, len(rows) // 2000)]:
        parent_kind = by_code[r.parent_code].kind if r.parent_code else None
        assert not code_problem(r.kind, r.code, parent_kind, r.parent_code), r


def test_every_role_has_a_demo_login() -> None:
    assert set(ROLE_AREA) == set(Role)
    assert [s.name for s in steps()][:2] == ["territory", "grid"]


def _demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_city_loads_with_logins_duty_and_responsible_persons() -> None:
    printed = _demo("--seed", "5", "--people", "40")
    for role in Role:
        user = User.objects.get(username=str(role))
        assert RoleBinding.objects.filter(user=user, role=role).exists()
        assert str(role) in printed
    assert DEFAULT_DEMO_PASSWORD in printed
    # Every compound has gates, every gate a gate chief, every committee grid cells with workers.
    compounds = Area.objects.filter(kind="compound")
    assert compounds.exists()
    assert not compounds.exclude(children__kind="gate").exists()
    gates = Area.objects.filter(kind="gate").count()
    assert Responsibility.objects.filter(kind="gate_chief", until__isnull=True).count() == gates
    assert not GridCell.objects.filter(workers__isnull=True).exists()
    assert GridCell.objects.values("area").distinct().count() == (
        Area.objects.filter(kind__in=["committee", "village"]).count()
    )
    volunteer = User.objects.get(username="gate_volunteer")
    assert DutyShift.objects.filter(user=volunteer, clocked_out_at__isnull=False).count() >= 14
    assert DutyShift.objects.filter(user=volunteer, clocked_in_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action="demo.generate").count() == 1
    assert audit.verify().ok
    # The printed password logs in.
    client = Client()
    answer = client.post(
        "/accounts/login/",
        {"username": "committee_worker", "password": DEFAULT_DEMO_PASSWORD},
    )
    assert answer.status_code == 302, answer.content[:300]
    page = client.get("/accounts/home/")
    worker = User.objects.get(username="committee_worker")
    assert page.status_code == 200 and worker.display_name in page.content.decode()


@pytest.mark.django_db
def test_second_run_without_reset_is_refused_and_changes_nothing() -> None:
    _demo("--seed", "5", "--people", "10", "-v", "0")
    before = Area.objects.count(), User.objects.count()
    with pytest.raises(CommandError, match="--reset"):
        _demo("--seed", "6")
    assert (Area.objects.count(), User.objects.count()) == before


@pytest.mark.django_db
def test_reset_refuses_a_territory_the_demo_did_not_make(city: Any) -> None:
    with pytest.raises(CommandError, match="did not make"):
        _demo("--reset")
    assert Area.objects.filter(code="310101001").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--people", "many"), "--people: a whole number"),
        (("--people", "0"), "--people: between 1"),
        (("--only", "nosuch"), "--only: unknown step"),
    ],
)
def test_bad_options_name_the_option(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _demo(*args)
    assert not Area.objects.exists()


def test_reset_replaces_the_city_with_the_same_city_for_the_same_seed(tmp_path: Path) -> None:
    """End to end through the console script, on its own SQLite file."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "GRIDGUARD_VAR_DIR": str(tmp_path),
    }
    exe = str(Path(sys.executable).parent / "gridguard")

    def run(*args: str) -> str:
        done = subprocess.run(
            [exe, *args], env=env, capture_output=True, text=True, timeout=300, check=True
        )
        return done.stdout

    def areas() -> str:
        return run("export", "territory")

    run("migrate", "-v0")
    run("demo", "--seed", "11", "--people", "10")
    first = areas()
    run("demo", "--seed", "12", "--people", "10", "--reset")
    assert areas() != first
    run("demo", "--seed", "11", "--people", "10", "--reset")
    assert areas() == first
    assert "310101" in first
