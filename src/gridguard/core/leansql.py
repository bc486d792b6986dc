"""One-row reads and writes for the hot device paths, without the ORM's per-call SQL compiling.

Building a query through the ORM costs about half a millisecond of CPU per call (compiling
joins, ordering and column lists); on two cores shared with PostgreSQL that, not the
database, limited a checkpoint's registrations and a gate's scans. These helpers write the SQL
text once per model, from the model's own metadata, and build ordinary model instances from
the row, so callers still hold real models. Use them only on paths measured in `bench/`; the
ORM stays the way to read and write everywhere else.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def _qn(name: Any) -> str:
    return str(connection.ops.quote_name(str(name)))


def _one_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Run one hot-path statement and return its row (None if it returned none).

    On PostgreSQL the statement goes through a server-side binding cursor, prepared once per
    connection: parsing and planning a gate look-up's join took 0.3 of its 0.5 ms in the
    database. Django's own cursors bind on the client and are never prepared, so this is the
    only place prepared statements are used (`prepare_threshold` in settings; None turns
    them off, as a transaction-pooling PgBouncer needs)."""
    with connection.cursor() as wrapper:  # Django's: the connection, and its query log
        if connection.vendor != "postgresql":
            wrapper.execute(sql, params)
            return wrapper.fetchone()
        import psycopg

        started = time.monotonic()
        with connection.wrap_database_errors:  # IntegrityError as Django raises it
            server = psycopg.Cursor(wrapper.cursor.connection)
            server.execute(sql, params, prepare=True)
            row = server.fetchone() if server.description is not None else None
        if connection.queries_logged:
            elapsed = time.monotonic() - started
            connection.queries_log.append({"sql": sql, "time": f"{elapsed:.3f}"})
        return row


@cache
def _insert_sql(
    model: type[models.Model], vendor: str, unique: str | None = None
) -> tuple[str, tuple[Any, ...]]:
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField | models.BigAutoField))
    )
    columns = ", ".join(_qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = _qn(model._meta.pk.column)
    conflict = ""
    if unique is not None:
        column = model._meta.get_field(unique).column  # type: ignore[union-attr]
        conflict = f" ON CONFLICT ({_qn(column)}) DO NOTHING"
    sql = (
        f"INSERT INTO {_qn(model._meta.db_table)} ({columns}) VALUES ({marks})"
        f"{conflict} RETURNING {pk}"
    )
    return sql, fields


def insert(instance: models.Model, *, unless_exists: str | None = None) -> bool:
    """INSERT `instance` as one statement and set its primary key (no signals are sent).

    Field defaults and conversions are those of `save()`: each field's `pre_save` and
    `get_db_prep_save`. Raises IntegrityError like `save()` on a broken constraint, except
    that with `unless_exists="<unique field>"` a row already holding that field's value is
    left alone and False is returned (the instance keeps no primary key): the idempotent
    write of a device that retries.
    """
    sql, fields = _insert_sql(type(instance), connection.vendor, unless_exists)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    row = _one_row(sql, values)
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


@cache
def _together_sql(
    first: type[models.Model], second: type[models.Model], unless_exists: str
) -> tuple[str, tuple[Any, ...], tuple[Any, ...]]:
    one, f1 = _insert_sql(first, "postgresql", unless_exists)
    two, f2 = _insert_sql(second, "postgresql")
    sql = f"WITH a AS ({one}), b AS ({two}) SELECT (SELECT * FROM a), (SELECT * FROM b)"
    return sql, f1, f2


def insert_together(first: models.Model, second: models.Model, *, unless_exists: str) -> bool:
    """`insert(first, unless_exists=…)` and `insert(second)` in one statement on PostgreSQL
    (one round trip, one commit: a gate's event and its audit row); two on other databases.
    `second` is written whether or not `first` already existed. Returns whether `first` was
    written."""
    if connection.vendor != "postgresql":
        written = insert(first, unless_exists=unless_exists)
        insert(second)
        return written
    sql, f1, f2 = _together_sql(type(first), type(second), unless_exists)
    values = [f.get_db_prep_save(f.pre_save(first, True), connection) for f in f1]
    values += [f.get_db_prep_save(f.pre_save(second, True), connection) for f in f2]
    row = _one_row(sql, values)
    assert row is not None  # the statement always returns its one row of two ids
    for instance, pk in ((first, row[0]), (second, row[1])):
        if pk is not None:
            instance.pk = pk
            instance._state.adding = False
            instance._state.db = connection.alias
    return row[0] is not None


def _converters(model: type[models.Model]) -> list[tuple[int, list[Any], Any]]:
    """Per column, the backend's and the field's converters (SQLite datetimes, JSON, …)."""
    out = []
    for i, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        funcs = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if funcs:
            out.append((i, funcs, col))
    return out


@cache
def _select_sql(
    model: type[models.Model], related: tuple[str, ...], keys: tuple[str, ...], vendor: str
) -> tuple[Any, ...]:
    own = [f.attname for f in model._meta.concrete_fields]
    cols = [f"t.{_qn(f.column)}" for f in model._meta.concrete_fields]
    # What each column is, in `log_from`'s terms ("pk", "area.path"), to copy it into a log row.
    sources = [("pk" if f.primary_key else f.attname) for f in model._meta.concrete_fields]
    joins, parts = [], []
    for i, name in enumerate(related):
        rel: Any = model._meta.get_field(name)
        other: Any = rel.related_model
        alias = f"r{i}"
        if rel.concrete:  # a foreign key of ours: the row it points to
            kind = "LEFT JOIN" if rel.null else "JOIN"
            on = f"{alias}.{_qn(rel.target_field.column)} = t.{_qn(rel.column)}"
        else:  # a one-to-one pointing at us (a person's health code): there may be none
            kind = "LEFT JOIN"
            on = f"{alias}.{_qn(rel.field.column)} = t.{_qn(rel.field.target_field.column)}"
        joins.append(f"{kind} {_qn(other._meta.db_table)} {alias} ON {on}")
        cols += [f"{alias}.{_qn(f.column)}" for f in other._meta.concrete_fields]
        sources += [f"{name}.{f.attname}" for f in other._meta.concrete_fields]
        names = [f.attname for f in other._meta.concrete_fields]
        parts.append((rel, other, names, _converters(other)))
    where = " AND ".join(
        f"t.{_qn(getattr(model._meta.get_field(k), 'column', k))} = %s" for k in keys
    )
    # Columns named c0, c1, …: the statement that also writes a log row reads them by name.
    sql = (
        f"SELECT {', '.join(f'{c} AS c{i}' for i, c in enumerate(cols))} "
        f"FROM {_qn(model._meta.db_table)} t {' '.join(joins)} WHERE {where}"
    )
    return sql, own, _converters(model), parts, tuple(sources)


def _apply(values: list[Any], converters: list[tuple[int, list[Any], Any]]) -> list[Any]:
    for i, funcs, col in converters:
        for func in funcs:
            values[i] = func(values[i], col, connection)
    return values


def _source(instance: models.Model, source: str) -> str:
    """The value `source` ("pk" or "<relation>.<field>") names in a row read, as text."""
    value: Any = instance
    for part in source.split("."):
        value = getattr(value, part)
    return str(value)


@cache
def _logged_sql(
    select: str, columns: int, log_model: type[models.Model], log_from: tuple[tuple[str, int], ...]
) -> tuple[str, tuple[Any, ...]]:
    """The read and the log row's INSERT as one statement (PostgreSQL): the INSERT takes the
    named fields from the row read (column c<i>), so it writes nothing when nothing is found.
    Returns the SQL and the log fields still to be given as parameters."""
    _sql, fields = _insert_sql(log_model, "postgresql")
    taken = dict(log_from)
    values = ", ".join(
        f"CAST(p.c{taken[f.name]} AS text)" if f.name in taken else "%s" for f in fields
    )
    pk = _qn(log_model._meta.pk.column)
    out = ", ".join(f"p.c{i}" for i in range(columns))
    sql = (
        f"WITH p AS ({select}), w AS (INSERT INTO {_qn(log_model._meta.db_table)} "
        f"({', '.join(_qn(f.column) for f in fields)}) SELECT {values} FROM p RETURNING {pk}) "
        f"SELECT {out}, w.{pk} FROM p CROSS JOIN w"
    )
    return sql, tuple(f for f in fields if f.name not in taken)


def get_with_related(
    model: type[M],
    related: str | tuple[str, ...],
    *,
    log: models.Model | None = None,
    log_from: dict[str, str] | None = None,
    **where: Any,
) -> M | None:
    """The row of `model` matching `where` (equality on unique columns), with the rows of its
    `related` foreign keys, and of one-to-ones pointing at it, loaded as `select_related`
    would (a missing one-to-one reads as absent); None if there is none.

    With `log` (an unsaved row, such as an audit inbox row), that row is inserted when the
    read finds something, its text fields named in `log_from` taken from the row read
    ({"object_id": "pk", "area_path": "area.path"}): on PostgreSQL in the same statement, so a
    gate's audited read costs one round trip."""
    names = (related,) if isinstance(related, str) else related
    sql, own, own_conv, parts, columns = _select_sql(model, names, tuple(where), connection.vendor)
    params = list(where.values())
    combined = log is not None and connection.vendor == "postgresql"
    if combined:
        assert log is not None and log_from is not None
        taken = tuple((field, columns.index(src)) for field, src in log_from.items())
        sql, rest = _logged_sql(sql, len(columns), type(log), taken)
        params += [f.get_db_prep_save(f.pre_save(log, True), connection) for f in rest]
    row = _one_row(sql, params)
    if row is None:
        return None
    instance = model.from_db(connection.alias, own, _apply(list(row[: len(own)]), own_conv))
    at = len(own)
    for rel, other, theirs, their_conv in parts:
        values = list(row[at : at + len(theirs)])
        at += len(theirs)
        pk_at = theirs.index(other._meta.pk.attname)
        found = None
        if values[pk_at] is not None:
            found = other.from_db(connection.alias, theirs, _apply(values, their_conv))
        rel.set_cached_value(instance, found)
    if log is not None:
        for field, source in (log_from or {}).items():
            setattr(log, field, _source(instance, source))
        if combined:
            log.pk = row[-1]
            log._state.adding = False
            log._state.db = connection.alias
        else:
            insert(log)
    return instance
