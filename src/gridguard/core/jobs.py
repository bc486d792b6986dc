"""Periodic jobs run by `gridguard worker`: each app registers its own in its AppConfig.ready.

    jobs.every(1.0, "registration intake")(process_intake)

A job is a function without arguments returning how much it did (an int). The worker runs each
when its interval has passed; several workers may run at once, so jobs must be safe to run
concurrently (the intake queue takes its rows with SKIP LOCKED).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float
    run: Callable[[], int]
    due_at: float = 0.0


_jobs: dict[str, Job] = {}


def every(seconds: float, name: str) -> Callable[[Callable[[], int]], Callable[[], int]]:
    """Register `fn` to run every `seconds` in the worker."""

    def register(fn: Callable[[], int]) -> Callable[[], int]:
        _jobs[name] = Job(name, seconds, fn)
        return fn

    return register


def registered() -> list[Job]:
    return list(_jobs.values())


def run_due(now: float | None = None) -> dict[str, int]:
    """Run every job whose time has come once; {name: what it did}. A failing job is logged
    and tried again at its next turn."""
    now = time.monotonic() if now is None else now
    done: dict[str, int] = {}
    for job in _jobs.values():
        if now < job.due_at:
            continue
        job.due_at = now + job.interval
        try:
            done[job.name] = job.run()
        except Exception:
            log.exception("job %s failed", job.name)
            done[job.name] = -1
    return done


def _seal_audit_inbox() -> int:
    from gridguard.core.audit import seal

    return seal()


every(1.0, "audit inbox")(_seal_audit_inbox)
