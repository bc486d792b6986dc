"""`gridguard worker`: run the periodic jobs (registration intake, …) until stopped."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from gridguard.core import jobs


class Command(BaseCommand):
    help = "Run GridGuard's periodic jobs (placing queued registrations, …) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and stop")
        parser.add_argument("--tick", type=float, default=0.2, help="seconds between checks")
        parser.add_argument(
            "--nice",
            type=int,
            default=10,
            help="lower the worker's CPU priority by this much (0 keeps it)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        names = ", ".join(j.name for j in jobs.registered()) or "none"
        if opts["once"]:
            for name, n in jobs.run_due().items():
                self.stdout.write(f"{name}: {n}")
            return
        self.stdout.write(f"worker: running {names} (Ctrl-C stops)")
        if opts["nice"] > 0:
            # Placing queued work can wait a moment; answering a checkpoint or a gate cannot.
            # On a machine shared with the server, the server's threads go first.
            os.nice(opts["nice"])
        stopping = False

        def stop(*_a: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            close_old_connections()  # a long-running process: drop broken or stale connections
            did = jobs.run_due()
            # Busy queues are drained at once; idle ones are checked every tick.
            if not any(n > 0 for n in did.values()):
                time.sleep(opts["tick"])
            else:
                for job in jobs.registered():
                    if did.get(job.name, 0) > 0:
                        job.due_at = 0.0
