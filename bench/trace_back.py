"""Benchmark: trace-back (A4) over 10,000,000 gate events in 14 days.

In a throwaway database (PostgreSQL from DATABASE_URL, SQLite otherwise) it builds, in SQL
(generate_series; a recursive CTE on SQLite), a territory of 50,000 gates and 50,000 buildings
(12,500 compounds of 4 buildings and 4 gates), 500,000 persons in 250,000 households, and
10,000,000 gate scans over the last 14 days (1,000,000 scans, 5,000 gates and 50,000 persons
with --quick): each person scans at the gates of their own compound, mostly between 07:00
and 21:00, 2% refused. 1,000 persons get a pass their scans carry, and 100,000 visitors are
registered for households. On PostgreSQL the event table's indexes and constraints are
dropped for the load and built again after it (as a bulk import would), then ANALYZE.

Then it times `run_traceback` (the service the page and the API call: the three lists, the
TraceBack row and its audit row) for 50 random subjects over the whole 14 days with a
15-minute gap, 40 by person and 10 by pass, after 5 untimed runs: p50 is the value, p99 beside
it. Alone, the gate-contacts query (one SQL statement) is timed too.

Reference, measured in the same run on the same table: a plain indexed range scan on
(area, scanned_at) returning as many rows as the trace-back's gate query read for the same
subject (the subject's scans plus every scan near them), p50 over the same subjects.
ratio = trace-back p50 / reference p50.

Run: `.venv/bin/python bench/trace_back.py [--quick]`. The last line is the JSON result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import throwaway_database  # noqa: E402

BENCH_DB = "gridguard_bench_traceback"
DAYS = 14
GAP = dt.timedelta(minutes=15)
PER_COMPOUND = 4  # buildings and gates per compound
COMPOUNDS_PER_COMMITTEE = 25
COMMITTEES_PER_STREET = 50


def _series(vendor: str, n: str) -> str:
    """A set of rows g = 0 … n-1 (n: an SQL expression or parameter)."""
    if vendor == "postgresql":
        return f"generate_series(0, {n} - 1) AS s(g)"
    return (
        f"(WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g + 1 < {n}) "
        "SELECT g FROM s) AS s"
    )


def _rand(vendor: str) -> str:
    """A random number in [0, 1)."""
    return "random()" if vendor == "postgresql" else "((random() / 18446744073709551616.0) + 0.5)"


def _int(vendor: str, expr: str) -> str:
    """The integer part of a non-negative number (PostgreSQL's cast rounds; floor first)."""
    return f"floor({expr})::int" if vendor == "postgresql" else f"CAST({expr} AS INTEGER)"


def _now(vendor: str) -> str:
    return "now()" if vendor == "postgresql" else "CURRENT_TIMESTAMP"


def build_territory(vendor: str, gates: int) -> dict[str, int]:
    """city > district > streets > committees > compounds > 4 buildings and 4 gates each."""
    from django.db import connection

    compounds = gates // PER_COMPOUND
    committees = max(1, compounds // COMPOUNDS_PER_COMMITTEE)
    streets = max(1, committees // COMMITTEES_PER_STREET)
    now = _now(vendor)
    cols = (
        "code, name, kind, parent_id, path, depth, address, boundary, households, population, "
        "active, created_at, updated_at"
    )

    def level(kind: str, parent_kind: str, count: int, code: str, name: str) -> None:
        # `count` children for every area of parent_kind, numbered by g.
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO territory_area ({cols}) "
                f"SELECT {code}, {name}, '{kind}', p.id, p.path || {code} || '/', p.depth + 1, "
                f"'', NULL, NULL, NULL, TRUE, {now}, {now} "
                f"FROM territory_area p, {_series(vendor, str(count))} "
                f"WHERE p.kind = '{parent_kind}' ORDER BY p.code, g"
            )

    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO territory_area ({cols}) VALUES "
            f"('3101', '上海市', 'city', NULL, '/3101/', 0, '', NULL, NULL, NULL, TRUE, {now}, "
            f"{now})"
        )
        cur.execute(
            f"INSERT INTO territory_area ({cols}) SELECT '310101', '黄浦区', 'district', id, "
            f"path || '310101/', 1, '', NULL, NULL, NULL, TRUE, {now}, {now} "
            "FROM territory_area WHERE code = '3101'"
        )
    pad = "lpad" if vendor == "postgresql" else "printf"

    def num(width: int, offset: int = 1) -> str:
        if pad == "lpad":
            return f"lpad((g + {offset})::text, {width}, '0')"
        return f"printf('%0{width}d', g + {offset})"

    level("street", "district", streets, f"p.code || {num(3)}", f"'街道' || {num(3)}")
    level(
        "committee", "street", committees // streets, f"p.code || {num(3)}", f"'居委' || {num(3)}"
    )
    per = compounds // committees
    level("compound", "committee", per, f"p.code || 'C' || {num(3)}", f"'小区' || {num(3)}")
    level("building", "compound", PER_COMPOUND, f"p.code || 'B' || {num(3)}", f"{num(1)} || '号楼'")
    level("gate", "compound", PER_COMPOUND, f"p.code || 'G' || {num(2)}", f"{num(1)} || '号门'")
    with connection.cursor() as cur:
        # Index → id maps: building i and gate i belong to compound i // 4 (codes sort so).
        for kind in ("building", "gate"):
            cur.execute(f"DROP TABLE IF EXISTS bench_{kind}")
            cur.execute(
                f"CREATE TABLE bench_{kind} AS SELECT (row_number() OVER (ORDER BY code)) - 1 "
                f"AS i, id FROM territory_area WHERE kind = '{kind}'"
            )
            cur.execute(f"CREATE UNIQUE INDEX bench_{kind}_i ON bench_{kind} (i)")
        cur.execute("SELECT count(*) FROM bench_gate")
        n_gates = int(cur.fetchone()[0])
    return {"streets": streets, "committees": committees, "compounds": compounds, "gates": n_gates}


def build_people(vendor: str, persons: int, buildings: int) -> None:
    """Households of two in building h % buildings; person g (id g + 1) in household g // 2."""
    from django.db import connection

    households = (persons + 1) // 2
    now = _now(vendor)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO people_household (id, room, address, created_at, area_id) "
            f"SELECT g + 1, '', '', {now}, b.id FROM {_series(vendor, '%s')} "
            "JOIN bench_building b ON b.i = g %% %s",
            [households, buildings],
        )
        number = "lpad(g::text, 9, '0')" if vendor == "postgresql" else "printf('%%09d', g)"
        cur.execute(
            "INSERT INTO people_person (id, id_type, id_number, name, sex, nationality, phone, "
            "household_id, address, created_at, updated_at, area_id) "
            f"SELECT g + 1, 'passport', 'E' || {number}, '居民' || g, 'unknown', 'CHN', "
            f"'138' || {number}, g / 2 + 1, '', {now}, {now}, h.area_id "
            f"FROM {_series(vendor, '%s')} JOIN people_household h ON h.id = g / 2 + 1",
            [persons],
        )
        if vendor == "postgresql":
            for table in ("people_household", "people_person"):
                cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")


def _event_constraints(cur: Any) -> tuple[list[str], list[str]]:
    """(index definitions, constraint definitions) of the event table, except its key."""
    cur.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'access_gateevent' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'access_gateevent'::regclass)"
    )
    indexes = [r[0] for r in cur.fetchall()]
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'access_gateevent'::regclass AND contype IN ('u', 'f')"
    )
    constraints = [f"{name} {definition}" for name, definition in cur.fetchall()]
    return indexes, constraints


def build_events(vendor: str, events: int, persons: int, buildings: int) -> dict[str, float]:
    """`events` scans over the last DAYS days at the gates of each person's compound."""
    from django.db import connection

    from gridguard.core import clock

    start = clock.now() - dt.timedelta(days=DAYS)
    r = _rand(vendor)
    timings: dict[str, float] = {}
    with connection.cursor() as cur:
        dropped: tuple[list[str], list[str]] = ([], [])
        if vendor == "postgresql":
            dropped = _event_constraints(cur)
            cur.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'access_gateevent' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'access_gateevent'::regclass)"
            )
            for (name,) in cur.fetchall():
                cur.execute(f'DROP INDEX "{name}"')
            for definition in dropped[1]:
                cur.execute(f"ALTER TABLE access_gateevent DROP CONSTRAINT {definition.split()[0]}")
        if vendor == "postgresql":
            when = (
                "%s::timestamptz + floor(random() * 14) * interval '1 day' + (CASE WHEN "
                "random() < 0.85 THEN 25200 + random() * 50400 ELSE random() * 86400 END) "
                "* interval '1 second'"
            )
            uid = "md5(g::text)::uuid"
        else:
            when = (
                f"datetime(julianday(%s) + abs(random() %% 14) + (CASE WHEN {r} < 0.85 "
                f"THEN 25200 + {r} * 50400 ELSE {r} * 86400 END) / 86400.0)"
            )
            uid = "lower(hex(randomblob(16)))"
        # Scan g is person pid's (a multiplicative hash of g: every person gets the same
        # number of scans), who lives in building ((pid - 1) / 2) %% buildings, of compound
        # (that / 4); the scan is at one of that compound's 4 gates. No random() in the join
        # key: SQLite flattens the subquery and would draw it again for every row compared.
        t = time.perf_counter()
        cur.execute(
            "INSERT INTO access_gateevent (event_id, verdict, temperature, scanned_at, "
            "received_at, offline, recorded_by, flagged, area_id, person_id) "
            f"SELECT {uid}, CASE WHEN g %% 50 = 0 THEN 'fever' ELSE 'ok' END, 36.5, at, at, "
            "FALSE, '', '', gt.id, pid FROM ("
            f"SELECT g, pid, {when} AS at, "
            f"(((pid - 1) / 2) %% %s) / {PER_COMPOUND} * {PER_COMPOUND} "
            f"+ (g / %s) %% {PER_COMPOUND} AS gate_i "
            f"FROM (SELECT g, 1 + (g * 2654435761) %% %s AS pid "
            f"FROM {_series(vendor, '%s')}) s1) s2 "
            "JOIN bench_gate gt ON gt.i = s2.gate_i",
            [start, buildings, persons, persons, events],
        )
        timings["insert_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for definition in dropped[0]:
            cur.execute(definition)
        for definition in dropped[1]:
            name, rest = definition.split(" ", 1)
            valid = " NOT VALID" if rest.startswith("FOREIGN KEY") else ""
            cur.execute(f"ALTER TABLE access_gateevent ADD CONSTRAINT {name} {rest}{valid}")
        timings["indexes_s"] = time.perf_counter() - t
    return timings


def build_passes_and_visitors(
    vendor: str, persons: int, rng: random.Random
) -> tuple[list[int], list[str]]:
    """1,000 persons get a pass that their scans carry; 100,000 visitors (a tenth of the
    persons at the quick size) registered for random households in the window."""
    from django.db import connection

    from gridguard.core import clock

    now = clock.now()
    holders = rng.sample(range(1, persons + 1), k=min(1000, persons // 10))
    households = (persons + 1) // 2
    with connection.cursor() as cur:
        rows = [(f"BENCH{pid:08d}", pid) for pid in holders]
        cur.executemany(
            "INSERT INTO access_entrypass (pass_id, kind, status, valid_from, valid_until, "
            "reason, requested_at, decided_by, refuse_reason, credential, revoked_by, "
            "revoke_reason, area_id, person_id) SELECT %s, 'resident', 'active', %s, %s, '', "
            "%s, 'bench', '', '', '', '', p.area_id, p.id FROM people_person p WHERE p.id = %s",
            [
                (n, now - dt.timedelta(days=30), now + dt.timedelta(days=30), now, pid)
                for n, pid in rows
            ],
        )
        cur.execute(
            "UPDATE access_gateevent SET entry_pass_id = ep.id FROM access_entrypass ep "
            "WHERE ep.person_id = access_gateevent.person_id"
            if vendor == "postgresql"
            else "UPDATE access_gateevent SET entry_pass_id = (SELECT ep.id FROM "
            "access_entrypass ep WHERE ep.person_id = access_gateevent.person_id) "
            "WHERE person_id IN (SELECT person_id FROM access_entrypass)"
        )
        visitors = min(100_000, persons // 5)
        start = now - dt.timedelta(days=DAYS)
        r = _rand(vendor)
        when = (
            "%s::timestamptz + random() * interval '14 days'"
            if vendor == "postgresql"
            else f"datetime(julianday(%s) + {r} * 14)"
        )
        cur.execute(
            "INSERT INTO access_gatevisitor (name, phone, purpose, time_in, admitted, "
            "recorded_by, area_id, host_household_id) "
            f"SELECT '访客' || g, '13900000000', '探亲', {when}, TRUE, '', "
            "(SELECT id FROM bench_gate WHERE i = 0), "
            f"1 + {_int(vendor, f'{r} * %s')} FROM {_series(vendor, '%s')}",
            [start, households, visitors],
        )
    return holders, [n for n, _pid in rows]


def run_subjects(subjects: list[tuple[str, int]], warmup: int) -> dict[str, Any]:
    """Time run_traceback for each subject; also the gate query alone and its row count."""
    from gridguard.access.models import EntryPass
    from gridguard.access.selectors.traceback import gate_contacts
    from gridguard.access.services.traceback import run_traceback
    from gridguard.core import clock
    from gridguard.core.scoping import SYSTEM
    from gridguard.people.models import Person

    end = clock.now()
    start = end - dt.timedelta(days=DAYS)
    full: list[float] = []
    gate: list[float] = []
    rows_read: list[int] = []
    found: list[int] = []
    for n, (how, key) in enumerate(subjects):
        entry_pass = None
        if how == "pass":
            entry_pass = EntryPass.objects.select_related(
                "person__area", "person__household__area"
            ).get(pk=key)
            person = entry_pass.person
        else:
            person = Person.objects.select_related("area", "household__area").get(pk=key)
        t = time.perf_counter()
        _tb, result = run_traceback(
            SYSTEM,
            person=person,
            entry_pass=entry_pass,
            window_start=start,
            window_end=end,
            gap_minutes=int(GAP.total_seconds() // 60),
            reason="bench",
        )
        elapsed = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        own, hits = gate_contacts(
            person_id=person.pk,
            entry_pass_id=entry_pass.pk if entry_pass is not None else None,
            start=start,
            end=end,
            gap=GAP,
        )
        alone = (time.perf_counter() - t) * 1000
        if n < warmup:
            continue
        full.append(elapsed)
        gate.append(alone)
        rows_read.append(own + sum(h.encounters for h in hits))
        found.append(len(result.contacts()))
    return {"full": full, "gate": gate, "rows": rows_read, "found": found}


def reference(rows: list[int], gates: int, rng: random.Random) -> list[float]:
    """A plain indexed range scan on (area, scanned_at) of as many rows as each trace-back's
    gate query read, at a random gate (rows fetched to the client, like the trace-back's)."""
    from django.db import connection

    from gridguard.core import clock

    since = clock.now() - dt.timedelta(days=DAYS)
    out: list[float] = []
    with connection.cursor() as cur:
        for n in rows:
            gate = rng.randrange(gates)
            t = time.perf_counter()
            cur.execute(
                "SELECT e.id, e.area_id, e.person_id, e.scanned_at FROM access_gateevent e "
                "WHERE e.area_id = (SELECT id FROM bench_gate WHERE i = %s) "
                "AND e.scanned_at >= %s ORDER BY e.area_id, e.scanned_at LIMIT %s",
                [gate, since, max(1, n)],
            )
            cur.fetchall()
            out.append((time.perf_counter() - t) * 1000)
    return out


def explain(person_id: int) -> str:
    """The gate query's plan for one subject (evidence that it walks the indexes)."""
    from django.db import connection

    from gridguard.core import clock

    if connection.vendor != "postgresql":
        return ""
    end = clock.now()
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM ("
            "SELECT area_id, scanned_at FROM access_gateevent WHERE person_id = %s "
            "AND scanned_at >= %s AND scanned_at < %s) s CROSS JOIN LATERAL ("
            "SELECT e.id FROM access_gateevent e WHERE e.area_id = s.area_id "
            "AND e.scanned_at BETWEEN s.scanned_at - %s::interval "
            "AND s.scanned_at + %s::interval) c",
            [person_id, end - dt.timedelta(days=DAYS), end, str(GAP), str(GAP)],
        )
        return "\n".join(r[0] for r in cur.fetchall())


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000,000 events instead of 10M")
    parser.add_argument("--events", type=int, help="override the number of gate events")
    parser.add_argument("--subjects", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    vendor, cleanup = throwaway_database(BENCH_DB)
    # SQLite (the embedded default) gets a tenth of the size: the target is PostgreSQL's.
    scale = 1 if vendor == "postgresql" else 10
    events = args.events or (1_000_000 if args.quick else 10_000_000) // scale
    # The density of the full size at any size: 200 scans per gate, 20 per person in 14 days.
    gates = max(PER_COMPOUND * COMPOUNDS_PER_COMMITTEE, events // 200)
    persons = max(1000, events // 20)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    rng = random.Random(2020)
    try:
        call_command("migrate", verbosity=0)
        t = time.perf_counter()
        sizes = build_territory(vendor, gates)
        build_people(vendor, persons, sizes["gates"])
        print(f"territory and people: {sizes}, {persons} persons", file=sys.stderr)
        timings = build_events(vendor, events, persons, sizes["gates"])
        holders, _passes = build_passes_and_visitors(vendor, persons, rng)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
            cur.execute("SELECT count(*) FROM access_gateevent")
            stored = int(cur.fetchone()[0])
        setup = time.perf_counter() - t
        print(
            f"setup: {stored:,} events in {setup:.0f} s (insert {timings['insert_s']:.0f} s, "
            f"indexes {timings.get('indexes_s', 0):.0f} s)",
            file=sys.stderr,
        )
        from gridguard.access.models import EntryPass

        pass_ids = list(EntryPass.objects.values_list("pk", flat=True))
        warmup = 5
        count = args.subjects
        by_pass = count // 5
        subjects = [("person", rng.randrange(1, persons + 1)) for _ in range(warmup)]
        subjects += [("person", rng.randrange(1, persons + 1)) for _ in range(count - by_pass)]
        subjects += [("pass", pk) for pk in rng.sample(pass_ids, k=min(by_pass, len(pass_ids)))]
        plan = explain(subjects[-1][1] if subjects[-1][0] == "person" else holders[0])
        if plan:
            print(plan, file=sys.stderr)
        timed = run_subjects(subjects, warmup)
        ref = reference(timed["rows"], sizes["gates"], rng)
        p50, p99 = statistics.median(timed["full"]), _pct(timed["full"], 0.99)
        ref50 = statistics.median(ref)
        print(
            f"trace-back p50 {p50:.1f} ms, p99 {p99:.1f} ms; gate query alone p50 "
            f"{statistics.median(timed['gate']):.1f} ms; rows read p50 "
            f"{statistics.median(timed['rows']):.0f}; contacts found p50 "
            f"{statistics.median(timed['found']):.0f}; reference p50 {ref50:.2f} ms",
            file=sys.stderr,
        )
        result = {
            "bench": "trace_back",
            "value": round(p50, 1),
            "unit": "ms",
            "events": stored,
            "gates": sizes["gates"],
            "persons": persons,
            "vendor": vendor,
            "subjects": len(timed["full"]),
            "p99_ms": round(p99, 1),
            "max_ms": round(max(timed["full"]), 1),
            "gate_query_p50_ms": round(statistics.median(timed["gate"]), 1),
            "rows_read_p50": statistics.median(timed["rows"]),
            "contacts_p50": statistics.median(timed["found"]),
            "reference": round(ref50, 2),
            "reference_name": "indexed range scan on (area, scanned_at) of as many rows",
            "ratio": round(p50 / ref50, 1) if ref50 else None,
            "setup_s": round(setup),
        }
        result["target"] = "trace-back over 10,000,000 gate events (14 days) < 1 s (PostgreSQL)"
        result["command"] = "bench/trace_back.py" + (" --quick" if args.quick else "")
        from report import save

        save(result)
        print(json.dumps(result))
    finally:
        connection.close()
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
