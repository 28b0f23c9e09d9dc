"""Rows the database refuses, written apart from the rest, so that one bad row never holds back
every row after it.

The writers (``recorder``, ``shadow``) write a batch in one transaction and try a failed batch
again until the database takes it: right while the database is down, but a batch the database
refuses for its rows fails the same way every time, and the writer's queue stopped behind it for
good. Such a refusal is PEP 249's ``DataError`` (a value a column cannot hold) or
``IntegrityError`` (a key the table holds already, a house a retention prune deleted before the
challenger's price of it was written), from the driver (PostgreSQL's ``COPY`` runs on it) or in
SQLAlchemy's wrapper; or a row that cannot be built at all (the log of a price of 0).

Then each group (a request's rows) is written in a transaction of its own, a key already held
skipped: the rows of a write whose commit went through but whose answer was lost, tried again.
A group still refused is written a row at a time, each refused row left out and counted.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Engine, String, Table, bindparam, cast, insert
from sqlalchemy.dialects import postgresql, sqlite

logger = logging.getLogger(__name__)

#: A row, built when it is written (building one can fail too).
RowMaker = Callable[[], tuple[Any, ...]]

#: PEP 249's names of the errors that blame the rows, not the database.
_REFUSING = frozenset({"DataError", "IntegrityError"})
#: What building a row raises for a value it cannot take.
_UNBUILDABLE = (ArithmeticError, ValueError, TypeError)


def refused_rows(error: BaseException) -> bool:
    """Whether ``error`` says the rows written are at fault (see the module), so that trying
    them again the same way cannot help."""
    if isinstance(error, _UNBUILDABLE):
        return True
    return any(kind.__name__ in _REFUSING for kind in type(error).__mro__)


#: The JSON documents, which the rows carry as text (bound as strings).
DOCUMENTS = frozenset({"house", "warned_fields"})


def bound_values(table: Table, dialect: str) -> dict[str, ColumnElement[Any]]:
    """A parameter for each of ``table``'s columns, by name; the documents bound as text, and
    cast to their column's type on PostgreSQL (which takes no text for ``json`` unless told;
    SQLite keeps the text as it is, and would make a number of it if cast)."""
    values: dict[str, ColumnElement[Any]] = {}
    for column in table.columns:
        if column.name not in DOCUMENTS:
            values[column.name] = bindparam(column.name)
        elif dialect == "postgresql":
            values[column.name] = cast(bindparam(column.name, type_=String()), column.type)
        else:
            values[column.name] = bindparam(column.name, type_=String())
    return values


class Refused(NamedTuple):
    """What the database refused of a request's rows."""

    rows: int
    #: The kind of the first refusal (``DataError``, ``IntegrityError``, ``ValueError``...);
    #: empty when nothing was refused.
    kind: str = ""


def write_apart(
    engine: Engine,
    requests: Sequence[tuple[str, Sequence[RowMaker]]],
    table: Table,
    *,
    what: str,
) -> list[Refused]:
    """Write each request's rows of ``table`` (its id, and a maker per row) in a transaction of
    its own, a row at a time where the request's are refused; what was refused of each, and
    left out. A request with a refusal is logged: ``what`` (the writer and its rows), the
    request's id and the refusal's kind, no value of a row. An error that does not blame the
    rows (the database is down) is raised: the caller tries again later, and the rows written
    meanwhile are then skipped as keys already held."""
    refused: list[Refused] = []
    for request_id, makers in requests:
        built: list[tuple[Any, ...]] = []
        left_out, kind = 0, ""
        for make in makers:  # each row built once: one that cannot be is left out at once
            try:
                built.append(make())
            except _UNBUILDABLE as error:
                left_out, kind = left_out + 1, kind or type(error).__name__
        try:
            with engine.begin() as connection:
                insert_new(connection, built, table)
        except Exception as error:
            if not refused_rows(error):
                raise
            for row in built:
                try:
                    with engine.begin() as connection:
                        insert_new(connection, [row], table)
                except Exception as row_error:
                    if not refused_rows(row_error):
                        raise
                    left_out, kind = left_out + 1, kind or type(row_error).__name__
        if left_out:
            logger.error(
                "%s: the database refused %d of the houses of request %s (%s)",
                what,
                left_out,
                request_id,
                kind,
            )
        refused.append(Refused(left_out, kind))
    return refused


def insert_new(connection: Connection, rows: list[tuple[Any, ...]], table: Table) -> None:
    """Insert ``rows`` (``table``'s columns in order) but those whose key ``table`` holds
    already (``ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite)."""
    if not rows:
        return
    columns = [column.name for column in table.columns]
    statement = _insert_new_statement(table, connection.dialect.name)
    connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])


@functools.cache
def _insert_new_statement(table: Table, dialect: str) -> Any:
    """``insert_new``'s statement for ``table`` on ``dialect``: made once."""
    values = bound_values(table, dialect)
    key = list(table.primary_key.columns)
    if dialect == "postgresql":
        return postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
    if dialect == "sqlite":
        return sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
    return insert(table).values(values)  # no portable way to skip a held key: such a row is refused
