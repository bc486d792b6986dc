"""A throwaway database for a benchmark: never the one DATABASE_URL names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any


def throwaway_database(name: str) -> tuple[str, Any]:
    """Point DATABASE_URL at a fresh bench database; return (vendor, cleanup function)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base = url.rsplit("/", 1)[0]
        server = base + "/postgres"  # the maintenance database, to create/drop ours

        def drop() -> None:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        drop()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = base + "/" + name
        return "postgresql", drop
    tmp = tempfile.mkdtemp(prefix=f"gg-{name}-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"

    def remove() -> None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    return "sqlite", remove


def pgbench_inserts(url: str, clients: int, seconds: int) -> float:
    """pgbench's rate of one-row INSERT transactions on the same server and database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_ref_insert")
        conn.execute("CREATE TABLE bench_ref_insert (id bigserial primary key, v text)")
    tmp = Path(tempfile.mkdtemp(prefix="gg-pgbench-"))
    script = tmp / "insert.sql"
    script.write_text("INSERT INTO bench_ref_insert (v) VALUES ('traveller');\n")
    m = re.match(
        r"postgres(?:ql)?://(?P<user>[^@/]+)@(?P<host>[^:/]+):?(?P<port>\d*)/(?P<db>.+)", url
    )
    assert m, url
    cmd = [
        shutil.which("pgbench") or "/usr/bin/pgbench",
        "-n",
        "-h",
        m["host"],
        "-p",
        m["port"] or "5432",
        "-U",
        m["user"],
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-f",
        str(script),
        m["db"],
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    shutil.rmtree(tmp, ignore_errors=True)
    tps = re.search(r"tps = ([\d.]+)", out)
    assert tps, out
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_ref_insert")
    return float(tps.group(1))


def area_level(parents: list[Any], kind: str, codes: list[str]) -> list[Any]:
    """One level of a bench territory: for each parent, a child area per code suffix, written
    in bulk; returns them with their ids."""
    from gridguard.territory.models import Area

    rows = []
    for parent in parents:
        for suffix in codes:
            code = parent.code + suffix
            rows.append(
                Area(
                    code=code,
                    name=f"{kind} {code}",
                    kind=kind,
                    parent=parent,
                    path=Area.path_for(parent, code),
                    depth=parent.depth + 1,
                )
            )
    made = Area.objects.bulk_create(rows, batch_size=5000)
    if made and made[0].pk is None:  # backends without RETURNING: read them back
        made = list(Area.objects.filter(kind=kind).order_by("id"))
    return made
