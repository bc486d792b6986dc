"""Shared fixtures: a small city with two streets, and one user per role."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from gridguard.accounts import services as accounts
from gridguard.accounts.models import User
from gridguard.core.scoping import SYSTEM
from gridguard.territory import services as territory
from gridguard.territory.models import Area

PASSWORD = "Grid-Guard-2026!"


@pytest.fixture(scope="session", autouse=True)
def _end_stray_database_sessions(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Live-server threads can leave a PostgreSQL session open, which stops pytest-django from
    dropping the test database at the end; end them first."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@contextmanager
def audit_triggers_lifted(django_db_blocker: Any) -> Iterator[None]:
    """Lift the audit table's append-only triggers for a block of transactional tests.

    A transactional test ends by flushing every table, audit rows too, which the triggers
    refuse. Use from a module-scoped fixture, so the triggers are back before any other
    module's tests (which check that the audit table is append-only) run.
    """
    import importlib

    from django.db import connection

    migration = importlib.import_module("gridguard.core.migrations.0002_audit_append_only")
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        migration.backwards(None, editor)
    yield
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        migration.forwards(None, editor)


def plan_old_and_new_shifts(city: City) -> tuple[dt.datetime, dt.datetime]:
    """Two served shifts of volunteer_a1 at gate A1: 2020-01-01 and 2020-02-20 (retention)."""
    volunteer = city.users["volunteer_a1"]
    old_start = dt.datetime(2020, 1, 1, 8, tzinfo=dt.UTC)
    new_start = dt.datetime(2020, 2, 20, 8, tzinfo=dt.UTC)
    for start in (old_start, new_start):
        territory.plan_shift(
            SYSTEM,
            area=city["gate_a1"],
            user=volunteer,
            post="volunteer",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=4),
        )
    return old_start, new_start


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # argon2 is the production hasher; tests that check it ask for it explicitly.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class City:
    areas: dict[str, Area] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Area:
        return self.areas[key]


def _area(city: City, key: str, code: str, name: str, kind: str, parent: str | None) -> Area:
    a = territory.create_area(
        SYSTEM, code=code, name=name, kind=kind, parent=city.areas[parent] if parent else None
    )
    city.areas[key] = a
    return a


def reseed_reference_data() -> None:
    """Put back the rows the data migrations seed (observation types, health-code rules, key
    regions): a transactional test's flush empties those tables too."""
    import importlib

    from django.apps import apps

    from gridguard.health.models import HealthCodeRule, KeyRegion

    if not HealthCodeRule.objects.exists():
        importlib.import_module("gridguard.health.migrations.0003_defaults").forwards(apps, None)
    if not KeyRegion.objects.exists():
        importlib.import_module("gridguard.health.migrations.0004_key_regions").add(apps, None)


def build_city() -> City:
    """city > district > streets A and B > committees > compounds > gates and buildings."""
    # In-process caches outlive the rolled-back transaction of the previous test.
    from gridguard.access.services.scanning import forget_cached as forget_scanner_caches
    from gridguard.health.travel import forget_key_regions
    from gridguard.territory.address_match import forget_index

    forget_key_regions()
    forget_index()
    forget_scanner_caches()
    c = City()
    _area(c, "city", "3101", "上海市", "city", None)
    _area(c, "district", "310101", "黄浦区", "district", "city")
    _area(c, "street_a", "310101001", "南京东路街道", "street", "district")
    _area(c, "street_b", "310101002", "外滩街道", "street", "district")
    _area(c, "committee_a1", "310101001001", "贵州居委", "committee", "street_a")
    _area(c, "committee_a2", "310101001002", "云南居委", "committee", "street_a")
    _area(c, "committee_b1", "310101002001", "中山居委", "committee", "street_b")
    for key in ("a1", "a2", "b1"):
        parent = f"committee_{key}"
        base = c.areas[parent].code
        _area(c, f"compound_{key}", base + "C001", f"{key.upper()}小区", "compound", parent)
        _area(
            c, f"gate_{key}", base + "C001G01", f"{key.upper()}小区北门", "gate", f"compound_{key}"
        )
        _area(
            c,
            f"building_{key}",
            base + "C001B001",
            f"{key.upper()}小区1号楼",
            "building",
            f"compound_{key}",
        )
        _area(c, f"market_{key}", base + "M001", f"{key.upper()}菜场", "market", parent)
        _area(c, f"pharmacy_{key}", base + "P001", f"{key.upper()}大药房", "pharmacy", parent)
    _area(c, "checkpoint_a", "310101001K001", "南京东路道口", "checkpoint", "street_a")
    _area(c, "checkpoint_b", "310101002K001", "外滩道口", "checkpoint", "street_b")
    roles = {
        "admin": ("system_admin", "city"),
        "operator_a": ("command_operator", "street_a"),
        "operator_b": ("command_operator", "street_b"),
        "committee_a1": ("committee_worker", "committee_a1"),
        "committee_b1": ("committee_worker", "committee_b1"),
        "volunteer_a1": ("gate_volunteer", "compound_a1"),
        "health_a": ("health_worker", "street_a"),
        "health_b": ("health_worker", "street_b"),
        "pharmacist_a1": ("pharmacist", "pharmacy_a1"),
        "pharmacist_b1": ("pharmacist", "pharmacy_b1"),
        "resident_a1": ("resident", "compound_a1"),
    }
    for username, (role, key) in roles.items():
        c.users[username] = accounts.create_user(
            SYSTEM,
            username=username,
            password=PASSWORD,
            display_name=username,
            bindings=[(role, c.areas[key])],
            validate=False,
        )
    return c


@pytest.fixture
def city(db: Any) -> City:
    return build_city()


@pytest.fixture
def shanghai_now() -> dt.datetime:
    return dt.datetime(2020, 2, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def login(city: City) -> Callable[[str], Client]:
    """A test client logged in as one of the city's users."""

    def make(username: str) -> Client:
        c = Client()
        c.force_login(city.users[username])
        return c

    return make


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Remove this process's SQLite test database files (Django drops the database file but
    leaves its -wal and -shm beside it)."""
    import glob
    import os

    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME") or ""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and name:
        for path in glob.glob(f"{name}*"):
            if str(os.getpid()) in os.path.basename(path):
                os.remove(path)
