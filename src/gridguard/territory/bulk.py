"""Bulk loading of the territory tree: tens of thousands of areas in one transaction.

`bulk_load_areas(rows)` takes plain rows (code, name, kind, parent code, …) in tree order,
checks every row before writing anything, computes `path` and `depth` in memory, reserves the
primary keys itself (so children can point at parents without reading them back) and writes
with PostgreSQL `COPY … FROM STDIN` or, on SQLite, `bulk_create`. One audit row summarises the
whole load: a row per area would double the load's cost and say nothing more.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted
from gridguard.core.scoping import SYSTEM, covers
from gridguard.territory.kinds import code_problem_field
from gridguard.territory.models import Area

# Columns written, in COPY order; `prepare()` yields tuples in this order.
COLUMNS = (
    "id",
    "code",
    "name",
    "kind",
    "parent_id",
    "path",
    "depth",
    "address",
    "latitude",
    "longitude",
    "boundary",
    "households",
    "population",
    "active",
    "created_at",
    "updated_at",
)
_CHUNK = 5000  # codes per IN (...) lookup: well under SQLite's bound-variable limit
MAX_ERRORS = 200  # a broken file gets a useful list, not a 70,000-line one


@dataclass(slots=True)
class AreaRow:
    """One area to load. `parent_code` names a row earlier in the batch or an existing area."""

    code: str
    name: str
    kind: str
    parent_code: str | None = None
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    households: int | None = None
    population: int | None = None
    boundary: dict[str, Any] | None = None


@dataclass
class Prepared:
    """Rows checked and ready to write: tuples in COLUMNS order, and code -> id."""

    tuples: list[tuple[Any, ...]]
    ids: dict[str, int]
    by_kind: dict[str, int]
    root_paths: list[str]


def _existing(codes: Iterable[str]) -> dict[str, tuple[int, str, str, int]]:
    """code -> (id, kind, path, depth) for the given codes that exist already."""
    wanted = list(codes)
    found: dict[str, tuple[int, str, str, int]] = {}
    if not wanted:
        return found
    table = Area._meta.db_table
    if connection.vendor == "postgresql":
        # One array parameter instead of tens of thousands of placeholders.
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT code, id, kind, path, depth FROM {table} WHERE code = ANY(%s)",
                [wanted],
            )
            for code, pk, kind, path, depth in cur.fetchall():
                found[code] = (pk, kind, path, depth)
        return found
    for i in range(0, len(wanted), _CHUNK):
        for a in Area.objects.filter(code__in=wanted[i : i + _CHUNK]).values_list(
            "code", "id", "kind", "path", "depth"
        ):
            found[a[0]] = (a[1], a[2], a[3], a[4])
    return found


def _reserve_ids(n: int) -> list[int]:
    """n fresh primary keys for territory_area, taken from the table's own sequence."""
    if n == 0:
        return []
    table = Area._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Block other writers of the table until commit (their INSERTs take nextval under
            # ROW EXCLUSIVE), then move the sequence past a whole block in one step.
            cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cur.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                [table, table, n],
            )
            last = int(cur.fetchone()[0])
            return list(range(last - n + 1, last + 1))
        # SQLite: the transaction holds the write lock (IMMEDIATE), so max(id) is ours.
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        start = int(cur.fetchone()[0]) + 1
        return list(range(start, start + n))


def prepare(actor: Any, rows: Sequence[AreaRow]) -> Prepared:
    """Check every row and compute ids, paths and depths; raise InvalidInput listing the bad
    rows (line = 1-based position in `rows`) before anything is written."""
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    outside = {r.parent_code for r in rows if r.parent_code} - {r.code for r in rows}
    parents_in_db = _existing(outside)
    clashes = _existing(r.code for r in rows)
    # code -> (kind, path, depth) for every possible parent
    known: dict[str, tuple[str, str, int]] = {
        c: (v[1], v[2], v[3]) for c, v in parents_in_db.items()
    }
    plan: list[tuple[AreaRow, str, int]] = []
    for line, r in enumerate(rows, start=1):
        if len(errors) >= MAX_ERRORS:
            break
        parent = known.get(r.parent_code) if r.parent_code else None
        if r.parent_code and parent is None:
            errors.append(
                FieldError(
                    "parent_code",
                    "unknown_parent",
                    _("Parent “%(code)s” is neither an existing area nor an earlier row.")
                    % {"code": r.parent_code},
                    line=line,
                )
            )
            continue
        field, problem = code_problem_field(
            r.kind, r.code, parent[0] if parent else None, r.parent_code
        )
        if problem:
            errors.append(FieldError(field, "invalid", problem, line=line))
            continue
        if not r.name.strip():
            errors.append(FieldError("name", "required", _("A name is required."), line=line))
        if r.code in seen or r.code in clashes:
            errors.append(
                FieldError(
                    "code",
                    "duplicate",
                    _("Code %(code)s exists already.") % {"code": r.code},
                    line=line,
                )
            )
            continue
        seen[r.code] = line
        path = (parent[1] if parent else "/") + r.code + "/"
        depth = parent[2] + 1 if parent else 0
        known[r.code] = (r.kind, path, depth)
        plan.append((r, path, depth))
    if errors:
        raise InvalidInput(errors)
    roots = sorted(
        {parents_in_db[c][2] for c in outside} | {p for r, p, _d in plan if not r.parent_code}
    )
    for root in roots:
        allowed = actor.can_at("territory.import", root) if covers(actor, root) else False
        if not allowed:
            raise NotPermitted()
    ids = dict(zip([r.code for r, _p, _d in plan], _reserve_ids(len(plan)), strict=True))
    id_of = {c: v[0] for c, v in parents_in_db.items()} | ids
    now = clock.now()
    tuples = [
        (
            ids[r.code],
            r.code,
            r.name.strip(),
            r.kind,
            id_of[r.parent_code] if r.parent_code else None,
            path,
            depth,
            r.address,
            r.latitude,
            r.longitude,
            r.boundary,
            r.households,
            r.population,
            True,
            now,
            now,
        )
        for r, path, depth in plan
    ]
    return Prepared(tuples, ids, dict(Counter(r.kind for r, _p, _d in plan)), roots)


def copy_tuples(cursor: Any, table: str, tuples: Iterable[tuple[Any, ...]]) -> None:
    """PostgreSQL: stream tuples (COLUMNS order) into `table` with COPY FROM STDIN.

    `cursor` is a psycopg 3 cursor; JSON goes as text, which PostgreSQL parses into jsonb.
    """
    boundary = COLUMNS.index("boundary")
    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for t in tuples:
            if t[boundary] is not None:
                t = (*t[:boundary], json.dumps(t[boundary]), *t[boundary + 1 :])
            copy.write_row(t)


def _write(prepared: Prepared) -> None:
    from gridguard.territory.address_match import forget_index

    forget_index()  # bulk writes send no post_save
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            copy_tuples(cur.cursor, Area._meta.db_table, prepared.tuples)
        return
    objs = [Area(**dict(zip(COLUMNS, t, strict=True))) for t in prepared.tuples]
    # created_at/updated_at are auto fields: bulk_create fills them with the same instant.
    Area.objects.bulk_create(objs, batch_size=2000)


def bulk_load_areas(rows: Sequence[AreaRow], *, actor: Any = SYSTEM) -> dict[str, int]:
    """Load `rows` (parents before children) in one transaction; return code -> new id.

    Every row is checked first (kind under parent, code rules, duplicates, unknown parents);
    a bad row raises InvalidInput naming the field and line, and nothing is written. The actor
    needs `territory.import` over every subtree the rows hang from.
    """
    with transaction.atomic():
        prepared = prepare(actor, rows)
        _write(prepared)
        audit.record(
            actor,
            "territory.area.bulk_load",
            area_path=prepared.root_paths[0] if len(prepared.root_paths) == 1 else "/",
            object_type="territory.area",
            detail={
                "rows": len(prepared.tuples),
                "by_kind": prepared.by_kind,
                "roots": prepared.root_paths[:20],
            },
        )
    return prepared.ids
