"""Playwright on Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import audit_triggers_lifted

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told it is safe (it is: the loop is Playwright's own).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("GRIDGUARD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shot() -> Any:
    """Save a screenshot for the user guide under docs/screenshots/."""

    def save(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture(scope="module", autouse=True)
def audit_triggers_off(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Lift the audit table's append-only triggers while this module's live-server tests run.

    A transactional test ends by flushing every table, audit rows too, which the triggers
    refuse. Module scope: the triggers come back after the module's last flush, before any
    other module's tests (which check that the audit table is append-only) run.
    """
    with audit_triggers_lifted(django_db_blocker):
        yield
