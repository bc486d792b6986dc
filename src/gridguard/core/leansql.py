"""One-row reads and writes for the hot device paths, without the ORM's per-call SQL compiling.

Building a query through the ORM costs about half a millisecond of CPU per call (compiling
joins, ordering and column lists); on two cores shared with PostgreSQL that, not the
database, limited a checkpoint's registrations and a gate's scans. These helpers write the SQL
text once per model, from the model's own metadata, and build ordinary model instances from
the row, so callers still hold real models. Use them only on paths measured in `bench/`; the
ORM stays the way to read and write everywhere else.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def _qn(name: Any) -> str:
    return str(connection.ops.quote_name(str(name)))


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
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
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
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
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
def _select_sql(model: type[models.Model], related: str, key: str, vendor: str) -> tuple[Any, ...]:
    fk: Any = model._meta.get_field(related)
    other: Any = fk.related_model
    own = [f.attname for f in model._meta.concrete_fields]
    theirs = [f.attname for f in other._meta.concrete_fields]
    cols = [f"t.{_qn(f.column)}" for f in model._meta.concrete_fields]
    cols += [f"r.{_qn(f.column)}" for f in other._meta.concrete_fields]
    sql = (
        f"SELECT {', '.join(cols)} FROM {_qn(model._meta.db_table)} t "
        f"JOIN {_qn(other._meta.db_table)} r "
        f"ON r.{_qn(other._meta.pk.column)} = t.{_qn(fk.column)} "
        f"WHERE t.{_qn(getattr(model._meta.get_field(key), 'column', key))} = %s"
    )
    return sql, fk, own, theirs, other, _converters(model), _converters(other)


def _apply(values: list[Any], converters: list[tuple[int, list[Any], Any]]) -> list[Any]:
    for i, funcs, col in converters:
        for func in funcs:
            values[i] = func(values[i], col, connection)
    return values


def get_with_related(model: type[M], related: str, key: str, value: Any) -> M | None:
    """The row of `model` whose unique `key` is `value`, with its `related` foreign key's row
    loaded as `select_related` would; None if there is none."""
    sql, fk, own, theirs, other, own_conv, their_conv = _select_sql(
        model, related, key, connection.vendor
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    instance = model.from_db(connection.alias, own, _apply(list(row[: len(own)]), own_conv))
    related_row = _apply(list(row[len(own) :]), their_conv)
    fk.set_cached_value(instance, other.from_db(connection.alias, theirs, related_row))
    return instance
