"""Benchmark: traveller registrations through the checkpoint-device HTTP API.

Loads the territory of the `shanghai` preset (13,000+ compounds) into a throwaway database,
starts GridGuard as `gridguard serve` runs it (Granian, decision 0006), and posts
registrations from many concurrent keep-alive clients on loopback: every one a new person
with a valid ID number, a destination address naming a real compound (one in ten names none
and lands in a street's queue), a third of them from Hubei (a key area: a flag and a follow-up
task at the destination committee). A registration is answered (202 with its receipt code) once
its checked declaration is committed to the intake queue; `gridguard worker`, running beside,
places the queue in batches (address match, person, registration, flag, follow-up, audit
rows). The run waits until the queue is empty and reports how long that took: a registration
counts only if it was placed.

Reference, measured in the same run on the same database server: `pgbench` inserting one row
per transaction into a one-column table with as many clients. ratio = registrations/s /
pgbench inserts/s.

Run: `.venv/bin/python bench/traveller_registration.py [--quick]` with DATABASE_URL pointing at
PostgreSQL (a throwaway database `gridguard_bench_registration` is created and dropped).
`--quick` uses a smaller territory and 5-second runs. The last line is the JSON result.
"""

from __future__ import annotations

import datetime as dt
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

from _db import pgbench_inserts  # noqa: E402
from _load import run_load  # noqa: E402
from _serve import free_port, http_load_setup, start_server, start_worker, stop  # noqa: E402

BENCH_DB = "gridguard_bench_registration"
PROVINCES = [("湖北省", "武汉市", "鄂A"), ("江苏省", "南京市", "苏A"), ("浙江省", "杭州市", "浙A")]


def setup(quick: bool) -> tuple[str, list[str]]:
    """Migrate, load the territory, issue a checkpoint token; (token secret, addresses)."""
    from django.core.management import call_command

    from gridguard.accounts.services import issue_token
    from gridguard.core.scoping import SYSTEM
    from gridguard.demo.plan import plan_territory
    from gridguard.demo.presets import PRESETS
    from gridguard.territory import bulk
    from gridguard.territory.models import Area

    call_command("migrate", verbosity=0)
    scale = PRESETS["shanghai"]
    if quick:
        scale = replace(scale, districts=4, streets=54)
    bulk.bulk_load_areas(plan_territory(scale, random.Random(2020)), actor=SYSTEM)
    checkpoint = Area.objects.filter(kind="checkpoint").first()
    assert checkpoint is not None
    _token, secret = issue_token(SYSTEM, name="bench", purpose="checkpoint_device", area=checkpoint)
    rows = Area.objects.filter(kind="compound").select_related("parent__parent__parent")
    addresses = []
    for c in rows.iterator():
        street = c.parent.parent if c.parent else None
        district = street.parent if street else None
        addresses.append(
            f"上海市{district.name if district else ''}{street.name if street else ''}"
            f"{c.name}{random.randint(1, 30)}号楼{random.randint(1, 30)}0{random.randint(1, 4)}室"
        )
    return secret, addresses


def id_numbers(n: int) -> list[str]:
    """n distinct valid 18-digit ID numbers."""
    from stdnum.cn import ric

    out: list[str] = []
    rnd = random.Random(7)
    regions = ["420102", "320102", "330106", "310101", "110101"]
    seen: set[str] = set()
    while len(out) < n:
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rnd.randrange(365 * 55))
        first17 = f"{rnd.choice(regions)}{born:%Y%m%d}{rnd.randrange(1000):03d}"
        number = first17 + ric.calc_check_digit(first17 + "0")
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def make_requests(secret: str, addresses: list[str], n: int) -> Any:
    numbers = id_numbers(n)
    today = dt.date.today()
    rnd = random.Random(11)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def make(i: int) -> tuple[str, str, dict[str, str], bytes]:
        province, city, plate = PROVINCES[i % 3]
        address = addresses[rnd.randrange(len(addresses))]
        if i % 10 == 9:
            address = "上海市某某路" + str(i) + "号"  # no compound: the street's queue
        body = {
            "submission_key": f"bench-{os.getpid()}-{i}",
            "id_number": numbers[i % len(numbers)],
            "name": rnd.choice(surnames) + rnd.choice("伟芳娜敏静丽强磊军洋"),
            "phone": f"139{i % 100000000:08d}",
            "origin_province": province,
            "origin_city": city,
            "transport": "car",
            "vehicle_number": f"{plate}{i % 100000:05d}",
            "arrival_date": (today - dt.timedelta(days=i % 5)).isoformat(),
            "destination_address": address,
            "temperature": 36.5,
        }
        return "POST", "/api/v1/health/registrations", headers, json.dumps(body).encode()

    return make


def make_batches(secret: str, make: Any, per_car: int, offset: int) -> Any:
    """Requests of `per_car` registrations each for the /batch endpoint."""
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def batch(i: int) -> tuple[str, str, dict[str, str], bytes]:
        rows = [json.loads(make(offset + i * per_car + k)[3]) for k in range(per_car)]
        body = json.dumps({"registrations": rows}).encode()
        return "POST", "/api/v1/health/registrations/batch", headers, body

    return batch


def main() -> None:
    args, cleanup = http_load_setup(__doc__, BENCH_DB, 500.0, "registrations/s")
    seconds = 5 if args.quick else 20
    proc = None
    try:
        secret, addresses = setup(args.quick)
        from django.db import connections

        connections.close_all()
        url = os.environ["DATABASE_URL"]
        reference = pgbench_inserts(url, args.clients, seconds)
        port = free_port()
        proc = start_server(port, args.workers, args.threads)
        auth = {"Authorization": f"Bearer {secret}"}
        # The same server answering an authenticated no-op: what the framework alone allows.
        ceiling = run_load(
            "127.0.0.1",
            port,
            lambda _i: ("GET", "/api/v1/accounts/me", auth, b""),
            clients=args.clients,
            seconds=min(seconds, 5),
        )
        worker = start_worker()
        make = make_requests(secret, addresses, 200_000)
        from gridguard.health.models import FollowUpTask, RegistrationIntake, TravellerRegistration
        from gridguard.health.services.intake import pending_count

        def drain() -> float:
            """Seconds until the worker has placed every accepted registration."""
            t_end = time.perf_counter()
            while pending_count() and time.perf_counter() - t_end < 120:
                time.sleep(0.2)
            return time.perf_counter() - t_end

        # 1. Closed loop: each client sends again as soon as it is answered (the server's most).
        result = run_load("127.0.0.1", port, make, clients=args.clients, seconds=seconds)
        drain_s = drain()

        # 2. Open loop at the target rate, as independent checkpoints send: the latency of each
        # registration counts from when it was due, and the worker must keep placing them.
        def offset(i: int) -> Any:
            return make(500_000 + i)

        steady = run_load(
            "127.0.0.1", port, offset, clients=args.clients * 2, seconds=seconds, rate=args.rate
        )
        behind = pending_count()
        steady_drain_s = drain()
        # 3. Cars: each request carries a car's passengers through /batch.
        cars = make_batches(secret, make, 5, offset=1_000_000)
        batched = run_load("127.0.0.1", port, cars, clients=args.clients, seconds=seconds)
        drain_s = max(drain_s, drain())
        stop(worker)
        accepted = RegistrationIntake.objects.count()
        stuck = pending_count()
        stored = TravellerRegistration.objects.count()
        tasks = FollowUpTask.objects.count()
        unmatched = TravellerRegistration.objects.filter(match_status="unmatched").count()
        connections.close_all()
    finally:
        if proc is not None:
            stop(proc)
        cleanup()
    ok = result.statuses.get(202, 0)
    print(
        f"open loop at {args.rate:,.0f}/s from {args.clients * 2} connections: "
        f"{steady.rate:,.0f}/s "
        f"answered, p50 {steady.p50:.1f} ms, p99 {steady.percentile(99):.1f} ms, statuses "
        f"{dict(steady.statuses)}; {behind} waiting to be placed at its end, placed "
        f"{steady_drain_s:.1f}s later. Closed loop, {args.clients} clients: "
        f"{ok:,} registrations accepted in {result.seconds:.1f}s: {result.rate:,.0f}/s, "
        f"p50 {result.p50:.1f} ms, p99 {result.percentile(99):.1f} ms; statuses "
        f"{dict(result.statuses)}; {accepted:,} kept, {stored:,} placed ({unmatched:,} "
        f"unmatched, {tasks:,} follow-ups), queue drained {drain_s:.1f}s after the load, "
        f"{stuck} left; in cars of 5 through /batch: "
        f"{batched.rate * 5:,.0f} registrations/s (p99 {batched.percentile(99):.1f} ms per car); "
        f"pgbench one-row inserts {reference:,.0f}/s; authenticated no-op GET "
        f"{ceiling.rate:,.0f}/s (p99 {ceiling.percentile(99):.1f} ms)",
        file=sys.stderr,
    )
    if result.errors:
        print("errors:", result.errors[:3], file=sys.stderr)
    out = {
        "bench": "traveller_registration",
        "value": round(result.rate, 1),
        "unit": "registrations/s",
        "reference": round(reference, 1),
        "reference_name": f"pgbench one-row INSERT, {args.clients} clients",
        "ratio": round(result.rate / reference, 3),
        "p50_ms": round(result.p50, 1),
        "p99_ms": round(result.percentile(99), 1),
        "open_loop_rate": args.rate,
        "open_loop_answered_per_s": round(steady.rate, 1),
        "open_loop_p50_ms": round(steady.p50, 1),
        "open_loop_p99_ms": round(steady.percentile(99), 1),
        "open_loop_non_202": sum(n for s, n in steady.statuses.items() if s != 202),
        "open_loop_left_to_place": behind,
        "open_loop_placed_within_s": round(steady_drain_s, 1),
        "noop_get_per_s": round(ceiling.rate, 1),
        "batched_per_s": round(batched.rate * 5, 1),
        "batched_p99_ms": round(batched.percentile(99), 1),
        "non_202": sum(n for s, n in result.statuses.items() if s != 202),
        "placed": stored,
        "accepted": accepted,
        "left_in_queue": stuck,
        "drain_s": round(drain_s, 1),
        "clients": args.clients,
        "target": ">= 500 registrations/s sustained, p99 < 100 ms on PostgreSQL",
        "command": "bench/traveller_registration.py" + (" --quick" if args.quick else ""),
    }
    from report import save

    save(out)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
