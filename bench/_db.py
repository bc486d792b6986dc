"""A throwaway database for a benchmark: never the one DATABASE_URL names."""

from __future__ import annotations

import os
import tempfile
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
