"""Start GridGuard for an HTTP benchmark exactly as `gridguard serve` runs it (Granian)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """`gridguard serve --no-worker` on 127.0.0.1:`port`, once it answers; access log on, as in
    production, written nowhere."""
    env = dict(os.environ, GRIDGUARD_DEBUG="0", PYTHONPATH=str(REPO / "src"))
    cmd = [
        sys.executable,
        "-m",
        "gridguard.cli",
        "serve",
        "--no-worker",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError("gridguard serve did not start")


def start_worker() -> subprocess.Popen[bytes]:
    """`gridguard worker` (placing queued work) beside the server, as `gridguard serve` runs it."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    cmd = [sys.executable, "-m", "gridguard.cli", "worker"]
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started here with everything it started, and wait for it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    proc.wait(timeout=30)


def http_load_setup(doc: str, db_name: str, rate: float, unit: str) -> tuple[Any, Any]:
    """The arguments every HTTP-load bench takes, and Django set up on a throwaway PostgreSQL
    database (exits 2 without one). Returns (args, cleanup)."""
    import argparse

    from _db import throwaway_database

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=rate, help=f"open-loop {unit}")
    args = parser.parse_args()
    vendor, cleanup = throwaway_database(db_name)
    if vendor != "postgresql":
        print("this benchmark needs PostgreSQL (DATABASE_URL)", file=sys.stderr)
        cleanup()
        sys.exit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    return args, cleanup
