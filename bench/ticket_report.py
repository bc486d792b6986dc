"""Benchmark: the daily ticket report (C2) of one district over 1,000,000 tickets.

Builds a throwaway database (PostgreSQL `gridguard_bench_ticket_report` on the server named by
DATABASE_URL, else a temporary SQLite file): a city of 16 districts, 14 streets each, 20
residents' committees per street, 2 compounds per committee and 3 buildings per compound; the
departments (a committee at each committee, a city-operations centre at each street, the
other taxonomy departments at each district); and 1,000,000 tickets (100,000 with `--quick`)
with their cases, written with COPY on PostgreSQL (executemany on SQLite). The tickets are
spread over 60 Shanghai days (rising from half to one and a half times the average), over
every district (the reported one twice as busy as the others), the five channels and the 32
subclasses (skewed, with a spike of one subclass on the reported day); 85 % are placed at a
compound or one of its buildings (skewed towards some compounds), the rest lie at the street
or district with only a place text (a few hundred texts, skewed). About a fifth of the cases
are reported again (2-5 tickets each, the repeats carrying a merge score); most cases are
dispatched to their department, answered and closed, about 5 % are still dispatched, most of
those past their deadline, and a few wait in triage. On PostgreSQL the tables are then
VACUUM ANALYZEd (what autovacuum does after a bulk load).

Then it times `daily_report` (the selector behind the page, the command, the XLSX and the
stored snapshot) for the busiest district on one day (2020-02-25): one cold run, then
several runs, p50 and max. Each SQL statement of one run is timed, and the heaviest are
printed with EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL (EXPLAIN QUERY PLAN on SQLite).

Reference, measured in the same run on the same tables: a raw `SELECT count(*)` of the
district's tickets over the report's window (the day and the 7 before it: every ticket the
report must look at), through the ticket and area indexes, p50. ratio = report p50 /
reference p50. Beside it: a sequential scan of the whole ticket table counting that day's
tickets (indexes switched off for it), and the same report for the whole city (p50 of 3).

Run: `.venv/bin/python bench/ticket_report.py [--quick]` (PostgreSQL:
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridguard .venv/bin/python
bench/ticket_report.py`). The last line is the JSON result, also written to
bench/results/ticket_report.json.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import area_level, throwaway_database  # noqa: E402

BENCH_DB = "gridguard_bench_ticket_report"
DISTRICTS, STREETS, COMMITTEES, COMPOUNDS, BUILDINGS = 16, 14, 20, 2, 3
DAYS = 60
FIRST_DAY = dt.date(2020, 1, 1)
REPORT_DAY = dt.date(2020, 2, 25)
SPIKE = "S09"  # the subclass that rises on the reported day
CHUNK = 50_000  # cases per COPY
CHANNELS = (("12345", 60), ("12319", 5), ("12320", 15), ("web", 12), ("opinion", 8))
REPEATS = ((1, 78), (2, 14), (3, 6), (5, 2))  # tickets per case
MATCHED = 0.85
OTHER_KINDS = (
    "health",
    "market",
    "labour",
    "police",
    "housing",
    "education",
    "transport",
    "commerce",
    "civil_affairs",
    "economy",
)


@dataclass
class Compound:
    pk: int
    name: str
    committee: int
    street: int
    district: int
    buildings: list[int]


@dataclass
class District:
    pk: int
    streets: list[int] = field(default_factory=list)
    compounds: list[Compound] = field(default_factory=list)


def build_territory() -> tuple[Any, list[District]]:
    """City → districts → streets → committees → compounds → buildings; returns (the city, the
    districts with their streets and compounds)."""
    from gridguard.territory.models import Area

    level = area_level

    city = Area.objects.create(code="3101", name="Bench city", kind="city", path="/3101/", depth=0)
    districts = level([city], "district", [f"{i:02d}" for i in range(1, DISTRICTS + 1)])
    streets = level(districts, "street", [f"{i:03d}" for i in range(1, STREETS + 1)])
    committees = level(streets, "committee", [f"{i:03d}" for i in range(1, COMMITTEES + 1)])
    compounds = level(committees, "compound", [f"C{i:03d}" for i in range(1, COMPOUNDS + 1)])
    buildings = level(compounds, "building", [f"B{i:02d}" for i in range(1, BUILDINGS + 1)])

    by_pk = {a.pk: a for a in [*districts, *streets, *committees]}
    out = {d.pk: District(pk=d.pk) for d in districts}
    for s in streets:
        out[s.parent_id].streets.append(s.pk)
    inside: dict[int, list[int]] = {}
    for b in buildings:
        inside.setdefault(b.parent_id, []).append(b.pk)
    for c in compounds:
        committee = by_pk[c.parent_id]
        street = by_pk[committee.parent_id]
        out[street.parent_id].compounds.append(
            Compound(c.pk, c.name, committee.pk, street.pk, street.parent_id, inside[c.pk])
        )
    return city, list(out.values())


def build_departments(districts: list[District]) -> dict[tuple[str, int], int]:
    """The departments: (kind, area pk) → department pk."""
    from gridguard.tickets.models import Department

    rows: list[Any] = []
    for d in districts:
        rows += [Department(kind=k, name=f"{k} {d.pk}", area_id=d.pk) for k in OTHER_KINDS]
        rows.append(Department(kind="street_ops", name=f"district ops {d.pk}", area_id=d.pk))
        rows += [
            Department(kind="street_ops", name=f"street ops {s}", area_id=s) for s in d.streets
        ]
        committees = sorted({c.committee for c in d.compounds})
        rows += [Department(kind="committee", name=f"committee {c}", area_id=c) for c in committees]
    Department.objects.bulk_create(rows, batch_size=5000)
    return {
        (kind, area): pk
        for pk, kind, area in Department.objects.values_list("pk", "kind", "area_id")
    }


CASE_COLUMNS = (
    "id",
    "number",
    "subclass",
    "urgency",
    "status",
    "place_text",
    "place_matched",
    "department_id",
    "opened_at",
    "last_reported_at",
    "dispatched_at",
    "due_at",
    "reminded_at",
    "escalation_level",
    "reply",
    "replied_at",
    "replied_by",
    "closed_at",
    "ticket_count",
    "area_id",
)
TICKET_COLUMNS = (
    "number",
    "channel",
    "channel_ref",
    "received_at",
    "text",
    "place_text",
    "place_matched",
    "reporter_name",
    "reporter_phone",
    "subclass",
    "confidence",
    "classified_by",
    "case_id",
    "merge_score",
    "notified_at",
    "rating",
    "rating_comment",
    "rated_at",
    "created_at",
    "area_id",
)


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rnd: random.Random, items: list[Any], cum: list[float]) -> Any:
    return items[bisect.bisect_right(cum, rnd.random() * cum[-1])]


def generate(
    n_tickets: int, districts: list[District], departments: dict[tuple[str, int], int]
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (case rows, ticket rows), seeded (every run is the same), n_tickets in all."""
    from django.conf import settings

    from gridguard.core import clock
    from gridguard.tickets import taxonomy
    from gridguard.tickets.services.routing import urgency_of

    rnd = random.Random(20200225)
    subs = list(taxonomy.subclasses().values())
    sub_cum = _cumulative([1.0 / (1 + i) ** 0.7 for i in range(len(subs))])
    channels = [c for c, _ in CHANNELS]
    channel_cum = _cumulative([w for _, w in CHANNELS])
    repeats = [n for n, _ in REPEATS]
    repeat_cum = _cumulative([w for _, w in REPEATS])
    district_cum = _cumulative([2.0] + [1.0] * (len(districts) - 1))
    midnight = [
        dt.datetime.combine(FIRST_DAY + dt.timedelta(days=d), dt.time.min, tzinfo=clock.SHANGHAI)
        for d in range(DAYS)
    ]
    day_numbers = list(range(DAYS))
    day_cum = _cumulative([0.5 + d / (DAYS - 1) for d in day_numbers])
    report_index = (REPORT_DAY - FIRST_DAY).days
    now = midnight[-1] + dt.timedelta(days=1)
    texts = [
        f"{road}路{n}号" for road in ("淮海中", "南京西", "四川北", "肇嘉浜") for n in range(1, 76)
    ]
    text_cum = _cumulative([1.0 / (1 + i) for i in range(len(texts))])
    hours = settings.TICKET_DEADLINE_HOURS
    urgency = {s.code: urgency_of(s.code) for s in subs}

    def department(kind: str, place: Compound | None, district: District, street: int) -> int:
        chain = [(place.committee if place else None), street, district.pk]
        for wanted in (kind, "street_ops"):
            for area in chain:
                found = departments.get((wanted, area)) if area else None
                if found:
                    return found
        raise AssertionError(kind)

    case_id = 0
    made = 0
    cases: list[tuple[Any, ...]] = []
    tickets: list[tuple[Any, ...]] = []
    while made < n_tickets:
        case_id += 1
        district = _pick(rnd, districts, district_cum)
        day = _pick(rnd, day_numbers, day_cum)
        opened = midnight[day] + dt.timedelta(seconds=rnd.randrange(86400))
        sub = _pick(rnd, subs, sub_cum)
        if day == report_index and rnd.random() < 0.04:
            sub = taxonomy.subclass(SPIKE)
        matched = rnd.random() < MATCHED
        if matched:
            place = district.compounds[int(len(district.compounds) * rnd.random() ** 2)]
            street = place.street
            area = place.pk if rnd.random() < 0.6 else rnd.choice(place.buildings)
            case_area, place_text = area, place.name
        else:
            place = None
            street = rnd.choice(district.streets)
            area = street if rnd.random() < 0.5 else district.pk
            case_area, place_text = area, _pick(rnd, texts, text_cum)
        count = min(_pick(rnd, repeats, repeat_cum), n_tickets - made)
        times = sorted(
            [opened]
            + [opened + dt.timedelta(seconds=rnd.randrange(36 * 3600)) for _ in range(count - 1)]
        )

        # Handling, as of the end of the data.
        urgent = urgency[sub.code]
        status, dept, dispatched, due, replied, closed, reply = (
            "triage",
            None,
            None,
            None,
            None,
            None,
            "",
        )
        if not (rnd.random() < 0.1 and now - opened < dt.timedelta(days=1)):
            dept = department(sub.department, place, district, street)
            dispatched = opened + dt.timedelta(minutes=2)
            due = dispatched + dt.timedelta(hours=hours[urgent])
            roll = rnd.random()
            if roll < 0.95:
                span = (due - dispatched) * (rnd.uniform(0.1, 0.9) if roll < 0.9 else 1.5)
                replied = dispatched + span
            if replied is None or replied > now:
                status, replied = "dispatched", None
            else:
                status, reply = "answered", "已处理"
                if replied + dt.timedelta(days=2) < now and rnd.random() < 0.9:
                    status, closed = "closed", replied + dt.timedelta(days=1)
        cases.append(
            (
                case_id,
                f"C{case_id:011d}",
                sub.code,
                urgent,
                status,
                place_text,
                matched,
                dept,
                opened,
                times[-1],
                dispatched,
                due,
                None,
                1 if status == "dispatched" and due is not None and due < now else 0,
                reply,
                replied,
                "bench" if replied else "",
                closed,
                count,
                case_area,
            )
        )
        for i, at in enumerate(times):
            made += 1
            rated = replied is not None and rnd.random() < 0.3
            tickets.append(
                (
                    f"T{made:011d}",
                    _pick(rnd, channels, channel_cum),
                    f"R{made}",
                    at,
                    f"bench ticket {sub.code} {place_text}",
                    place_text,
                    matched,
                    "",
                    "",
                    sub.code if rnd.random() < 0.9 else _pick(rnd, subs, sub_cum).code,
                    0.9,
                    "model",
                    case_id,
                    None if i == 0 else round(rnd.uniform(0.6, 0.95), 4),
                    replied,
                    rnd.randint(1, 5) if rated else None,
                    "",
                    replied if rated else None,
                    at,
                    (area if i == 0 or place is None else rnd.choice([place.pk, *place.buildings])),
                )
            )
        if len(cases) >= CHUNK:
            yield cases, tickets
            cases, tickets = [], []
    if cases:
        yield cases, tickets


def load(
    vendor: str,
    n_tickets: int,
    districts: list[District],
    departments: dict[tuple[str, int], int],
) -> tuple[int, float]:
    """Write the cases and tickets (COPY on PostgreSQL, executemany on SQLite); returns
    (cases, seconds)."""
    from django.db import connection

    adapt = connection.ops.adapt_datetimefield_value

    def plain(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows as SQLite's driver takes them (datetimes as Django writes them)."""
        return [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]

    t0 = time.perf_counter()
    n_cases = 0
    case_cols, ticket_cols = ", ".join(CASE_COLUMNS), ", ".join(TICKET_COLUMNS)
    case_marks = ", ".join("?" * len(CASE_COLUMNS))
    ticket_marks = ", ".join("?" * len(TICKET_COLUMNS))
    case_insert = f"INSERT INTO tickets_case ({case_cols}) VALUES ({case_marks})"
    ticket_insert = f"INSERT INTO tickets_ticket ({ticket_cols}) VALUES ({ticket_marks})"
    with connection.cursor() as cur:
        raw = cur.cursor  # the driver's cursor under Django's wrapper
        for cases, tickets in generate(n_tickets, districts, departments):
            n_cases += len(cases)
            if vendor == "postgresql":
                with raw.copy(f"COPY tickets_case ({case_cols}) FROM STDIN") as copy:
                    for row in cases:
                        copy.write_row(row)
                with raw.copy(f"COPY tickets_ticket ({ticket_cols}) FROM STDIN") as copy:
                    for row in tickets:
                        copy.write_row(row)
            else:
                raw.executemany(case_insert, plain(cases))
                raw.executemany(ticket_insert, plain(tickets))
        if vendor == "postgresql":
            cur.execute("SELECT setval('tickets_case_id_seq', (SELECT max(id) FROM tickets_case))")
    return n_cases, time.perf_counter() - t0


def timed(fn: Any, repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


class QueryTimer:
    """A Django execute wrapper keeping every statement with its parameters and duration."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - t0) * 1000, sql, params))


def explain(vendor: str, sql: str, params: Any) -> str:
    """The plan of one statement: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL."""
    from django.db import connection

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cur:
        cur.execute(prefix + sql, params)
        return "\n".join(" | ".join(str(c) for c in row) for row in cur.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 tickets; under a minute")
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--runs", type=int, default=7, help="timed reports after the cold one")
    parser.add_argument("--explain", type=int, default=3, help="heaviest statements explained")
    args = parser.parse_args()
    n_tickets = args.tickets or (100_000 if args.quick else 1_000_000)

    vendor, cleanup = throwaway_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    try:
        result = run(vendor, n_tickets, args.runs, args.explain)
    finally:
        from django.db import connections

        connections.close_all()
        cleanup()
    result["command"] = "bench/ticket_report.py" + (" --quick" if args.quick else "")
    from report import save

    save(result)
    print(json.dumps(result))


def run(vendor: str, n_tickets: int, runs: int, n_explain: int) -> dict[str, Any]:
    """Build the data, time the report and the reference, explain the heaviest statements."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from gridguard.core.scoping import SYSTEM
    from gridguard.territory.models import Area
    from gridguard.tickets.selectors.report import HISTORY_DAYS, daily_report, day_bounds

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    city, districts = build_territory()
    departments = build_departments(districts)
    n_cases, load_s = load(vendor, n_tickets, districts, departments)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
    build_s = time.perf_counter() - t0
    print(
        f"built {Area.objects.count():,} areas, {len(departments):,} departments, "
        f"{n_cases:,} cases and {n_tickets:,} tickets in {build_s:.1f}s "
        f"(cases and tickets {load_s:.1f}s)",
        file=sys.stderr,
    )

    district = Area.objects.get(pk=districts[0].pk)  # the busiest
    start, end = day_bounds(REPORT_DAY)
    window_start = start - dt.timedelta(days=HISTORY_DAYS)

    def report() -> dict[str, Any]:
        return daily_report(SYSTEM, REPORT_DAY, district)

    cold_ms = timed(report, 1)[0]
    report_ms = timed(report, runs)
    timer = QueryTimer()
    with connection.execute_wrapper(timer):
        r = report()
    assert r["total"]["today"] > 0 and r["by_street"] and r["hot_places"] and r["overdue"]

    ref_sql = (
        "SELECT count(*) FROM tickets_ticket t JOIN territory_area a ON a.id = t.area_id "
        "WHERE a.path LIKE %s AND t.received_at >= %s AND t.received_at < %s"
    )
    ref_params = [district.path + "%", window_start, end]
    seq_params = [start, end]
    if vendor == "postgresql":
        seq_sql = "SELECT count(*) FROM tickets_ticket WHERE received_at >= %s AND received_at < %s"
        no_index = [
            f"SET LOCAL enable_{k} = off" for k in ("indexscan", "indexonlyscan", "bitmapscan")
        ]
    else:
        seq_sql = (
            "SELECT count(*) FROM tickets_ticket NOT INDEXED "
            "WHERE received_at >= %s AND received_at < %s"
        )
        no_index = []

    def scalar(sql: str, params: Any) -> int:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return int(cur.fetchone()[0])

    def seq_scan() -> int:
        with transaction.atomic(), connection.cursor() as cur:
            for statement in no_index:
                cur.execute(statement)
            return scalar(seq_sql, seq_params)

    window_tickets = scalar(ref_sql, ref_params)
    ref_ms = timed(lambda: scalar(ref_sql, ref_params), max(runs, 5))
    seq_ms = timed(seq_scan, 3)
    city_ms = timed(lambda: daily_report(SYSTEM, REPORT_DAY, city), 3)

    print(f"-- reference: {ref_sql}\n{explain(vendor, ref_sql, ref_params)}")
    heaviest = sorted(timer.queries, key=lambda q: -q[0])
    print(f"-- {len(timer.queries)} statements in one report; the heaviest:")
    for ms, sql, params in heaviest[:n_explain]:
        print(f"\n-- {ms:.1f} ms: {sql}\n-- params: {params}\n{explain(vendor, sql, params)}")

    p50 = statistics.median(report_ms)
    ref50 = statistics.median(ref_ms)
    print(
        f"\ndaily_report of {district.code} on {REPORT_DAY} ({r['total']['today']:,} tickets that "
        f"day, {window_tickets:,} in its 8-day window, {len(r['overdue'])} departments with "
        f"overdue cases): cold {cold_ms:.1f} ms, p50 {p50:.1f} ms, max {max(report_ms):.1f} ms "
        f"over {runs} runs; reference (count of the window's tickets) p50 {ref50:.1f} ms; "
        f"sequential scan of the table for the day {statistics.median(seq_ms):.1f} ms; "
        f"the whole city's report p50 {statistics.median(city_ms):.1f} ms",
        file=sys.stderr,
    )
    return {
        "bench": "ticket_report",
        "value": round(p50, 1),
        "unit": "ms p50",
        "reference": round(ref50, 2),
        "reference_name": "raw count(*) of the district's tickets in the report's 8-day window",
        "ratio": round(p50 / ref50, 1) if ref50 else None,
        "max_ms": round(max(report_ms), 1),
        "cold_ms": round(cold_ms, 1),
        "seq_scan_day_ms": round(statistics.median(seq_ms), 1),
        "city_p50_ms": round(statistics.median(city_ms), 1),
        "statements": len(timer.queries),
        "tickets": n_tickets,
        "cases": n_cases,
        "day_tickets": r["total"]["today"],
        "window_tickets": window_tickets,
        "build_s": round(build_s, 1),
        "target": "daily report for a district over 1,000,000 tickets < 10 s (PostgreSQL)",
    }


if __name__ == "__main__":
    main()
