"""Benchmark: generate and load the territory of the `shanghai` demo preset.

Plans the Shanghai-scale territory in memory (16 districts, 215 streets, 6,000+ committees,
13,000+ compounds with their gates: about 73,000 areas) and loads it with
`territory.bulk.bulk_load_areas`, which checks every row (kind under parent, code rules,
duplicates, permissions), computes paths and writes with `COPY` on PostgreSQL.

Reference, measured in the same run on the same server: a raw `COPY` of exactly the same tuples
into a table created `LIKE territory_area INCLUDING ALL` (same columns, indexes and checks),
with no checks and no Django. ratio = load rows/s / raw COPY rows/s. On SQLite the reference is
a raw `executemany` INSERT into a copy of the table with the same indexes.

Run: `.venv/bin/python bench/territory_load.py [--quick]` (PostgreSQL from DATABASE_URL, a
throwaway database `gridguard_bench_territory` is created and dropped). `--quick` loads a
quarter of the city. The last line is the JSON result, also in bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import throwaway_database  # noqa: E402

BENCH_DB = "gridguard_bench_territory"


def reference_copy(vendor: str, tuples: list[tuple[Any, ...]]) -> float:
    """Seconds for a raw bulk write of `tuples` into an empty twin of territory_area, from the
    start of the write to its commit (the loader's time includes its commit too)."""
    from django.db import connection, transaction

    from gridguard.territory.bulk import COLUMNS, copy_tuples

    with connection.cursor() as cur:
        if vendor == "postgresql":
            cur.execute("CREATE TABLE ref_area (LIKE territory_area INCLUDING ALL)")
        else:
            cur.execute("CREATE TABLE ref_area AS SELECT * FROM territory_area WHERE 0")
            cur.execute("CREATE UNIQUE INDEX ref_area_code ON ref_area (code)")
            cur.execute("CREATE INDEX ref_area_path ON ref_area (path)")
            cur.execute("CREATE INDEX ref_area_parent ON ref_area (parent_id)")
    marks = ", ".join(["%s"] * len(COLUMNS))
    plain = [tuple(json.dumps(v) if isinstance(v, dict) else v for v in t) for t in tuples]
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if vendor == "postgresql":
            copy_tuples(cur.cursor, "ref_area", tuples)
        else:
            cur.executemany(f"INSERT INTO ref_area ({', '.join(COLUMNS)}) VALUES ({marks})", plain)
    elapsed = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("DROP TABLE ref_area")
    return elapsed


def run(vendor: str, quick: bool) -> dict[str, Any]:
    """Plan, measure the raw reference, then load through the checked bulk loader."""
    from django.core.management import call_command
    from django.db import transaction

    from gridguard.core.scoping import SYSTEM
    from gridguard.demo.plan import plan_territory
    from gridguard.demo.presets import PRESETS
    from gridguard.territory import bulk
    from gridguard.territory.models import Area

    call_command("migrate", verbosity=0)
    scale = PRESETS["shanghai"]
    if quick:
        scale = replace(scale, districts=4, streets=54)
    t0 = time.perf_counter()
    rows = plan_territory(scale, random.Random(2020))
    plan_s = time.perf_counter() - t0
    n = len(rows)
    # The reference writes the very tuples the loader would write (same ids, paths, values).
    with transaction.atomic():
        tuples = bulk.prepare(SYSTEM, rows).tuples
    ref_s = reference_copy(vendor, tuples)
    t0 = time.perf_counter()
    bulk.bulk_load_areas(rows, actor=SYSTEM)
    load_s = time.perf_counter() - t0
    loaded = Area.objects.count()
    assert loaded == n, f"loaded {loaded} of {n} areas"
    kinds = dict(
        (k, Area.objects.filter(kind=k).count()) for k in ("district", "committee", "compound")
    )
    total_s = plan_s + load_s
    value = n / load_s
    reference = n / ref_s
    print(
        f"{n:,} areas ({kinds}): planned in {plan_s:.2f}s, loaded in {load_s:.2f}s "
        f"({value:,.0f} rows/s); raw {'COPY' if vendor == 'postgresql' else 'INSERT'} "
        f"{ref_s:.2f}s ({reference:,.0f} rows/s); generated and loaded in {total_s:.1f}s",
        file=sys.stderr,
    )
    return {
        "bench": "territory_load",
        "value": round(value, 1),
        "unit": "areas/s loaded",
        "reference": round(reference, 1),
        "reference_name": (
            "raw COPY of the same rows" if vendor == "postgresql" else "raw executemany INSERT"
        ),
        "ratio": round(value / reference, 3),
        "areas": n,
        "plan_s": round(plan_s, 2),
        "load_s": round(load_s, 2),
        "total_s": round(total_s, 2),
        "target": "shanghai preset in < 60 s on PostgreSQL, ratio >= 0.5",
        "command": "bench/territory_load.py" + (" --quick" if quick else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the city")
    args = parser.parse_args()
    vendor, cleanup = throwaway_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    try:
        result = run(vendor, args.quick)
    finally:
        from django.db import connections

        connections.close_all()
        cleanup()
    from report import save

    save(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
