"""Benchmark: recompute every health code (P4), and one code lookup through the API.

In a throwaway database (PostgreSQL from DATABASE_URL, SQLite otherwise) it creates 1,000,000
persons (100,000 with --quick) with a realistic share of facts: 5% key-person flags (a third
of them red categories), 1% active observation orders with two check-ins each (one in twenty
feverish), missed-check-in and breach alerts, 3% key-area registrations (some with symptoms),
0.5% fever-medicine purchases. Then it times `recompute_all` (every person's code computed
from the rules and written, batches by pk range, one query per rule per batch).

Reference, measured in the same run on the same database: a raw `INSERT … SELECT` of the same
number of rows (id, colour, jsonb, two timestamps) into an unlogged-free scratch table, the
physical write rate of the server. ratio = recompute seconds / reference seconds (lower is
better; 1.0 would be writing the codes with no computing at all).

Also: lookups through the API (`POST /api/v1/health/codes/lookup` by a gate scanner token:
token check, ID check, one person+code query, the audit row) over HTTP to the server as
`gridguard serve` runs it, for 10 s from one gate sending one lookup after another (p50/p99
in ms), then from four gates at once; and the same read without HTTP (selector + audit row).
Before the lookups the tables are vacuumed and analysed, as autovacuum would have done after
the recompute's million updates in a running system.

Run: `.venv/bin/python bench/health_codes.py [--quick]`. The last line is the JSON result.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import throwaway_database  # noqa: E402
from _load import run_load  # noqa: E402
from _serve import free_port, start_server, stop  # noqa: E402

BENCH_DB = "gridguard_bench_codes"
COMPOUNDS = 50


def setup_territory() -> list[int]:
    from gridguard.core.scoping import SYSTEM
    from gridguard.territory import services as territory

    city = territory.create_area(SYSTEM, code="3101", name="上海市", kind="city", parent=None)
    district = territory.create_area(
        SYSTEM, code="310101", name="黄浦区", kind="district", parent=city
    )
    street = territory.create_area(
        SYSTEM, code="310101001", name="南京东路街道", kind="street", parent=district
    )
    committee = territory.create_area(
        SYSTEM, code="310101001001", name="贵州居委", kind="committee", parent=street
    )
    ids = []
    first = None
    for i in range(COMPOUNDS):
        c = territory.create_area(
            SYSTEM,
            code=f"310101001001C{i:03d}",
            name=f"小区{i}",
            kind="compound",
            parent=committee,
        )
        ids.append(c.pk)
        first = first or c
    territory.create_area(
        SYSTEM, code="310101001001C000G01", name="北门", kind="gate", parent=first
    )
    return ids


def create_persons(n: int, compounds: list[int], vendor: str) -> None:
    from django.db import connection

    from gridguard.core import clock
    from gridguard.people.models import Person

    now = clock.now()
    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {Person._meta.db_table} (id_type, id_number, name, sex, "
                "nationality, phone, address, created_at, updated_at, area_id) "
                "SELECT 'passport', 'E' || lpad(g::text, 8, '0'), '居民' || g, 'unknown', "
                "'CHN', '', '', %s, %s, (%s::bigint[])[1 + g %% %s] "
                "FROM generate_series(1, %s) g",
                [now, now, compounds, len(compounds), n],
            )
        return
    rows = [
        Person(
            id_type="passport",
            id_number=f"E{g:08d}",
            name=f"居民{g}",
            area_id=compounds[g % len(compounds)],
        )
        for g in range(1, n + 1)
    ]
    Person.objects.bulk_create(rows, batch_size=5000)


def create_facts(rng: random.Random) -> dict[str, int]:
    from gridguard.core import clock
    from gridguard.health.models import (
        CheckIn,
        FeverMedicinePurchase,
        ObservationAlert,
        ObservationOrder,
        ObservationType,
        TravellerRegistration,
    )
    from gridguard.people.models import KeyPersonFlag, Person

    now = clock.now()
    today = clock.today()
    persons = list(Person.objects.order_by("pk").values_list("pk", "area_id"))
    n = len(persons)
    sample = rng.sample(range(n), k=int(n * 0.095))
    cut = iter(sample)

    def take(share: float) -> list[tuple[int, int]]:
        return [persons[next(cut)] for _ in range(int(n * share))]

    categories = [
        "key_area_returnee",
        "elderly_alone",
        "fever",
        "close_contact",
        "suspected",
        "disabled",
    ]
    flags = [
        KeyPersonFlag(
            person_id=pid,
            category=categories[i % len(categories)],
            since=now - dt.timedelta(days=rng.randint(0, 20)),
        )
        for i, (pid, _a) in enumerate(take(0.05))
    ]
    KeyPersonFlag.objects.bulk_create(flags, batch_size=5000)
    home = ObservationType.objects.get(code="home")
    orders = [
        ObservationOrder(
            person_id=pid,
            area_id=area,
            order_type=home,
            place_address="家中",
            starts_on=today - dt.timedelta(days=3),
            ends_on=today + dt.timedelta(days=10),
        )
        for pid, area in take(0.01)
    ]
    ObservationOrder.objects.bulk_create(orders, batch_size=5000)
    checkins, alerts = [], []
    for i, o in enumerate(orders):
        for slot in (0, 1):
            fever = i % 20 == 0 and slot == 1
            checkins.append(
                CheckIn(
                    order=o,
                    area_id=o.area_id,
                    slot_date=today - dt.timedelta(days=1),
                    slot_index=slot,
                    temperature="37.9" if fever else "36.5",
                    source="self",
                    reported_at=now - dt.timedelta(hours=20 - slot * 6),
                )
            )
        if i % 10 == 3:
            for k in range(2):
                alerts.append(
                    ObservationAlert(
                        order=o,
                        area_id=o.area_id,
                        kind="missed",
                        slot_key=f"m{k}",
                        raised_at=now - dt.timedelta(hours=10 + k),
                    )
                )
        if i % 50 == 7:
            alerts.append(
                ObservationAlert(
                    order=o, area_id=o.area_id, kind="breach", raised_at=now - dt.timedelta(days=2)
                )
            )
    CheckIn.objects.bulk_create(checkins, batch_size=5000)
    ObservationAlert.objects.bulk_create(alerts, batch_size=5000)
    regs = [
        TravellerRegistration(
            receipt_code=f"R{i:09d}",
            submission_key=f"bench-{i}",
            person_id=pid,
            area_id=area,
            name="旅客",
            id_type="passport",
            id_number="E0",
            phone="",
            origin_province="湖北省",
            transport="car",
            arrival_date=today - dt.timedelta(days=rng.randint(0, 20)),
            channel="public_form",
            destination_address="",
            match_status="matched",
            from_key_area=True,
            symptoms=["cough"] if i % 10 == 0 else [],
            submitted_at=now - dt.timedelta(days=rng.randint(0, 20)),
        )
        for i, (pid, area) in enumerate(take(0.03))
    ]
    TravellerRegistration.objects.bulk_create(regs, batch_size=5000)
    buys = [
        FeverMedicinePurchase(
            buyer_id=pid,
            area_id=area,
            name="买药人",
            id_type="passport",
            id_number="E0",
            phone="",
            medicine="布洛芬",
            bought_at=now - dt.timedelta(hours=rng.randint(1, 120)),
            submission_key=f"buy-{i}",
        )
        for i, (pid, area) in enumerate(take(0.005))
    ]
    FeverMedicinePurchase.objects.bulk_create(buys, batch_size=5000)
    return {
        "flags": len(flags),
        "orders": len(orders),
        "checkins": len(checkins),
        "alerts": len(alerts),
        "registrations": len(regs),
        "purchases": len(buys),
    }


def reference(n: int, vendor: str) -> float:
    """Seconds for a raw INSERT … SELECT of n code-shaped rows into a scratch table."""
    from django.db import connection

    jsonb = "jsonb" if vendor == "postgresql" else "text"
    series = (
        "generate_series(1, %s) g"
        if vendor == "postgresql"
        else "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
        "SELECT g FROM s)"
    )
    now_sql = "now()" if vendor == "postgresql" else "CURRENT_TIMESTAMP"
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_scratch_codes")
        cur.execute(
            f"CREATE TABLE bench_scratch_codes (person_id bigint PRIMARY KEY, colour varchar(8), "
            f"reasons {jsonb}, computed_at timestamp, expires_at timestamp)"
        )
        started = time.perf_counter()
        cur.execute(
            "INSERT INTO bench_scratch_codes SELECT g, 'green', '[]', "
            f"{now_sql}, {now_sql} FROM {series}",
            [n],
        )
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE bench_scratch_codes")
    return seconds


def lookups(count: int) -> tuple[float, float, dict[str, int]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from gridguard.accounts.services import issue_token
    from gridguard.core.scoping import SYSTEM
    from gridguard.people.models import Person
    from gridguard.territory.models import Area

    gate = Area.objects.get(kind="gate")
    _token, secret = issue_token(SYSTEM, name="bench gate", purpose="gate_scanner", area=gate)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    numbers = list(
        Person.objects.order_by("?").values_list("id_number", flat=True)[: min(count, 5000)]
    )
    statuses: dict[str, int] = {}
    with CaptureQueriesContext(connection) as ctx:
        client.post(
            "/api/v1/health/codes/lookup",
            {"id_type": "passport", "id_number": numbers[0]},
            content_type="application/json",
        )
    statuses["queries_per_lookup"] = len(ctx.captured_queries)
    # Over HTTP, as a gate calls it: the server as `gridguard serve` runs it, one gate sending
    # one lookup after another, then four gates at once.
    from django.db import connections

    connections.close_all()
    port = free_port()
    server = start_server(port, 2, 4)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def lookup(i: int) -> tuple[str, str, dict[str, str], bytes]:
        body = {"id_type": "passport", "id_number": numbers[i % len(numbers)]}
        return "POST", "/api/v1/health/codes/lookup", headers, json.dumps(body).encode()

    try:
        one_gate = run_load("127.0.0.1", port, lookup, clients=1, seconds=10)
        four_gates = run_load("127.0.0.1", port, lookup, clients=4, seconds=10)
    finally:
        stop(server)
    for status, n in one_gate.statuses.items():
        statuses[str(status)] = n
    statuses["four_gates_per_s"] = round(four_gates.rate)
    statuses["four_gates_p99_ms"] = round(four_gates.percentile(99), 2)  # type: ignore[assignment]
    statuses["one_gate_per_s"] = round(one_gate.rate)
    times = one_gate.latencies_ms
    times.sort()
    # The same read without HTTP: the selector, which writes the audit row too.
    from gridguard.health.selectors.codes import code_by_identity

    inner: list[float] = []
    for i in range(count):
        started = time.perf_counter()
        code_by_identity(_token, "passport", numbers[i % len(numbers)])
        inner.append((time.perf_counter() - started) * 1000)
    inner.sort()
    statuses["service_p50_ms"] = round(inner[len(inner) // 2], 2)  # type: ignore[assignment]
    statuses["service_p99_ms"] = round(inner[int(len(inner) * 0.99)], 2)  # type: ignore[assignment]
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))], statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 persons instead of 1M")
    parser.add_argument("--persons", type=int, help="override the number of persons")
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    n = args.persons or (100_000 if args.quick else 1_000_000)

    vendor, cleanup = throwaway_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from gridguard.health.services.codes import recompute_all

    try:
        call_command("migrate", verbosity=0)
        t = time.perf_counter()
        compounds = setup_territory()
        create_persons(n, compounds, vendor)
        facts = create_facts(random.Random(2020))
        if vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("ANALYZE")
        print(f"setup: {n} persons, {facts} in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        first = recompute_all(batch=args.batch)
        print(
            f"recompute_all (first, inserting): {first.seconds:.2f} s {first.colours} "
            f"changed={first.changed}",
            file=sys.stderr,
        )
        second = recompute_all(batch=args.batch)
        print(
            f"recompute_all (again, updating): {second.seconds:.2f} s {second.colours} "
            f"changed={second.changed}",
            file=sys.stderr,
        )
        ref = reference(n, vendor)
        print(f"reference INSERT … SELECT of {n} rows: {ref:.2f} s", file=sys.stderr)
        if vendor == "postgresql":
            from django.db import connection

            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE")
        p50, p99, statuses = lookups(2000)
        print(f"lookup p50 {p50:.2f} ms, p99 {p99:.2f} ms, {statuses}", file=sys.stderr)
        value = max(first.seconds, second.seconds)
        result = {
            "bench": "health_codes",
            "value": round(value, 2),
            "unit": "s",
            "persons": n,
            "vendor": vendor,
            "reference": round(ref, 2),
            "reference_name": f"raw INSERT … SELECT of {n} rows into a scratch table",
            "ratio": round(value / ref, 2) if ref else None,
            "lookup_p50_ms": round(p50, 2),
            "lookup_p99_ms": round(p99, 2),
            "lookup_queries": statuses.get("queries_per_lookup"),
            "lookup_service_p50_ms": statuses.get("service_p50_ms"),
            "lookup_service_p99_ms": statuses.get("service_p99_ms"),
        }
        result["target"] = (
            "1,000,000 persons recomputed in < 60 s; one lookup p99 < 5 ms (PostgreSQL)"
        )
        result["command"] = "bench/health_codes.py" + (" --quick" if args.quick else "")
        from report import save

        save(result)
        print(json.dumps(result))
    finally:
        connection.close()
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
