"""Benchmark: the missed-check-in sweep (P3) over 100,000 active home-observation orders.

In a throwaway database (PostgreSQL from DATABASE_URL, SQLite otherwise) it creates 100,000
persons (10,000 with --quick) spread over 50 compounds, each with an active 14-day order that
started a week ago (bulk_create), and check-ins for yesterday's and today's slots, 97% of
them reported (so about 3% of 400,000 owed slots are missed). Then, at 17:00 Shanghai, it
times `sweep_missed` (one INSERT … SELECT … WHERE NOT EXISTS joining the orders to a small
VALUES table of the due slots) on the first run (inserting the missed alerts and bumping
the committee counts) and again (nothing new: the idempotent case every later scheduler tick meets).

The health-code receiver is disconnected while timing: recomputing the codes of the persons
with a missed slot is the health-code engine's work (bench/health_codes.py), not the sweep's.

Reference, measured in the same run on the same database: a raw `SELECT count(*)` of the
owed-and-unreported slots, the same anti-join over orders and check-ins without writing.
ratio = sweep seconds / reference seconds.

Run: `.venv/bin/python bench/observation_sweep.py [--quick]`. The last line is the JSON result.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import throwaway_database  # noqa: E402

BENCH_DB = "gridguard_bench_observation"
COMPOUNDS = 50
REPORTED = 0.97


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
    ids = []
    for k in range(5):
        committee = territory.create_area(
            SYSTEM, code=f"31010100100{k}", name=f"居委{k}", kind="committee", parent=street
        )
        for i in range(COMPOUNDS // 5):
            c = territory.create_area(
                SYSTEM,
                code=f"31010100100{k}C{i:03d}",
                name=f"小区{k}-{i}",
                kind="compound",
                parent=committee,
            )
            ids.append(c.pk)
    return ids


def build(n: int, compounds: list[int], now: dt.datetime, rng: random.Random) -> int:
    """n persons, n active orders, check-ins for 97% of yesterday's and today's slots."""
    from gridguard.core import clock
    from gridguard.health.models import CheckIn, ObservationOrder, ObservationType
    from gridguard.people.models import Person

    kind = ObservationType.objects.get(code="home")
    today = clock.local(now).date()
    starts = today - dt.timedelta(days=7)
    created = now - dt.timedelta(days=7)
    Person.objects.bulk_create(
        [
            Person(
                id_type="passport",
                id_number=f"E{g:08d}",
                name=f"居民{g}",
                area_id=compounds[g % len(compounds)],
                created_at=created,
                updated_at=created,
            )
            for g in range(n)
        ],
        batch_size=5000,
    )
    person_ids = list(Person.objects.order_by("id").values_list("id", "area_id"))
    ObservationOrder.objects.bulk_create(
        [
            ObservationOrder(
                person_id=pid,
                order_type=kind,
                area_id=area_id,
                place_address="家中",
                starts_on=starts,
                ends_on=starts + dt.timedelta(days=kind.days - 1),
                created_at=created,
            )
            for pid, area_id in person_ids
        ],
        batch_size=5000,
    )
    orders = list(ObservationOrder.objects.values_list("id", "area_id"))
    rows = []
    for day in (today - dt.timedelta(days=1), today):
        for index in range(len(kind.slots)):
            for oid, area_id in orders:
                if rng.random() < REPORTED:
                    rows.append(
                        CheckIn(
                            order_id=oid,
                            area_id=area_id,
                            slot_date=day,
                            slot_index=index,
                            temperature=Decimal("36.5"),
                            source="device",
                            reported_at=created,
                        )
                    )
    CheckIn.objects.bulk_create(rows, batch_size=5000)
    return len(orders) * 4 - len(rows)


def reference(now: dt.datetime) -> tuple[float, int]:
    """The read-only anti-join: owed slots of active orders with no check-in."""
    from django.db import connection

    from gridguard.core import clock
    from gridguard.health.models import CheckIn, ObservationOrder

    today = clock.local(now).date()
    ops = connection.ops
    sql = (
        f"SELECT count(*) FROM {ObservationOrder._meta.db_table} o "
        "WHERE o.status = 'active' AND o.starts_on <= %s AND o.ends_on >= %s "
        f"AND NOT EXISTS (SELECT 1 FROM {CheckIn._meta.db_table} c "
        "WHERE c.order_id = o.id AND c.slot_date = %s AND c.slot_index = %s)"
    )
    total = 0
    t = time.perf_counter()
    with connection.cursor() as cur:
        for day in (today - dt.timedelta(days=1), today):
            d = ops.adapt_datefield_value(day)
            for index in (0, 1):
                cur.execute(sql, [d, d, d, index])
                total += cur.fetchone()[0]
    return time.perf_counter() - t, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 orders instead of 100,000")
    parser.add_argument("--orders", type=int, help="override the number of orders")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    n = args.orders or (10_000 if args.quick else 100_000)

    vendor, cleanup = throwaway_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from gridguard.core import clock
    from gridguard.health.models import ObservationAlert, ObservationDailyCount
    from gridguard.health.services.observation_jobs import sweep_missed
    from gridguard.people.signals import facts_changed

    try:
        call_command("migrate", verbosity=0)
        now = dt.datetime.combine(
            clock.today(), dt.time(17, 0), tzinfo=clock.SHANGHAI
        )  # all four slots of yesterday and today are past their deadline (16:00)
        t = time.perf_counter()
        compounds = setup_territory()
        expected = build(n, compounds, now, random.Random(2020))
        if vendor == "postgresql":
            with connection.cursor() as cur:
                # As autovacuum would have done on a live system (hint bits, visibility map).
                cur.execute("VACUUM ANALYZE")
        print(
            f"setup: {n} orders, {expected} unreported slots in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )
        facts_changed.disconnect(dispatch_uid="health.recompute_codes")
        t = time.perf_counter()
        raised = sweep_missed(now)
        first = time.perf_counter() - t
        t = time.perf_counter()
        again = sweep_missed(now)
        second = time.perf_counter() - t
        print(
            f"sweep_missed first: {first:.3f} s ({raised} alerts); again: {second:.3f} s "
            f"({again} alerts)",
            file=sys.stderr,
        )
        missed_counted = sum(ObservationDailyCount.objects.values_list("missed", flat=True))
        alerts = ObservationAlert.objects.filter(kind="missed").count()
        ok = raised == expected == alerts == missed_counted and again == 0
        ref, ref_rows = reference(now)
        print(
            f"reference SELECT count(*) anti-join: {ref:.3f} s ({ref_rows} rows)", file=sys.stderr
        )
        result = {
            "bench": "observation_sweep",
            "value": round(first, 3),
            "unit": "s",
            "orders": n,
            "vendor": vendor,
            "missed_alerts": raised,
            "again_s": round(second, 3),
            "correct": ok,
            "reference": round(ref, 3),
            "reference_name": "raw SELECT count(*) of unreported slots (same anti-join)",
            "ratio": round(first / ref, 2) if ref else None,
        }
        result["target"] = "100,000 persons in observation swept in < 2 s (PostgreSQL)"
        result["command"] = "bench/observation_sweep.py" + (" --quick" if args.quick else "")
        from report import save

        save(result)
        print(json.dumps(result))
    finally:
        connection.close()
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
