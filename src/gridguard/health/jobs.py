"""The health app's periodic jobs (run by `gridguard worker`)."""

from __future__ import annotations

import datetime as dt

from gridguard.core import clock, jobs
from gridguard.health.services import codes, observation_jobs, pharmacy
from gridguard.health.services.intake import process_intake


@jobs.every(1.0, "registration intake")
def place_queued_registrations() -> int:
    """Place the registrations checkpoints sent since the last run."""
    return process_intake()


@jobs.every(60.0, "observation sweep")
def sweep_missed_checkins() -> int:
    """Raise an alert for every check-in slot that passed unreported (set-based)."""
    return observation_jobs.sweep_missed()


@jobs.every(60.0, "observation escalation")
def escalate_unacknowledged_alerts() -> int:
    """Move alerts nobody acknowledged in time up one level."""
    return observation_jobs.escalate_overdue()


@jobs.every(600.0, "observation counts")
def refresh_observation_counts() -> int:
    """Today's 'in observation' snapshot per committee."""
    return observation_jobs.refresh_in_observation()


@jobs.every(3600.0, "mask expiry")
def expire_uncollected_masks() -> int:
    """Reservations not collected by the end of their day go back to stock."""
    return pharmacy.expire_uncollected(clock.today() - dt.timedelta(days=1))


@jobs.every(5.0, "health codes after rule changes")
def recompute_codes_after_rule_changes() -> int:
    """An administrator changed a rule: recompute every code once."""
    return codes.recompute_after_rule_changes()
