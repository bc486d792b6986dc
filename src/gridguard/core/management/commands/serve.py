"""`gridguard serve`: run GridGuard with Granian (static files served by WhiteNoise).

Granian (decision 0006) parses HTTP in Rust and hands each request to one of a few Python
threads per worker process; under many keep-alive devices it answered twice the requests of
gunicorn's threaded workers on two cores, with a flat tail (docs/performance.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

# The path without its query string: searches carry ID numbers and phones, which must not
# land in access logs.
ACCESS_LOG_FORMAT = (
    '%(addr)s [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
)


class Command(BaseCommand):
    help = "Serve GridGuard on http://127.0.0.1:8000 (Granian; static files included)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("GRIDGUARD_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("GRIDGUARD_WORKERS", 2))
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("GRIDGUARD_THREADS", 4)),
            help="Python threads per worker process",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start `gridguard worker` beside"
        )
        parser.add_argument("--no-access-log", action="store_true", help="do not log each request")

    def handle(self, *args: Any, **opts: Any) -> None:
        from granian import Granian
        from granian.constants import Interfaces

        host, sep, port = opts["bind"].rpartition(":")
        if not sep or not port.isdigit():
            raise CommandError(f"--bind: expected HOST:PORT, got {opts['bind']!r}")
        if opts["workers"] < 1 or opts["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1")
        server = Granian(
            "gridguard.config.wsgi:application",
            address=host,
            port=int(port),
            interface=Interfaces.WSGI,
            workers=opts["workers"],
            blocking_threads=opts["threads"],
            log_access=not opts["no_access_log"],
            log_access_format=ACCESS_LOG_FORMAT,
            respawn_failed_workers=True,
        )
        self.stdout.write(f"GridGuard on http://{opts['bind']}/ (Ctrl-C stops)")
        self.stdout.flush()
        # The periodic jobs (placing queued registrations, …) run beside the web workers.
        worker = None
        if not opts["no_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "gridguard.cli", "worker"])
        try:
            server.serve()
        finally:
            if worker is not None:
                worker.terminate()
