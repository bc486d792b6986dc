"""Benchmark: gate scans online through the HTTP API, and the upload of offline gate logs.

Loads a territory into a throwaway PostgreSQL database, gives residents of a few hundred
compounds a signed pass and a health code (one in twenty yellow, one in a hundred red), and
starts GridGuard as `gridguard serve` runs it. Then:

1. Online scans: `POST /api/v1/access/scan` from a `gate_scanner` device token, each a real
   pass shown at one of its compound's gates with a temperature: the server verifies the
   signature, reads the pass's state and the holder's code, logs the event and defers the
   audit row. Closed loop (the server's most), then open loop at `--rate` scans/s (latency
   counted from when each scan was due). Reference: pgbench's one-row INSERT rate on the same
   server with as many clients.
2. Offline upload: batches of 5,000 events as a phone sends them, through the service
   (`uploads.upload_events`: checks, COPY to a staging table, one INSERT … SELECT … ON
   CONFLICT) and through `POST /api/v1/access/events`. Reference: a raw `COPY` of the same
   rows, pass and holder already resolved, straight into the gate-event table (same indexes
   and constraints), one COPY and commit per batch, measured in the same run.

Run: `.venv/bin/python bench/gate_scan.py [--quick]` with DATABASE_URL pointing at
PostgreSQL (`gridguard_bench_gate_scan` is created and dropped). The last line is the JSON.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import pgbench_inserts  # noqa: E402
from _load import run_load  # noqa: E402
from _serve import free_port, http_load_setup, start_server, stop  # noqa: E402

BENCH_DB = "gridguard_bench_gate_scan"
BATCH = 5000


def setup(quick: bool) -> tuple[str, list[tuple[str, str]]]:
    """Territory, residents with passes and codes, a city-wide scanner token.

    Returns (token secret, [(gate code, pass credential)])."""
    from django.core.management import call_command

    from gridguard.access import credential
    from gridguard.access.models import EntryPass
    from gridguard.access.services.keys import active_key, private_key
    from gridguard.accounts.services import issue_token
    from gridguard.core import clock, masking
    from gridguard.core.scoping import SYSTEM
    from gridguard.demo.plan import plan_territory
    from gridguard.demo.presets import PRESETS
    from gridguard.health.models import HealthCode
    from gridguard.people.models import Person
    from gridguard.territory import bulk
    from gridguard.territory.models import Area

    call_command("migrate", verbosity=0)
    scale = PRESETS["shanghai"]
    if quick:
        scale = replace(scale, districts=2, streets=20)
    bulk.bulk_load_areas(plan_territory(scale, random.Random(2020)), actor=SYSTEM)
    city = Area.objects.filter(parent__isnull=True).first()
    assert city is not None
    _token, secret = issue_token(SYSTEM, name="bench", purpose="gate_scanner", area=city)
    rnd = random.Random(4)
    compounds = list(Area.objects.filter(kind="compound").order_by("?")[: 60 if quick else 300])
    now = clock.now()
    people: list[Person] = []
    for c in compounds:
        for k in range(30):
            n = len(people)
            people.append(
                Person(area=c, id_type="passport", id_number=f"GB{n:09d}", name=f"王{k}芳")
            )
    Person.objects.bulk_create(people, batch_size=2000)
    colours = [
        "red" if i % 100 == 0 else "yellow" if i % 20 == 0 else "green" for i in range(len(people))
    ]
    HealthCode.objects.bulk_create(
        [
            HealthCode(person=p, colour=col, expires_at=now + dt.timedelta(days=2))
            for p, col in zip(people, colours, strict=True)
        ],
        batch_size=2000,
    )
    gates: dict[int, list[str]] = {}
    for g in Area.objects.filter(kind="gate", parent__in=compounds).only("code", "parent_id"):
        gates.setdefault(g.parent_id or 0, []).append(g.code)
    keys: dict[int, Any] = {}
    passes: list[EntryPass] = []
    scans: list[tuple[str, str]] = []
    for n, p in enumerate(people):
        compound = p.area
        street_key = keys.get(compound.pk)
        if street_key is None:
            key = active_key(compound)
            street_key = keys[compound.pk] = (key, private_key(key))
        key, secret_key = street_key
        pass_id = f"B{n:09d}"
        claims = credential.PassClaims(
            pass_id=pass_id,
            compound=compound.code,
            gates=(),
            masked_name=masking.mask_name(p.name),
            kind="resident",
            issuer=key.area.code,
            issued_at=int(now.timestamp()),
            not_before=int(now.timestamp()) - 3600,
            expires_at=int(now.timestamp()) + 30 * 86400,
        )
        text = credential.sign(claims, secret_key)
        passes.append(
            EntryPass(
                area=compound,
                person=p,
                pass_id=pass_id,
                kind="resident",
                status="active",
                valid_from=now - dt.timedelta(hours=1),
                valid_until=now + dt.timedelta(days=30),
                signing_key=key,
                credential=text,
            )
        )
        scans.append((rnd.choice(gates.get(compound.pk) or [compound.code]), text))
    EntryPass.objects.bulk_create(passes, batch_size=2000)
    return secret, scans


def upload_rows(scans: list[tuple[str, str]], n: int, seed: int) -> list[dict[str, Any]]:
    """n offline events as phones queue them (pass numbers only, no credentials), each
    batch of BATCH from one gate."""
    from gridguard.access import credential

    rnd = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    ids = [credential.decode_unverified(text)[1].pass_id for _g, text in scans[:2000]]
    out = []
    for i in range(n):
        # A phone uploads the queue of its own gate: one gate per batch.
        gate, _text = scans[(i // BATCH) * 7 % len(scans)]
        out.append(
            {
                "event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                "gate": gate,
                "pass_id": ids[i % len(ids)],
                "verdict": "ok" if i % 17 else "code_yellow",
                "temperature": 36.0 + (i % 10) / 10,
                "scanned_at": (now - dt.timedelta(seconds=i)).isoformat(),
            }
        )
    return out


def raw_copy_rate(rows: list[dict[str, Any]], gate_pks: dict[str, int]) -> float:
    """Rows/s of a plain COPY of the same events (pass and holder already resolved) straight
    into the gate-event table, one COPY per batch."""
    from django.db import connection, transaction

    from gridguard.access.models import EntryPass, GateEvent

    table = GateEvent._meta.db_table
    owners = {
        pid: (pk, person)
        for pid, pk, person in EntryPass.objects.values_list("pass_id", "pk", "person_id")
    }
    now = dt.datetime.now(dt.UTC)
    batches = []
    for start in range(0, len(rows), BATCH):
        buf = io.StringIO()
        for r in rows[start : start + BATCH]:
            pk, person = owners[r["pass_id"]]
            buf.write(
                f"{uuid.uuid4()}\t{gate_pks[r['gate']]}\t{pk}\t{person}\t{r['verdict']}\t"
                f"{r['temperature']:.1f}\t{r['scanned_at']}\t{now.isoformat()}\tt\tbench\t\n"
            )
        batches.append(buf.getvalue())
    elapsed = 0.0
    for data in batches:
        t0 = time.perf_counter()
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {table} (event_id, area_id, entry_pass_id, person_id, verdict, "
                "temperature, scanned_at, received_at, offline, recorded_by, flagged) FROM STDIN"
            ) as copy,
        ):
            copy.write(data)
        elapsed += time.perf_counter() - t0  # to its commit, as the upload is timed
    return len(rows) / elapsed


def main() -> None:
    args, cleanup = http_load_setup(__doc__, BENCH_DB, 1000.0, "scans/s")
    seconds = 5 if args.quick else 20
    proc = None
    try:
        t0 = time.perf_counter()
        secret, scans = setup(args.quick)
        setup_s = time.perf_counter() - t0
        from django.db import connection, connections
        from django.db.models import Count

        from gridguard.access.models import GateEvent
        from gridguard.access.services import uploads
        from gridguard.core.scoping import SYSTEM
        from gridguard.territory.models import Area

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connections.close_all()
        url = os.environ["DATABASE_URL"]
        reference = pgbench_inserts(url, args.clients, seconds)
        port = free_port()
        proc = start_server(port, args.workers, args.threads)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        rnd = random.Random(9)

        def scan(_i: int) -> tuple[str, str, dict[str, str], bytes]:
            gate, text = scans[rnd.randrange(len(scans))]
            body = {"gate": gate, "qr": text, "temperature": 36.4}
            return "POST", "/api/v1/access/scan", headers, json.dumps(body).encode()

        closed = run_load("127.0.0.1", port, scan, clients=args.clients, seconds=seconds)
        steady = run_load(
            "127.0.0.1", port, scan, clients=args.clients * 2, seconds=seconds, rate=args.rate
        )
        logged = GateEvent.objects.count()
        verdicts = dict(GateEvent.objects.values_list("verdict").annotate(n=Count("id")).order_by())

        # Offline upload: through the service, then over HTTP, then the raw COPY reference.
        batches = 4 if args.quick else 10
        rows = upload_rows(scans, BATCH * (2 * batches + 2), seed=1)
        gate_pks = dict(Area.objects.filter(kind="gate").values_list("code", "pk"))
        t0 = time.perf_counter()
        accepted = 0
        for b in range(batches):
            accepted += uploads.upload_events(SYSTEM, rows[b * BATCH : (b + 1) * BATCH]).accepted
        service_rate = accepted / (time.perf_counter() - t0)
        again = uploads.upload_events(SYSTEM, rows[:BATCH])  # a replayed batch
        bodies = [
            json.dumps({"events": rows[(batches + b) * BATCH : (batches + b + 1) * BATCH]}).encode()
            for b in range(batches)
        ]
        http_rate = _http_upload_rate(port, headers, bodies)
        copy_rate = raw_copy_rate(rows[2 * batches * BATCH :], gate_pks)
        connections.close_all()
    finally:
        if proc is not None:
            stop(proc)
        cleanup()
    non_200 = sum(n for s, n in closed.statuses.items() if s != 200)
    print(
        f"setup {setup_s:.0f}s ({len(scans):,} passes). Online scans, closed loop "
        f"{args.clients} clients: {closed.rate:,.0f}/s, p50 {closed.p50:.1f} ms, p99 "
        f"{closed.percentile(99):.1f} ms, statuses {dict(closed.statuses)}; open loop at "
        f"{args.rate:,.0f}/s from {args.clients * 2} connections: {steady.rate:,.0f}/s answered, "
        f"p50 {steady.p50:.1f} ms, p99 {steady.percentile(99):.1f} ms, statuses "
        f"{dict(steady.statuses)}; {logged:,} events logged {verdicts}; pgbench one-row "
        f"inserts {reference:,.0f}/s. Offline upload of {BATCH:,}-event batches: service "
        f"{service_rate:,.0f} events/s, HTTP {http_rate:,.0f} events/s, replayed batch "
        f"{again.accepted} accepted / {again.duplicates} duplicates; raw COPY "
        f"{copy_rate:,.0f} rows/s",
        file=sys.stderr,
    )
    if closed.errors:
        print("errors:", closed.errors[:3], file=sys.stderr)
    out = {
        "bench": "gate_scan",
        "value": round(closed.rate, 1),
        "unit": "scans/s",
        "reference": round(reference, 1),
        "reference_name": f"pgbench one-row INSERT, {args.clients} clients",
        "ratio": round(closed.rate / reference, 3),
        "p50_ms": round(closed.p50, 1),
        "p99_ms": round(closed.percentile(99), 1),
        "non_200": non_200,
        "open_loop_rate": args.rate,
        "open_loop_answered_per_s": round(steady.rate, 1),
        "open_loop_p50_ms": round(steady.p50, 1),
        "open_loop_p99_ms": round(steady.percentile(99), 1),
        "upload_service_per_s": round(service_rate, 1),
        "upload_http_per_s": round(http_rate, 1),
        "raw_copy_per_s": round(copy_rate, 1),
        "upload_ratio": round(service_rate / copy_rate, 3),
        "upload_http_ratio": round(http_rate / copy_rate, 3),
        "replay_accepted": again.accepted,
        "target": ">= 1,000 scans/s with p99 < 50 ms; upload >= 50,000 events/s and >= 0.5 of COPY",
        "command": "bench/gate_scan.py" + (" --quick" if args.quick else ""),
    }
    from report import save

    save(out)
    print(json.dumps(out))


def _http_upload_rate(port: int, headers: dict[str, str], bodies: list[bytes]) -> float:
    """Events/s of POST /api/v1/access/events, one batch after another on one connection."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    total = 0
    t0 = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/api/v1/access/events", body=body, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"upload answered {response.status}: {payload}")
        total += payload["accepted"]
    elapsed = time.perf_counter() - t0
    conn.close()
    return total / elapsed


if __name__ == "__main__":
    main()
