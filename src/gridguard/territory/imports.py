"""Territory import (T1): a CSV or XLSX file of areas, and GeoJSON boundaries.

Every row is checked and every problem collected (with its line: the header is line 1, the
first data row line 2) before anything is written; one bad row and nothing is written. Rows may
come in any order: parents are created before their children. New areas go in with
`bulk_create`, level by level, and the import leaves one audit row, not one per area.

Reading the file and checking each row alone live in `import_table.py`; GeoJSON boundaries in
`import_geojson.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted
from gridguard.core.scoping import covers
from gridguard.territory.address_match import forget_index
from gridguard.territory.import_geojson import import_boundaries
from gridguard.territory.import_table import (
    COLUMNS,
    OPTIONAL,
    REQUIRED,
    ParsedRow,
    common_path,
    parse_rows,
    read_table,
)
from gridguard.territory.kinds import ALLOWED_PARENTS, AreaKind, code_problem_field
from gridguard.territory.models import Area

__all__ = [
    "COLUMNS",
    "OPTIONAL",
    "REQUIRED",
    "ImportResult",
    "import_boundaries",
    "import_territory",
]

BATCH = 1000
# SQLite builds before 3.32 allow 999 variables per statement; stay under that in lookups.
LOOKUP_CHUNK = 900
PATH_MAX = Area._meta.get_field("path").max_length or 400
UPDATABLE = ("name", *OPTIONAL)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: areas created and updated, and from which file."""

    created: int
    updated: int
    filename: str = ""

    @property
    def count(self) -> int:
        return self.created + self.updated


@dataclass
class _Known:
    """An area already in the database (only the fields the checks need)."""

    pk: int
    code: str
    kind: str
    path: str
    depth: int
    parent_code: str


@dataclass
class _Plan:
    rows: list[ParsedRow]
    by_code: dict[str, ParsedRow]
    known: dict[str, _Known]
    columns: tuple[str, ...]
    errors: list[FieldError] = field(default_factory=list)
    updates: set[str] = field(default_factory=set)  # codes of rows that update existing areas

    def error(self, line: int, name: str | None, code: str, message: str) -> None:
        self.errors.append(FieldError(name, code, message, line=line))


def _known_areas(codes: Iterable[str]) -> dict[str, _Known]:
    """The areas in the database among `codes` (all of them, in scope or not)."""
    wanted = sorted({c for c in codes if c})
    found: dict[str, _Known] = {}
    for i in range(0, len(wanted), LOOKUP_CHUNK):
        rows = Area.objects.filter(code__in=wanted[i : i + LOOKUP_CHUNK]).values_list(
            "pk", "code", "kind", "path", "depth"
        )
        for pk, code, kind, path, depth in rows:
            codes_ = [c for c in path.split("/") if c]
            parent = codes_[-2] if len(codes_) > 1 else ""
            found[code] = _Known(pk, code, kind, path, depth, parent)
    return found


def import_territory(
    actor: Any, data: bytes, *, filename: str = "", update: bool = False
) -> ImportResult:
    """Import areas from a CSV or XLSX file; all of it or, on any problem, none of it.

    `update=True` lets rows name areas that exist already: their name and the optional columns
    present in the file are changed (never their kind or parent). Raises InvalidInput with one
    FieldError (with `line`) per problem.
    """
    if not actor.can("territory.import"):
        raise NotPermitted()
    header, table = read_table(data, filename)
    columns, rows, errors = parse_rows(header, table)
    if errors or not rows:
        raise InvalidInput(errors)
    plan = _check(actor, rows, columns, update=update)
    if plan.errors:
        raise InvalidInput(sorted(plan.errors, key=lambda e: (e.line or 0, e.field or "")))
    return _write(actor, plan, filename)


def _check(actor: Any, rows: list[ParsedRow], columns: tuple[str, ...], *, update: bool) -> _Plan:
    """Every check that needs more than one row, or the database."""
    codes = [r.code for r in rows if r.code]
    parents = [r.parent_code for r in rows if r.parent_code]
    plan = _Plan(rows=rows, by_code={}, known=_known_areas(codes + parents), columns=columns)
    for row in rows:
        if row.errors:
            plan.errors.extend(row.errors)
        if not row.code:
            continue
        first = plan.by_code.get(row.code)
        if first is not None:
            row.broken = True
            plan.error(
                row.line,
                "code",
                "duplicate",
                _("code “%(code)s” is also on line %(other)d (lines %(other)d and %(line)d)")
                % {"code": row.code, "other": first.line, "line": row.line},
            )
            continue
        plan.by_code[row.code] = row
    _check_existing(actor, plan, update=update)
    in_cycle = _check_cycles(plan)
    for row in plan.by_code.values():
        if row.code not in in_cycle and row.code not in plan.updates:
            _check_parent(actor, plan, row)
    return plan


def _check_existing(actor: Any, plan: _Plan, *, update: bool) -> None:
    """Codes already in the database: refused, or (with update) checked to be the same area."""
    for row in plan.by_code.values():
        old = plan.known.get(row.code)
        if old is None:
            continue
        if not update or not covers(actor, old.path):
            plan.error(
                row.line,
                "code",
                "exists",
                _("code “%(code)s” exists already") % {"code": row.code},
            )
            continue
        plan.updates.add(row.code)
        if row.kind and row.kind != old.kind:
            plan.error(
                row.line,
                "kind",
                "immutable",
                _("“%(code)s” is a %(old)s; an update cannot change its kind")
                % {"code": row.code, "old": old.kind},
            )
        if row.parent_code != old.parent_code:
            plan.error(
                row.line,
                "parent_code",
                "immutable",
                _("“%(code)s” sits under “%(old)s”; an update cannot move it")
                % {"code": row.code, "old": old.parent_code or "-"},
            )
        if not actor.can_at("territory.import", old.path):
            plan.error(row.line, "code", "not_permitted", _("Your role does not allow this here."))


def _check_cycles(plan: _Plan) -> set[str]:
    """Report parent references in the file that loop back; return the codes in loops.

    Done before the code-prefix checks so that the message says "cycle" rather than a
    confusing prefix problem.
    """
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
    in_cycle: set[str] = set()
    for start in plan.by_code:
        walk: list[str] = []
        code: str | None = start
        while code is not None and code in plan.by_code and state.get(code) is None:
            state[code] = 1
            walk.append(code)
            code = plan.by_code[code].parent_code or None
        if code is not None and state.get(code) == 1:
            loop = walk[walk.index(code) :]
            in_cycle.update(loop)
            members = [plan.by_code[c] for c in loop]
            first = min(members, key=lambda r: r.line)
            chain = " → ".join(f"{r.code} (line {r.line})" for r in members)
            plan.error(
                first.line,
                "parent_code",
                "cycle",
                _("parent references form a cycle: %(chain)s → %(code)s")
                % {"chain": chain, "code": members[0].code},
            )
        for c in walk:
            state[c] = 2
    return in_cycle


def _check_parent(actor: Any, plan: _Plan, row: ParsedRow) -> None:
    """The parent exists (in the file or the actor's territory) and may hold this kind."""
    if row.kind not in AreaKind.values:
        return  # already reported by the row checks
    parent_kind: str | None = None
    if row.parent_code:
        in_file = plan.by_code.get(row.parent_code)
        known = plan.known.get(row.parent_code)
        if in_file is not None:
            parent_kind = in_file.kind
            if parent_kind not in AreaKind.values:
                return  # the parent's own line carries the problem
        elif known is not None and covers(actor, known.path):
            parent_kind = known.kind
            if not actor.can_at("territory.import", known.path):
                plan.error(
                    row.line,
                    "parent_code",
                    "not_permitted",
                    _("Your role does not allow importing under “%(code)s”.")
                    % {"code": row.parent_code},
                )
        else:
            plan.error(
                row.line,
                "parent_code",
                "missing",
                _("parent “%(code)s” is neither in the file nor in your territory")
                % {"code": row.parent_code},
            )
            _check_code_alone(plan, row)
            return
    elif not actor.can_at("territory.import", "/"):
        plan.error(
            row.line,
            "parent_code",
            "not_permitted",
            _("Only an administrator of the whole city may import a top-level area."),
        )
    where, problem = code_problem_field(row.kind, row.code, parent_kind, row.parent_code or None)
    if problem:
        # A "kind" problem with a known kind means the parent cannot hold it.
        plan.error(row.line, "parent_code" if where == "kind" else where, "invalid", problem)


def _check_code_alone(plan: _Plan, row: ParsedRow) -> None:
    """Check the code's shape when its parent is unknown, assuming an allowed parent kind."""
    allowed = sorted(ALLOWED_PARENTS[row.kind])
    if not allowed:
        return
    where, problem = code_problem_field(row.kind, row.code, allowed[0], row.parent_code)
    if problem and where == "code":
        plan.error(row.line, "code", "invalid", problem)


def _paths(plan: _Plan) -> dict[str, tuple[str, int]]:
    """(path, depth) of every new row, parents first (no cycles remain at this point)."""
    out: dict[str, tuple[str, int]] = {}
    for start in plan.by_code:
        chain: list[str] = []
        code = start
        while code not in out and code in plan.by_code and code not in plan.updates:
            chain.append(code)
            code = plan.by_code[code].parent_code
        if code in out:
            base_path, base_depth = out[code]
        elif code in plan.known:
            base_path, base_depth = plan.known[code].path, plan.known[code].depth
        else:  # a top-level area: the walk ended on ""
            base_path, base_depth = "/", -1
        for c in reversed(chain):
            base_path, base_depth = f"{base_path}{c}/", base_depth + 1
            out[c] = (base_path, base_depth)
    return out


def _write(actor: Any, plan: _Plan, filename: str) -> ImportResult:
    paths = _paths(plan)
    too_long = [
        FieldError(
            "code",
            "too_deep",
            _("the path of “%(code)s” is longer than %(n)d characters")
            % {"code": c, "n": PATH_MAX},
            line=plan.by_code[c].line,
        )
        for c, (p, _d) in paths.items()
        if len(p) > PATH_MAX
    ]
    if too_long:
        raise InvalidInput(too_long)
    ids = {code: k.pk for code, k in plan.known.items()}
    levels: dict[int, list[str]] = {}
    for code, (_p, depth) in paths.items():
        levels.setdefault(depth, []).append(code)
    forget_index()  # bulk writes send no post_save: the address index must reload
    with transaction.atomic():
        for depth in sorted(levels):
            objs = [_new_area(plan.by_code[c], paths[c], ids, plan.columns) for c in levels[depth]]
            Area.objects.bulk_create(objs, batch_size=BATCH)
            _remember_ids(objs, ids)
        updated = _apply_updates(plan)
        common = common_path(
            [p for p, _d in paths.values()] + [plan.known[c].path for c in plan.updates]
        )
        audit.record(
            actor,
            "territory.import",
            area_path=common,
            object_type="territory.area",
            detail={
                "file": filename,
                "created": len(paths),
                "updated": updated,
                "count": len(paths) + updated,
            },
        )
    return ImportResult(created=len(paths), updated=updated, filename=filename)


def _new_area(
    row: ParsedRow, where: tuple[str, int], ids: dict[str, int], columns: tuple[str, ...]
) -> Area:
    path, depth = where
    extra = {k: v for k, v in row.values.items() if k in columns}
    return Area(
        code=row.code,
        name=row.name,
        kind=row.kind,
        parent_id=ids[row.parent_code] if row.parent_code else None,
        path=path,
        depth=depth,
        **extra,
    )


def _remember_ids(objs: list[Area], ids: dict[str, int]) -> None:
    """Note the new primary keys (fetched back where the backend does not return them)."""
    missing: list[str] = []
    for o in objs:
        if o.pk is None:
            missing.append(o.code)
        else:
            ids[o.code] = o.pk
    for i in range(0, len(missing), LOOKUP_CHUNK):
        ids.update(
            Area.objects.filter(code__in=missing[i : i + LOOKUP_CHUNK]).values_list("code", "pk")
        )


def _apply_updates(plan: _Plan) -> int:
    if not plan.updates:
        return 0
    fields = [f for f in UPDATABLE if f in plan.columns]
    objs = []
    now = clock.now()
    for code in plan.updates:
        row = plan.by_code[code]
        area = Area(pk=plan.known[code].pk, name=row.name, updated_at=now)
        for name in fields:
            if name != "name":
                setattr(area, name, row.values.get(name))
        objs.append(area)
    Area.objects.bulk_update(objs, [*fields, "updated_at"], batch_size=BATCH)
    forget_index()
    return len(objs)
