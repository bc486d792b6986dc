"""The health app's periodic jobs (run by `gridguard worker`)."""

from __future__ import annotations

from gridguard.core import jobs
from gridguard.health.services.intake import process_intake


@jobs.every(1.0, "registration intake")
def place_queued_registrations() -> int:
    """Place the registrations checkpoints sent since the last run."""
    return process_intake()
