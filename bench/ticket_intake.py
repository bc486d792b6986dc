"""Benchmark: ticket intake (check, classify, place, merge, write) against 1,000,000 past tickets.

Builds a throwaway database (PostgreSQL `gridguard_bench_intake` on the server named by
DATABASE_URL, else a temporary SQLite file) holding the Shanghai-scale demo territory (16
districts, 215 streets, 6,000+ residents' committees, 13,000+ named compounds with their road
addresses; a quarter of it with `--quick`), an office of every taxonomy department (committees
at their committee, city operations at every street, the others at every district), and a
history of 1,000,000 tickets (100,000 with `--quick`) as intake would have left it: the tickets,
their cases (1 to 8 tickets each, 1.6 on average), the cases' CaseKey blocking keys and the
history steps (received, merged, dispatched, answered, closed). The history is spread evenly
over 63 days, so the 7-day merge window (settings.TICKET_MERGE_WINDOW_DAYS) holds 1/9 of it;
most cases of the window are still open, most older ones closed.

Texts are the corpus examples (data/tickets/corpus/), whose places are replaced by places of
the territory in the form each example uses: a compound (with or without its district and
street in front), a road and number (a compound's address), a venue (the corpus's anonymised
"某超市" gets another name), a district and street only, or no place at all (the text alone).
Each text is spliced from three examples of one subclass (`Corpus.compose`), so that a million
tickets made of 2,200 examples are not near-copies of each other. The cases the merge window
can reach are classified and keyed exactly as intake does it (the model, `matching.Report.of`,
the report's block keys); older cases get their place field's keys (`Keys.cheap`).

Then it times `intake.receive_many` as a hotline operator of the whole city on new tickets:
20,000 in batches of 200, then 20,000 in batches of 1,000 (5,000 each with `--quick`; each run
stops after `--max-seconds`). 30 % of them repeat an open case of the window at its place
(reworded: another example of the same subclass; a placeless case gets a forwarded copy of its
text), the rest are new clues. The reference, measured in the same run, is the classifier alone
(`classifier.current().predict_many`) on the same texts in the same batch sizes: ratio = intake
rate / classifier rate. Also reported: how many new tickets were merged, the share of the time
spent in SQL and in the classifier, the texts classified per new ticket (intake re-classifies
the open cases' latest reports), the largest blocks of the window, and a cProfile of one more
batch (of 1,000, or of 200 when a batch of 1,000 takes over 20 s; top 25 by cumulative time,
then by own time) on stderr. The notify log (replies to late joiners) is silenced.

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridguard .venv/bin/python
bench/ticket_intake.py` (PostgreSQL), or `.venv/bin/python bench/ticket_intake.py --quick`
(SQLite, 100,000 past tickets). The last line is the JSON result, also written to
bench/results/ticket_intake.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import json
import logging
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _db import throwaway_database  # noqa: E402

BENCH_DB = "gridguard_bench_intake"
HISTORY_DAYS = 63  # even spread: the 7-day window holds 1/9 of the history
REPEAT_SHARE = 0.30
CHUNK_CASES = 25_000  # cases generated and written at a time
# Tickets per case in the history: most clues are reported once, a few by many.
TICKETS_PER_CASE = (1, 2, 3, 4, 5, 8)
TICKETS_WEIGHTS = (0.68, 0.17, 0.08, 0.04, 0.02, 0.01)
# City, district, street or town in front of a place (what is left is the place itself).
_ADMIN_PREFIX = re.compile(
    r"^(?:上海市)?(?:[\u4e00-\u9fa5]{1,3}新?区)?(?:[\u4e00-\u9fa5]{2,5}(?:街道|镇))?"
)


# --- the territory -------------------------------------------------------------------------


@dataclass(frozen=True)
class Compound:
    pk: int
    name: str
    address: str
    street: str
    district: str


@dataclass
class Territory:
    city: Any
    compounds: list[Compound]
    streets: list[tuple[str, str]]  # (district name, street name)
    paths: dict[int, str]
    areas: int


def build_territory(quick: bool) -> Territory:
    """The Shanghai demo territory (a quarter of it when quick), loaded with the bulk loader."""
    from gridguard.core.scoping import SYSTEM
    from gridguard.demo.plan import plan_territory
    from gridguard.demo.presets import PRESETS
    from gridguard.territory import bulk
    from gridguard.territory.models import Area

    scale = PRESETS["shanghai"]
    if quick:
        scale = replace(scale, districts=4, streets=54)
    bulk.bulk_load_areas(plan_territory(scale, random.Random(2020)), actor=SYSTEM)
    rows = list(Area.objects.values_list("id", "parent_id", "kind", "name", "path", "address"))
    by_id = {r[0]: r for r in rows}
    compounds, streets = [], []
    for pk, parent, kind, name, _path, address in rows:
        if kind == "compound":
            street = by_id[by_id[parent][1]]  # compound -> committee -> street
            district = by_id[street[1]]
            compounds.append(Compound(pk, name, address, street[3], district[3]))
        elif kind == "street":
            streets.append((by_id[parent][3], name))
    city = Area.objects.get(parent__isnull=True)
    return Territory(city, compounds, streets, {r[0]: r[4] for r in rows}, len(rows))


def add_departments() -> int:
    """Every taxonomy department: committees at each committee, city operations at each street
    (and the city), the other departments at each district."""
    from gridguard.territory.models import Area
    from gridguard.tickets import taxonomy
    from gridguard.tickets.models import Department

    labels = json.loads(taxonomy.PATH.read_text(encoding="utf-8"))["departments"]
    rows: list[Department] = []
    for area in Area.objects.filter(kind__in=["city", "district", "street", "committee"]):
        if area.kind == "committee":
            kinds = ["committee"]
        elif area.kind in ("street", "city"):
            kinds = ["street_ops"]
        else:
            kinds = [k for k in labels if k not in ("committee", "street_ops")] + ["street_ops"]
        for kind in kinds:
            rows.append(Department(kind=kind, area=area, name=f"{area.name}{labels[kind]}"[:100]))
    Department.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- the corpus and places ------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A corpus example with what its place looks like and how the classifier reads it."""

    text: str
    subclass: str
    channel: str
    tail: str  # the place without city, district and street
    shape: str  # compound, road, anon, venue, other, admin or none
    suffix: str  # a venue's kind (超市, 道口 …), for venues given other names
    prediction: Any


class Corpus:
    """The corpus examples, and texts made of them that no other ticket has word for word."""

    def __init__(self, model: Any) -> None:
        from gridguard.tickets import places
        from gridguard.tickets.classifier import DATA_DIR, read_jsonl

        raw = [r for p in sorted((DATA_DIR / "corpus").glob("S*.jsonl")) for r in read_jsonl(p)]
        raw = [r for r in raw if str(r.get("text") or "").strip()]
        predictions = model.predict_many([str(r["text"]) for r in raw])
        self.examples: list[Example] = []
        for r, prediction in zip(raw, predictions, strict=True):
            place = str(r.get("place") or "")
            tail = _ADMIN_PREFIX.sub("", place, count=1)
            keys = places.keys(place)
            venues = [k[2:] for k in keys if k.startswith("v:")]
            suffix = venues[0][2:] if venues else ""
            if not place:
                shape = "none"
            elif not tail:
                shape = "admin"
            elif "某" in tail:
                shape = "anon"
            elif any(k.startswith("r:") for k in keys):
                shape = "road"
            elif any(k.startswith("c:") for k in keys):
                shape = "compound"
            elif suffix:
                shape = "venue"
            else:
                shape = "other"
            self.examples.append(
                Example(
                    str(r["text"]),
                    str(r["subclass"]),
                    str(r.get("channel") or "12345"),
                    tail,
                    shape,
                    suffix,
                    prediction,
                )
            )
        self.by_subclass: dict[str, list[int]] = {}
        self.placed: dict[str, list[int]] = {}  # the examples naming a specific place
        for i, ex in enumerate(self.examples):
            self.by_subclass.setdefault(ex.subclass, []).append(i)
            if ex.shape not in ("none", "admin", "other"):
                self.placed.setdefault(ex.subclass, []).append(i)

    def compose(self, i: int, rnd: random.Random) -> str:
        """Example i's first ~45 % (where it names its place), then the middle and the end of
        two other examples of its subclass: the same kind of report in a wording of its own.
        With 2,200 examples for a million tickets, whole examples would make every placeless
        ticket a near-copy of dozens of open cases (and merge with them)."""
        pool = self.by_subclass[self.examples[i].subclass]
        a = self.examples[i].text
        b = self.examples[rnd.choice(pool)].text
        c = self.examples[rnd.choice(pool)].text
        cut, mid = rnd.uniform(0.4, 0.5), rnd.uniform(0.7, 0.8)
        text = (
            a[: round(len(a) * cut)]
            + b[round(len(b) * cut) : round(len(b) * mid)]
            + c[round(len(c) * mid) :]
        )
        return text if len(text) >= 8 else f"{a}，{b}"


@dataclass(frozen=True)
class Spot:
    """Where a clue is: the place as reporters name it, and what they may put in front."""

    tail: str
    prefixes: tuple[str, ...]

    def render(self, rnd: random.Random) -> str:
        return rnd.choice(self.prefixes) + self.tail


def spot_for(ex: Example, territory: Territory, rnd: random.Random) -> Spot:
    """A place of the territory in the form the example names its place."""
    from gridguard.demo import names

    if ex.shape == "none":
        return Spot("", ("",))
    if ex.shape in ("compound", "road"):
        c = rnd.choice(territory.compounds)
        prefixes = ("", c.district, c.district + c.street)
        if ex.shape == "compound":
            return Spot(c.name, prefixes)
        return Spot(c.address + (c.name if rnd.random() < 0.3 else ""), prefixes)
    district, street = rnd.choice(territory.streets)
    if ex.shape == "admin":
        return Spot("", (district + street,))
    if ex.shape == "anon":  # the corpus's 某菜场 gets a name
        tail = ex.tail.replace("某", names.word(rnd), 1)
    elif ex.shape == "venue":  # another venue of its kind (another market, another crossing)
        tail = names.word(rnd) + ex.suffix
    else:
        tail = ex.tail
    return Spot(tail, ("", district, district + street))


def text_for(ex: Example, spot: Spot, text: str) -> str:
    """`text` (made from the example) naming the spot where the example named its place."""
    if len(ex.tail) >= 2 and spot.tail and ex.tail in text:
        return text.replace(ex.tail, spot.tail)
    return text


class Keys:
    """Blocking keys of a ticket as intake computes them: `matching.Report.of`, then the
    report's `block_keys()` (or intake's `_block_keys` where the report has none). That costs
    100-200 us a ticket, so it is done for the tickets of the merge window, the only keys a
    new ticket can find; older cases get their place field's keys (plus the subclass when it
    names no specific place), the same kind and number of rows."""

    def __init__(self) -> None:
        from gridguard.tickets import matching, places
        from gridguard.tickets.services import intake

        self.places, self.matching = places, matching
        self.block = getattr(intake, "_block_keys", None) or _block_keys
        self.by_place: dict[str, list[str]] = {}

    def exact(self, text: str, place: str, prediction: Any) -> list[str]:
        report = self.matching.Report.of(text, place, prediction)
        method = getattr(report, "block_keys", None)
        return list(method() if callable(method) else self.block(report))

    def cheap(self, place: str, prediction: Any) -> list[str]:
        keys = self.by_place.get(place)
        if keys is None:
            keys = self.by_place[place] = self.places.keys(place)
        return keys if self.places.strong(keys) else [*keys, f"s:{prediction.subclass}"]


def _block_keys(report: Any) -> list[str]:
    """intake._block_keys as it was when this bench was written (if it is gone)."""
    from gridguard.tickets import places

    keys: list[str] = report.place_keys
    return keys if places.strong(keys) else [*keys, f"s:{report.prediction.subclass}"]


# --- writing rows fast -----------------------------------------------------------------------


class Table:
    """Writes tuples (in `columns` order; other columns get their field default) with COPY
    on PostgreSQL, executemany on SQLite."""

    def __init__(self, vendor: str, model: Any, columns: tuple[str, ...]) -> None:
        from django.db import connection, models

        fields = {f.column: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in fields]
        assert not unknown, f"{model.__name__} has no column {unknown}"
        extra = [c for c in fields if c not in columns and not fields[c].primary_key]
        self.vendor, self.table = vendor, model._meta.db_table
        self.columns = (*columns, *extra)
        defaults = []
        for c in extra:
            value = fields[c].get_default()
            defaults.append(json.dumps(value) if isinstance(value, dict | list) else value)
        self.extra = tuple(defaults)
        ops = connection.ops
        self.convert: list[Any] = []
        for c in self.columns:
            f = fields[c]
            if isinstance(f, models.DateTimeField):
                self.convert.append(ops.adapt_datetimefield_value)
            elif isinstance(f, models.BooleanField):
                self.convert.append(lambda v: None if v is None else int(v))
            else:
                self.convert.append(None)
        self.rows = 0

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        from django.db import connection

        self.rows += len(rows)
        extra = self.extra
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
                with cur.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row + extra)
                return
            conv = list(enumerate(self.convert))
            plain = []
            for row in rows:
                full = row + extra
                plain.append(
                    tuple(v if f is None else f(v) for (_i, f), v in zip(conv, full, strict=True))
                )
            marks = ", ".join("?" * len(self.columns))
            cur.cursor.executemany(
                f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})", plain
            )


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
    "replied_at",
    "replied_by",
    "reply",
    "closed_at",
    "ticket_count",
    "area_id",
)
TICKET_COLUMNS = (
    "id",
    "number",
    "channel",
    "channel_ref",
    "received_at",
    "text",
    "place_text",
    "place_matched",
    "reporter_phone",
    "subclass",
    "confidence",
    "classified_by",
    "case_id",
    "merge_score",
    "notified_at",
    "created_at",
    "area_id",
)
EVENT_COLUMNS = ("case_id", "ticket_id", "kind", "at", "actor", "detail", "area_id")
KEY_COLUMNS = ("case_id", "key", "last_at")


# --- the history ----------------------------------------------------------------------------


@dataclass
class OpenCase:
    """An open case of the merge window, for the new tickets that repeat it."""

    pk: int
    spot: Spot
    example: int
    text: str


@dataclass
class Planned:
    """One past case before it is written: its place and its tickets (time, example, text,
    place field), and where it stands."""

    pk: int
    spot: Spot
    tickets: list[tuple[dt.datetime, int, str, str]]
    status: str
    exact: bool
    predictions: list[Any]


@dataclass
class History:
    tickets: int = 0
    cases: int = 0
    events: int = 0
    keys: int = 0
    window_tickets: int = 0
    window_cases: int = 0
    open_in_window: list[OpenCase] = field(default_factory=list)
    window_keys: Counter[str] = field(default_factory=Counter)
    placeless_share: float = 0.0
    seconds: float = 0.0


def plan_case(
    pk: int,
    n: int,
    corpus: Corpus,
    territory: Territory,
    rnd: random.Random,
    now: dt.datetime,
    exact_since: dt.datetime,
) -> Planned:
    """A past case of n tickets: one clue at one place, reported again in other words."""
    examples = corpus.examples
    first_i = rnd.randrange(len(examples))
    first = examples[first_i]
    spot = spot_for(first, territory, rnd)
    span = dt.timedelta(days=HISTORY_DAYS).total_seconds()
    opened = now - dt.timedelta(seconds=rnd.uniform(600, span))
    times = sorted(
        min(now - dt.timedelta(seconds=60), opened + dt.timedelta(hours=rnd.uniform(0, 72)))
        for _ in range(n - 1)
    )
    text = text_for(first, spot, corpus.compose(first_i, rnd))
    tickets = [(opened, first_i, text, spot.render(rnd))]
    placeless = not spot.tail
    for at in times:
        if placeless or rnd.random() < 0.2:  # a forwarded copy (the only way a tip without
            tickets.append((at, first_i, text, spot.render(rnd)))  # a place joins)
        else:
            i = rnd.choice(corpus.placed.get(first.subclass) or corpus.by_subclass[first.subclass])
            again = text_for(examples[i], spot, corpus.compose(i, rnd))
            tickets.append((at, i, again, spot.render(rnd)))
    last = tickets[-1][0]
    # Where it stands: most cases of the window are open, most older ones closed.
    age = (now - last).total_seconds() / 86400
    r = rnd.random()
    if age > 7:
        status = "closed" if r < 0.9 else "answered" if r < 0.96 else "dispatched"
    elif age > 2:
        status = "closed" if r < 0.3 else "answered" if r < 0.6 else "dispatched"
        status = "triage" if r > 0.95 else status
    else:
        status = "closed" if r < 0.05 else "answered" if r < 0.15 else "dispatched"
        status = "triage" if r > 0.75 else status
    return Planned(pk, spot, tickets, status, last >= exact_since, [])


def load_history(
    vendor: str,
    n_tickets: int,
    territory: Territory,
    corpus: Corpus,
    model: Any,
    now: dt.datetime,
) -> History:
    """Generate and write `n_tickets` past tickets with their cases, keys and history steps.

    Tickets of the cases the merge window can reach are classified and keyed exactly as intake
    does it (the model, `Report.of`, the report's block keys); older ones take their example's
    classification and their place field's keys (`Keys.cheap`), which only fill the tables
    and indexes to their size."""
    from django.conf import settings
    from django.db import DatabaseError, connection, transaction

    from gridguard.territory.address_match import place_address
    from gridguard.tickets.models import Case, CaseKey, Ticket, TicketEvent
    from gridguard.tickets.services import routing

    t0 = time.perf_counter()
    rnd = random.Random(20200214)
    keys_of = Keys()
    cases_t = Table(vendor, Case, CASE_COLUMNS)
    tickets_t = Table(vendor, Ticket, TICKET_COLUMNS)
    events_t = Table(vendor, TicketEvent, EVENT_COLUMNS)
    keys_t = Table(vendor, CaseKey, KEY_COLUMNS)
    directory = routing.Directory()
    nearest: dict[tuple[str, int], Any] = {}
    placed: dict[str, tuple[int, bool]] = {}
    city = territory.city
    window = dt.timedelta(days=settings.TICKET_MERGE_WINDOW_DAYS)
    still_open = now - window + dt.timedelta(days=1)  # still in the window when intake runs
    exact_since = now - window - dt.timedelta(days=1)  # what a new ticket's window can reach
    h = History()
    placeless = 0

    def place_of(place: str) -> tuple[int, bool]:
        """Where intake would put a ticket with this place field (cached)."""
        found = placed.get(place)
        if found is None:
            pk, matched = city.pk, False
            if place.strip():
                pk, matched, _ = place_address(place, within=city)
                matched = matched or pk != city.pk
            found = placed[place] = (pk if matched else city.pk, matched)
        return found

    def department(kind: str, area_pk: int) -> Any:
        k = (kind, area_pk)
        if k not in nearest:
            nearest[k] = directory.nearest(kind, territory.paths[area_pk])
        return nearest[k]

    if vendor == "postgresql":
        # The rows are generated consistent: skip the per-row foreign-key triggers (not a
        # superuser: they run, and loading is slower).
        with connection.cursor() as cur, contextlib.suppress(DatabaseError):
            cur.execute("SET session_replication_role = replica")
    ticket_id = 0
    while h.tickets < n_tickets:
        chunk: list[Planned] = []
        while h.tickets < n_tickets and len(chunk) < CHUNK_CASES:
            n = min(rnd.choices(TICKETS_PER_CASE, TICKETS_WEIGHTS)[0], n_tickets - h.tickets)
            chunk.append(plan_case(h.cases + 1, n, corpus, territory, rnd, now, exact_since))
            h.cases += 1
            h.tickets += n
        texts = [t[2] for c in chunk if c.exact for t in c.tickets]
        predictions = iter(model.predict_many(texts))
        for c in chunk:
            c.predictions = [
                next(predictions) if c.exact else corpus.examples[t[1]].prediction
                for t in c.tickets
            ]
        rows: dict[str, list[tuple[Any, ...]]] = {"c": [], "t": [], "e": [], "k": []}
        for c in chunk:
            ticket_id, keys = emit(
                c, ticket_id, rows, rnd, now, corpus, place_of, department, keys_of
            )
            last = c.tickets[-1][0]
            placeless += sum(not t[3] for t in c.tickets)
            if last >= now - window:
                h.window_tickets += len(c.tickets)
                h.window_cases += 1
            if c.status != "closed" and last >= still_open:
                h.open_in_window.append(OpenCase(c.pk, c.spot, c.tickets[0][1], c.tickets[0][2]))
                h.window_keys.update(keys)
        with transaction.atomic():
            cases_t.write(rows["c"])
            tickets_t.write(rows["t"])
            events_t.write(rows["e"])
            keys_t.write(rows["k"])
    h.events, h.keys = events_t.rows, keys_t.rows
    h.placeless_share = placeless / max(1, h.tickets)
    with connection.cursor() as cur:
        if vendor == "postgresql":
            cur.execute("SET session_replication_role = DEFAULT")
            for table in (Case._meta.db_table, Ticket._meta.db_table):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            for model_ in (Case, Ticket, TicketEvent, CaseKey):
                cur.execute(f"VACUUM ANALYZE {model_._meta.db_table}")
            cur.execute("VACUUM ANALYZE territory_area")
        else:
            cur.execute("ANALYZE")
    h.seconds = time.perf_counter() - t0
    return h


def emit(
    c: Planned,
    ticket_id: int,
    rows: dict[str, list[tuple[Any, ...]]],
    rnd: random.Random,
    now: dt.datetime,
    corpus: Corpus,
    place_of: Any,
    department: Any,
    keys_of: Keys,
) -> tuple[int, set[str]]:
    """The rows of one planned case: the case, its tickets, their history steps, its keys.
    Returns the last ticket id used and the case's keys."""
    from gridguard.tickets import taxonomy
    from gridguard.tickets.services import routing

    sub = c.predictions[0].subclass
    opened, last = c.tickets[0][0], c.tickets[-1][0]
    first_place = c.tickets[0][3]
    area_pk, matched = place_of(first_place)
    status = c.status
    dept = None
    dispatched_at = due_at = replied_at = closed_at = None
    if status != "triage":
        info = taxonomy.subclass(sub)
        dept = department(info.department if info else routing.FALLBACK, area_pk)
        dispatched_at = opened + dt.timedelta(seconds=rnd.uniform(1, 600))
        due_at = routing.deadline(routing.urgency_of(sub), dispatched_at)
        if dept is None:
            status, dispatched_at, due_at = "triage", None, None
    if status in ("answered", "closed") and dispatched_at is not None:
        replied_at = min(now, dispatched_at + dt.timedelta(hours=rnd.uniform(1, 48)))
        if status == "closed":
            closed_at = min(now, replied_at + dt.timedelta(hours=rnd.uniform(1, 72)))
    number = f"C{c.pk:010d}"
    rows["c"].append(
        (
            c.pk,
            number,
            sub,
            routing.urgency_of(sub),
            status,
            first_place,
            matched,
            dept.pk if dept else None,
            opened,
            last,
            dispatched_at,
            due_at,
            replied_at,
            "bench" if replied_at else "",
            "已核实处理。" if replied_at else "",
            closed_at,
            len(c.tickets),
            area_pk,
        )
    )
    case_keys: set[str] = set()
    for k, ((at, ex_i, text, place), pred) in enumerate(zip(c.tickets, c.predictions, strict=True)):
        ticket_id += 1
        t_area, t_matched = place_of(place)
        if c.exact:
            case_keys.update(keys_of.exact(text, place, pred))
        else:
            case_keys.update(keys_of.cheap(place, pred))
        score = None if k == 0 else round(rnd.uniform(0.56, 0.95), 4)
        channel = corpus.examples[ex_i].channel
        confidence = round(pred.confidence, 4)
        rows["t"].append(
            (
                ticket_id,
                f"T{ticket_id:010d}",
                channel,
                f"H{ticket_id:09d}",
                at,
                text,
                place,
                t_matched,
                f"13{rnd.randrange(10)}{rnd.randrange(10**8):08d}",
                pred.subclass,
                confidence,
                "model",
                c.pk,
                score,
                replied_at,
                at,
                t_area if t_matched else area_pk,
            )
        )
        detail = {"channel": channel, "subclass": pred.subclass, "confidence": confidence}
        rows["e"].append((c.pk, ticket_id, "received", at, "hotline", json.dumps(detail), area_pk))
        if score is not None:
            detail = {"score": score, "case": number}
            rows["e"].append(
                (c.pk, ticket_id, "merged", at, "hotline", json.dumps(detail), area_pk)
            )
    if dept is not None and due_at is not None:
        detail = {"department": dept.name, "due_at": due_at.isoformat()}
        rows["e"].append(
            (c.pk, None, "dispatched", dispatched_at, "hotline", json.dumps(detail), area_pk)
        )
    for kind, when in (("answered", replied_at), ("closed", closed_at)):
        if when is not None:
            rows["e"].append((c.pk, None, kind, when, "bench", "{}", area_pk))
    for key in case_keys:
        rows["k"].append((c.pk, key[:80], last))
    return ticket_id, case_keys


# --- new tickets ----------------------------------------------------------------------------


def new_tickets(
    n: int,
    start: int,
    h: History,
    territory: Territory,
    corpus: Corpus,
    rnd: random.Random,
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[bool]]:
    """n rows as a hotline connector sends them, and which of them repeat an open case."""
    assert h.open_in_window
    examples = corpus.examples
    rows, repeats = [], []
    for k in range(n):
        repeat = rnd.random() < REPEAT_SHARE
        if repeat:
            case = rnd.choice(h.open_in_window)
            first = examples[case.example]
            spot = case.spot
            if not spot.tail or rnd.random() < 0.2:
                ex_i, text = case.example, case.text  # a forwarded copy
            else:
                ex_i = rnd.choice(
                    corpus.placed.get(first.subclass) or corpus.by_subclass[first.subclass]
                )
                text = text_for(examples[ex_i], spot, corpus.compose(ex_i, rnd))
        else:
            ex_i = rnd.randrange(len(examples))
            spot = spot_for(examples[ex_i], territory, rnd)
            text = text_for(examples[ex_i], spot, corpus.compose(ex_i, rnd))
        at = now - dt.timedelta(seconds=rnd.uniform(0, 1800))
        rows.append(
            {
                "channel": examples[ex_i].channel,
                "channel_ref": f"N{start + k:09d}",
                "received_at": at.isoformat(),
                "text": text,
                "place": spot.render(rnd),
                "reporter_phone": f"13{rnd.randrange(10)}{rnd.randrange(10**8):08d}",
            }
        )
        repeats.append(repeat)
    return rows, repeats


class SqlClock:
    """Counts the queries run and the seconds spent in them (connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.seconds += time.perf_counter() - t0


class ClassifierClock:
    """Counts the texts the intake classifies and the seconds it takes (wraps the model)."""

    def __init__(self, model: Any) -> None:
        self.model, self.texts, self.seconds = model, 0, 0.0
        self.original = model.predict_many

    def __enter__(self) -> ClassifierClock:
        def counted(texts: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return self.original(texts)
            finally:
                self.texts += len(texts)
                self.seconds += time.perf_counter() - t0

        self.model.predict_many = counted
        return self

    def __exit__(self, *exc: object) -> None:
        del self.model.predict_many


def take_in(
    actor: Any, city: Any, rows: list[dict[str, Any]], batch: int, max_s: float, model: Any
) -> dict[str, Any]:
    """receive_many over `rows` in batches (stopping after max_s): counts and times."""
    from django.db import connection

    from gridguard.tickets.services.intake import receive_many

    sql = SqlClock()
    lat: list[float] = []
    outcomes: list[Any] = []
    t0 = time.perf_counter()
    with connection.execute_wrapper(sql), ClassifierClock(model) as cls:
        for i in range(0, len(rows), batch):
            b0 = time.perf_counter()
            outcomes += receive_many(
                actor, rows[i : i + batch], fallback_area=city, permission="tickets.intake"
            )
            lat.append((time.perf_counter() - b0) * 1000)
            if time.perf_counter() - t0 > max_s:
                break
    elapsed = time.perf_counter() - t0
    errors = [o for o in outcomes if o.errors]
    assert not errors, errors[0].errors
    return {
        "n": len(outcomes),
        "seconds": elapsed,
        "rate": len(outcomes) / elapsed,
        "merged": [o.ticket.merge_score is not None for o in outcomes],
        "sql_s": sql.seconds,
        "queries": sql.queries,
        "classified": cls.texts,
        "classify_s": cls.seconds,
        "batches": len(lat),
        "batch_p50_ms": statistics.median(lat),
        "batch_max_ms": max(lat),
    }


def classify_rate(model: Any, texts: list[str], batch: int) -> float:
    """Texts/s of the classifier alone on `texts` in batches of `batch` (best of two)."""
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            model.predict_many(texts[i : i + batch])
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 past tickets, SQLite-sized")
    parser.add_argument("--history", type=int, default=None, help="past tickets")
    parser.add_argument("--tickets", type=int, default=None, help="new tickets per batch size")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="per batch size")
    args = parser.parse_args()
    n_history = args.history or (100_000 if args.quick else 1_000_000)
    n_new = args.tickets or (5_000 if args.quick else 20_000)

    vendor, cleanup = throwaway_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    # The replies sent to late joiners go to the log backend's console: keep the output readable.
    logging.getLogger("gridguard.notify").setLevel(logging.WARNING)
    try:
        result = run(vendor, args.quick, n_history, n_new, args.max_seconds)
    finally:
        from django.db import connections

        connections.close_all()
        cleanup()
    result["command"] = "bench/ticket_intake.py" + (" --quick" if args.quick else "")
    from report import save

    save(result)
    print(json.dumps(result))


def run(vendor: str, quick: bool, n_history: int, n_new: int, max_s: float) -> dict[str, Any]:
    """Build the data, time intake and the classifier alone, profile one batch."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from gridguard.accounts.models import RoleBinding, User
    from gridguard.core import clock
    from gridguard.tickets import classifier
    from gridguard.tickets.services.intake import receive_many

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    territory = build_territory(quick)
    departments = add_departments()
    model = classifier.current()
    corpus = Corpus(model)
    now = clock.now()
    h = load_history(vendor, n_history, territory, corpus, model, now)
    build_s = time.perf_counter() - t0
    shapes = Counter(e.shape for e in corpus.examples)
    print(
        f"built {territory.areas:,} areas ({len(territory.compounds):,} compounds), "
        f"{departments:,} departments, {h.tickets:,} tickets in {h.cases:,} cases, "
        f"{h.events:,} events, {h.keys:,} case keys in {build_s:.0f}s (history {h.seconds:.0f}s); "
        f"window: {h.window_tickets:,} tickets, {h.window_cases:,} cases, "
        f"{len(h.open_in_window):,} open; placeless tickets {h.placeless_share:.0%}; "
        f"example places {dict(shapes)}",
        file=sys.stderr,
    )
    print(
        "largest blocks of the window (key: open cases): "
        + ", ".join(f"{k} {n}" for k, n in h.window_keys.most_common(12)),
        file=sys.stderr,
    )

    user = User.objects.create(username="bench_hotline", password=make_password(None))
    RoleBinding.objects.create(user=user, role="hotline_operator", area=territory.city)
    city = territory.city
    rnd = random.Random(7)
    start = 0

    def fresh(n: int) -> tuple[list[dict[str, Any]], list[bool]]:
        nonlocal start
        rows, repeats = new_tickets(n, start, h, territory, corpus, rnd, clock.now())
        start += n
        return rows, repeats

    warm, _ = fresh(50)
    receive_many(user, warm, fallback_area=city, permission="tickets.intake")

    runs: dict[int, dict[str, Any]] = {}
    for batch in (200, 1000):
        rows, repeats = fresh(n_new)
        got = take_in(user, city, rows, batch, max_s, model)
        texts = [r["text"] for r in rows[: got["n"]]]
        got["classify_rate"] = classify_rate(model, texts, batch)
        merged = got.pop("merged")
        got["merged"] = sum(merged)
        got["repeats"] = sum(repeats[: got["n"]])
        got["repeats_merged"] = sum(m for m, r in zip(merged, repeats, strict=False) if r)
        got["fresh_merged"] = got["merged"] - got["repeats_merged"]
        runs[batch] = got
        print(
            f"batch {batch}: {got['n']:,} tickets in {got['seconds']:.1f}s = "
            f"{got['rate']:,.0f}/s (classifier alone {got['classify_rate']:,.0f}/s); "
            f"merged {got['merged']:,} ({got['repeats_merged']:,} of {got['repeats']:,} "
            f"repeats, {got['fresh_merged']:,} new clues); SQL {got['sql_s']:.1f}s in "
            f"{got['queries']:,} queries; classifier {got['classify_s']:.1f}s on "
            f"{got['classified']:,} texts; batch p50 {got['batch_p50_ms']:.0f} ms",
            file=sys.stderr,
        )

    # One more batch under the profiler (of 200 when a batch of 1,000 takes over 20 s: the
    # profiler doubles the time, and the hot spots are the same).
    size = 1000 if runs[1000]["batch_p50_ms"] < 20_000 else 200
    rows, _ = fresh(size)
    profile = cProfile.Profile()
    profile.enable()
    receive_many(user, rows, fallback_area=city, permission="tickets.intake")
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)
    print(f"profile of one batch of {size:,}:\n" + out.getvalue(), file=sys.stderr)

    big, small = runs[1000], runs[200]
    return {
        "bench": "ticket_intake",
        "value": round(big["rate"], 1),
        "unit": "tickets/s taken in (batches of 1,000)",
        "reference": round(big["classify_rate"], 1),
        "reference_name": "classifier alone (predict_many), same texts and batches",
        "ratio": round(big["rate"] / big["classify_rate"], 4),
        "intake_200_per_s": round(small["rate"], 1),
        "classify_200_per_s": round(small["classify_rate"], 1),
        "ratio_200": round(small["rate"] / small["classify_rate"], 4),
        "history_tickets": h.tickets,
        "history_cases": h.cases,
        "history_events": h.events,
        "history_case_keys": h.keys,
        "window_tickets": h.window_tickets,
        "window_open_cases": len(h.open_in_window),
        "placeless_share": round(h.placeless_share, 3),
        "largest_blocks": dict(h.window_keys.most_common(5)),
        "build_s": round(build_s, 1),
        "new_tickets": big["n"] + small["n"],
        "repeats": big["repeats"] + small["repeats"],
        "merged": big["merged"] + small["merged"],
        "repeats_merged": big["repeats_merged"] + small["repeats_merged"],
        "new_clues_merged": big["fresh_merged"] + small["fresh_merged"],
        "sql_share": round((big["sql_s"]) / big["seconds"], 3),
        "classifier_share": round(big["classify_s"] / big["seconds"], 3),
        "texts_classified_per_ticket": round(big["classified"] / big["n"], 2),
        "queries_per_batch_1000": round(big["queries"] / big["batches"], 1),
        "batch_1000_p50_ms": round(big["batch_p50_ms"], 1),
        "batch_200_p50_ms": round(small["batch_p50_ms"], 1),
        "target": ">= 1,000 tickets/s in one process against 1,000,000 past tickets",
    }


if __name__ == "__main__":
    main()
