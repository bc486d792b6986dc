"""Benchmark: `make demo` from a fresh clone to the first served page.

Clones the repository (committed HEAD by default) into a temporary folder and runs `make demo`
there with the server bound to a free port (GRIDGUARD_BIND), the embedded SQLite database and
every var/ file in the clone (GRIDGUARD_VAR_DIR), polls /accounts/login/ until it answers 200,
then stops the whole process group and deletes the folder.

Full mode builds everything as a new developer would (virtual environment, pip install, npm ci):
it needs the package registries and takes minutes. `--quick` links this checkout's .venv and
node_modules into the clone and tells make to treat them as up to date (`make -o`), so nothing
is installed and nothing is written into them; the clone's own code is put first on PYTHONPATH.

Reference, measured in the same run: restarting only `gridguard serve` in the same clone (already
migrated, demo city loaded) until the first 200, i.e. the part of `make demo` no build step can
remove. ratio = reference / value: the share of the wait that is the server itself.

Run: `.venv/bin/python bench/demo_startup.py [--quick] [--source worktree]`; the last line is
the JSON result, also written to bench/results/demo_startup.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clone(dest: Path, source: str) -> None:
    """Put the project into `dest`: a git clone of HEAD, or a copy of the working tree."""
    if source == "head":
        subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True)
        return
    # The working tree as git sees it: tracked and untracked files, ignored ones left out.
    files = subprocess.run(
        ["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if src.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def wait_for_200(url: str, deadline: float, proc: subprocess.Popen[bytes]) -> bool:
    """Poll `url` until it answers 200; False if the process ends or the deadline passes."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310  (http, ours)
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group we started (make, gridguard, gunicorn and its workers)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def timed_start(
    cmd: list[str], cwd: Path, env: dict[str, str], url: str, limit: float, log: Path
) -> float | None:
    """Seconds from starting `cmd` to the first 200 at `url` (None on failure); then stop it."""
    with log.open("ab") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            ok = wait_for_200(url, t0 + limit, proc)
            seconds = time.monotonic() - t0
        finally:
            stop(proc)
    return seconds if ok else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reuse .venv and node_modules")
    parser.add_argument(
        "--source",
        choices=["head", "worktree"],
        default="head",
        help="clone committed HEAD (default) or copy the working tree",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gg-bench-demo-"))
    work = tmp / "gridguard"
    log = tmp / "make-demo.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}/accounts/login/"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MAKE"))}
    env.update(
        GRIDGUARD_BIND=f"127.0.0.1:{port}",
        GRIDGUARD_VAR_DIR=str(work / "var"),
        GRIDGUARD_WORKERS="2",
    )
    env.pop("GRIDGUARD_SECRET_KEY", None)
    make = ["make", "demo"]
    try:
        t0 = time.monotonic()
        clone(work, args.source)
        if args.quick:
            (work / ".venv").symlink_to(REPO / ".venv")
            (work / "node_modules").symlink_to(REPO / "node_modules")
            sha = hashlib.sha1((work / "pyproject.toml").read_bytes())  # noqa: S324
            stamp = ".venv/.installed-" + sha.hexdigest()[:12]  # the Makefile's stamp name
            # -o: these are up to date; never reinstall into the shared .venv/node_modules.
            make = ["make", "-o", stamp, "-o", "node_modules/.package-lock.json", "demo"]
            env["PYTHONPATH"] = str(work / "src")
        clone_s = time.monotonic() - t0
        limit = 170.0 if args.quick else 1500.0
        demo_s = timed_start(make, work, env, url, limit, log)
        if demo_s is None:
            sys.stderr.write(log.read_text(errors="replace")[-4000:])
            raise SystemExit(f"make demo did not serve {url} within {limit:.0f}s")
        total = clone_s + demo_s
        serve = [str(work / ".venv/bin/gridguard"), "serve"]
        ref = timed_start(serve, work, env, url, 120.0, log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"clone {clone_s:.1f}s + make demo {demo_s:.1f}s = {total:.1f}s to a served page; "
        f"gridguard serve alone {ref if ref is None else round(ref, 2)}s",
        file=sys.stderr,
    )
    result: dict[str, Any] = {
        "bench": "demo_startup",
        "value": round(total, 2),
        "unit": "s clone to first page" + (" (reused .venv)" if args.quick else ""),
        "reference": round(ref, 2) if ref is not None else None,
        "reference_name": "restart of `gridguard serve` alone to first 200, same clone",
        "ratio": round(ref / total, 3) if ref else None,
        "clone_s": round(clone_s, 2),
        "make_demo_s": round(demo_s, 2),
        "target": "under 10 min from a fresh clone",
        "database": "SQLite (embedded default)",
        "command": "bench/demo_startup.py"
        + (" --quick" if args.quick else "")
        + (" --source worktree" if args.source == "worktree" else ""),
    }
    from report import save

    save(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
