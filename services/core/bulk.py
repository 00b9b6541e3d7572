"""Many rows in one short statement: arrays as parameters (PostgreSQL's ``unnest``).

A multi-row ``VALUES`` list makes the SQL text grow with the rows, so neither psycopg (which caches
the conversion of short statements) nor PostgreSQL (prepared statements) can reuse it, and the
ORM compiles it afresh each time. ``INSERT … SELECT * FROM unnest(%s::type[], …)`` and
``UPDATE … FROM unnest(…)`` keep one text per model and column set, whatever the number of rows:
the worker records a batch of 64 results for about the price of one. Other databases (SQLite, the
embedded default) get the ORM's own statements.
"""

from collections.abc import Sequence

from django.db import connection, models


def _array_type(field: models.Field) -> str:
    return f"{field.db_type(connection)}[]"


def insert_rows(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """INSERT ``objs`` (their ``fields``, which must include everything without a database default)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) "  # noqa: S608
           f"SELECT * FROM unnest({', '.join(f'CAST(%s AS {_array_type(f)})' for f in columns)})")
    params = [[f.get_db_prep_save(f.pre_save(obj, add=True), connection) for obj in objs] for f in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def update_rows(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str],
                where: str = "", where_params: Sequence = ()) -> set:
    """UPDATE each of ``objs`` (by primary key) to its own ``fields`` values, only where the extra
    condition ``where`` (SQL on the table, with ``where_params``) holds; returns the primary keys of
    the rows it changed. PostgreSQL only (callers keep an ORM path for the others)."""
    if not objs:
        return set()
    meta = model._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    names = ", ".join(quote(f.column) for f in columns)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    condition = f" AND ({where})" if where else ""
    sql = (f"UPDATE {table} SET {sets} "  # noqa: S608 - names from the model, values as parameters
           f"FROM unnest({', '.join(f'CAST(%s AS {_array_type(f)})' for f in columns)}) AS v({names}) "
           f"WHERE {table}.{pk} = v.{pk}{condition} RETURNING {table}.{pk}")
    params = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs] for f in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *where_params])
        return {row[0] for row in cursor.fetchall()}
