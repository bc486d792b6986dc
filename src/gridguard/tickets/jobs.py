"""The tickets app's periodic jobs (run by `gridguard worker`)."""

from __future__ import annotations

from gridguard.core import jobs
from gridguard.tickets.services import (
    reports,
    routing,  # noqa: F401 - registers the deadline job
)


@jobs.every(300.0, "tickets.daily report")
def store_daily_reports() -> int:
    """After the configured hour, store yesterday's ticket report of each district once."""
    return reports.generate_due_reports()
