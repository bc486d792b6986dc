"""The one clock. Everything that asks "what time is it" asks `now()`, so tests can move time."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Current time, timezone-aware UTC (or the frozen time in tests)."""
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    """Today's date in Asia/Shanghai, the date people mean."""
    return now().astimezone(SHANGHAI).date()


def local(value: dt.datetime) -> dt.datetime:
    """A stored UTC time as Shanghai wall-clock time."""
    return value.astimezone(SHANGHAI)


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    """Freeze `now()` at `at` inside the block (tests, replays)."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    before, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = before
