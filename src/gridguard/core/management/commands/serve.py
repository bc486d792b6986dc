"""`gridguard serve`: run GridGuard with gunicorn (static files served by WhiteNoise)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve GridGuard on http://127.0.0.1:8000 (gunicorn; static files included)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("GRIDGUARD_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("GRIDGUARD_WORKERS", 2))
        )
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start `gridguard worker` beside"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from gunicorn.app.wsgiapp import run

        self.stdout.write(f"GridGuard on http://{opts['bind']}/ (Ctrl-C stops)")
        argv = [
            "gunicorn",
            "gridguard.config.wsgi:application",
            "--bind",
            opts["bind"],
            "--workers",
            str(opts["workers"]),
            "--threads",
            str(opts["threads"]),
            "--access-logfile",
            "-",
            # The path without its query string: searches carry ID numbers and phones, which
            # must not land in access logs.
            "--access-logformat",
            '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s',
        ]
        import subprocess
        import sys

        # The periodic jobs (placing queued registrations, …) run beside the web workers.
        worker = None
        if not opts["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "gridguard.cli", "worker"])
        sys.argv = argv
        try:
            run()
        finally:
            if worker is not None:
                worker.terminate()
