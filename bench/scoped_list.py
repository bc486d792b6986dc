"""Benchmark: the scoped 50-row list page a committee worker opens, over 1,000,000 duty shifts.

Builds a throwaway database (PostgreSQL `gridguard_bench_scoped` on the server named by
DATABASE_URL, else a temporary SQLite file), a city of about 6,000 residents' committees with a
compound and two gates each, and 1,000,000 duty shifts spread over every gate (100,000 with
`--quick`). Then, as a user bound to one committee as committee_worker, it times

    DutyShift.objects.visible_to(user).select_related("area", "user").order_by("-id")[:50]

over several committees and reports p50/p95/p99. The physical reference, measured in the same
run, is the same 50-row page taken by primary key with no scope at all. On PostgreSQL the plan
(EXPLAIN ANALYZE, BUFFERS) is printed and checked for an index-driven scope.

Run: `.venv/bin/python bench/scoped_list.py [--quick]`; the last line is the JSON result, also
written to bench/results/scoped_list.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import area_level, throwaway_database  # noqa: E402

BENCH_DB = "gridguard_bench_scoped"
DISTRICTS, STREETS, COMMITTEES = 10, 20, 30  # 6,000 committees
GATES_PER_COMPOUND = 2


def build_territory() -> list[Any]:
    """City → districts → streets → committees → one compound each → gates; returns committees."""
    from gridguard.territory.models import Area

    level = area_level

    city = Area.objects.create(code="3101", name="Bench city", kind="city", path="/3101/", depth=0)
    districts = level([city], "district", [f"{i:02d}" for i in range(1, DISTRICTS + 1)])
    streets = level(districts, "street", [f"{i:03d}" for i in range(1, STREETS + 1)])
    committees = level(streets, "committee", [f"{i:03d}" for i in range(1, COMMITTEES + 1)])
    compounds = level(committees, "compound", ["C001"])
    level(compounds, "gate", [f"G{i:02d}" for i in range(1, GATES_PER_COMPOUND + 1)])
    return committees


def shift_rows(n: int, gate_ids: list[int], user_ids: list[int]) -> Any:
    """Yield n duty-shift tuples, each at a random gate (seeded: every run is the same)."""
    rnd = random.Random(7)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    posts = ["official", "volunteer", "police", "medical"]
    for i in range(n):
        start = base + dt.timedelta(hours=rnd.randrange(0, 24 * 300))
        yield (
            rnd.choice(gate_ids),
            rnd.choice(user_ids),
            posts[i % 4],
            start,
            start + dt.timedelta(hours=8),
            start,
            start + dt.timedelta(hours=8),
            "",
            start,
        )


COLUMNS = (
    "area_id, user_id, post, starts_at, ends_at, clocked_in_at, clocked_out_at, note, created_at"
)


def load_shifts(vendor: str, n: int, gate_ids: list[int], user_ids: list[int]) -> float:
    """Insert n shifts (COPY on PostgreSQL, executemany on SQLite); returns seconds."""
    from django.db import connection

    from gridguard.territory.models import DutyShift

    table = DutyShift._meta.db_table
    t0 = time.perf_counter()
    rows = shift_rows(n, gate_ids, user_ids)
    with connection.cursor() as cur:
        if vendor == "postgresql":
            raw = cur.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"ANALYZE {table}")
            cur.execute("ANALYZE territory_area")
        else:
            sql = f"INSERT INTO {table} ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(v.isoformat() if isinstance(v, dt.datetime) else v for v in row))
                if len(batch) == 20000:
                    cur.cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.cursor.executemany(sql, batch)
            cur.execute("ANALYZE")
    return time.perf_counter() - t0


def timed(fn: Any, repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest-rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows; under a minute")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--queries", type=int, default=240, help="timed scoped pages")
    args = parser.parse_args()
    n_rows = args.rows or (100_000 if args.quick else 1_000_000)

    vendor, cleanup = throwaway_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    try:
        result = run(vendor, n_rows, args.queries)
    finally:
        from django.db import connections

        connections.close_all()
        cleanup()
    from report import save

    save(result)
    print(json.dumps(result))


def run(vendor: str, n_rows: int, n_queries: int) -> dict[str, Any]:
    """Build the data, time the scoped and the unscoped page, check the plan."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from gridguard.accounts.models import RoleBinding, User
    from gridguard.territory.models import Area, DutyShift

    UNUSABLE = make_password(None)  # the bench users never log in
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    committees = build_territory()
    gate_ids = list(Area.objects.filter(kind="gate").values_list("id", flat=True))
    workers = User.objects.bulk_create(
        [User(username=f"bench_worker_{i}", password=UNUSABLE) for i in range(200)]
    )
    if workers[0].pk is None:
        workers = list(User.objects.filter(username__startswith="bench_worker_"))
    load_s = load_shifts(vendor, n_rows, gate_ids, [u.pk for u in workers])
    print(
        f"built {Area.objects.count():,} areas ({len(committees):,} committees), "
        f"{n_rows:,} shifts in {time.perf_counter() - t0:.1f}s (shifts {load_s:.1f}s)",
        file=sys.stderr,
    )

    # Several committees, each with its own committee worker, spread across the city.
    rnd = random.Random(11)
    picked = rnd.sample(committees, 8)
    users = []
    for i, committee in enumerate(picked):
        user = User.objects.create(username=f"bench_committee_{i}", password=UNUSABLE)
        RoleBinding.objects.create(user=user, role="committee_worker", area=committee)
        users.append(user)

    def page(user: Any) -> Any:
        return (
            DutyShift.objects.visible_to(user).select_related("area", "user").order_by("-id")[:50]
        )

    def unscoped() -> Any:
        return DutyShift.objects.select_related("area", "user").order_by("-id")[:50]

    # Each actor's bindings are read once (as in a request), then cached on the instance.
    for u in users:
        assert len(list(page(u))) > 0, "a committee with no shifts: the page would be empty"
        assert all(s.area.path.startswith(u.scope_paths()[0]) for s in page(u))
    for _ in range(20):  # warm both
        list(page(users[0]))
        list(unscoped())

    scoped_ms: list[float] = []
    reference_ms: list[float] = []
    per_user = max(1, n_queries // len(users))
    for u in users:
        scoped_ms += timed(lambda u=u: list(page(u)), per_user)
        reference_ms += timed(lambda: list(unscoped()), per_user)

    index_used = None
    if vendor == "postgresql":
        qs = page(users[0])
        print(f"-- scoped page SQL:\n{qs.query}")
        plan = qs.explain(analyze=True, buffers=True)
        print(f"-- EXPLAIN (ANALYZE, BUFFERS):\n{plan}")
        index_used = plan_uses_scope_index(plan)
    else:
        qs = page(users[0])
        plan = qs.explain()
        print(f"-- scoped page SQL:\n{qs.query}\n-- EXPLAIN QUERY PLAN:\n{plan}")
        index_used = "USING INDEX" in plan and "SCAN territory_dutyshift" not in plan.replace(
            "USING INDEX", ""
        )

    p95 = pct(scoped_ms, 95)
    ref95 = pct(reference_ms, 95)
    print(
        f"scoped page p50 {pct(scoped_ms, 50):.2f} ms, p95 {p95:.2f} ms, "
        f"p99 {pct(scoped_ms, 99):.2f} ms over {len(scoped_ms)} pages; "
        f"unscoped page p95 {ref95:.2f} ms; index-driven scope: {index_used}",
        file=sys.stderr,
    )
    return {
        "bench": "scoped_list",
        "value": round(p95, 3),
        "unit": "ms p95",
        "reference": round(ref95, 3),
        "reference_name": "unscoped 50-row page by primary key, p95",
        "ratio": round(ref95 / p95, 3) if p95 else None,
        "p50_ms": round(pct(scoped_ms, 50), 3),
        "p99_ms": round(pct(scoped_ms, 99), 3),
        "rows": n_rows,
        "queries": len(scoped_ms),
        "index_used": index_used,
        "target": "p95 < 30 ms on PostgreSQL",
        "command": "bench/scoped_list.py" + (" --quick" if n_rows == 100_000 else ""),
    }


def plan_uses_scope_index(plan: str) -> bool:
    """Whether the duty-shift table is reached through an index and never scanned whole."""
    lines = plan.splitlines()
    seq_on_shifts = any("Seq Scan on territory_dutyshift" in ln for ln in lines)
    # The scope must be reached by the area-path index or the shifts' area_id index; a
    # backward walk of the primary key filtering every row would not count.
    indexed = any(
        ("Index Scan" in ln or "Index Only Scan" in ln) and ("area_path" in ln or "area_id" in ln)
        for ln in lines
    )
    return indexed and not seq_on_shifts


if __name__ == "__main__":
    main()
