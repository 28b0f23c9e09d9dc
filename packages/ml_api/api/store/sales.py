"""Sale prices posted back for priced houses: a batch written whole or not at all.

The spec checks each row's shape (a prediction id's form, a positive price, a date's form, no
other key, at most ``max_rows`` rows: 400). Here, the rules it cannot express (422): the date is
a real day, no id twice in the batch, every id names a priced house, none has a sale already.
Any fault refuses the batch, naming every bad row and field; nothing is written. A batch the
schema refuses is checked here too, on the fields it accepts, so that its 400 names these
faults beside its own (``sale_faults``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from api.problems import FieldError
from api.store.tables import predictions, sales

#: Ids asked about in one query (SQLite's limit on parameters is 32766; PostgreSQL's 65535).
_IDS_PER_QUERY = 1000


class SalesRefusedError(Exception):
    """The batch was refused; ``errors`` name every bad row and field. ``status`` is 422: each
    row matched the schema but breaks a rule it cannot express (as for houses)."""

    def __init__(self, errors: list[FieldError], status: int) -> None:
        super().__init__(f"{len(errors)} invalid fields")
        self.errors = errors
        self.status = status


#: Rows of a batch by their place in it: whole, or with only the fields the spec's schema
#: accepts (a rule is checked on a row that has its fields).
Rows = Mapping[int, Mapping[str, Any]]


def _malformed(rows: Rows) -> list[FieldError]:
    errors: list[FieldError] = []
    first_row: dict[str, int] = {}
    # A day ahead of the server's: the seller's day may be ahead of UTC's.
    latest = datetime.now(UTC).date() + timedelta(days=1)
    for row, sale in rows.items():
        if "sold_on" in sale:
            errors.extend(_wrong_day(row, sale["sold_on"], latest))
        if "prediction_id" in sale:
            earlier = first_row.setdefault(sale["prediction_id"], row)
            if earlier != row:
                errors.append(FieldError(row, "prediction_id", f"is in row {earlier} too"))
    return errors


def _wrong_day(row: int, sold_on: str, latest: date) -> list[FieldError]:
    try:
        day = date.fromisoformat(sold_on)
    except ValueError:
        return [FieldError(row, "sold_on", f"{sold_on!r} is not a date")]
    if day > latest:
        return [FieldError(row, "sold_on", f"{sold_on!r} is in the future")]
    return []


def _known_and_sold(connection: Connection, ids: Sequence[str]) -> tuple[set[str], set[str]]:
    """Which of ``ids`` name a priced house, and which have a sale price already."""
    known: set[str] = set()
    sold: set[str] = set()
    for start in range(0, len(ids), _IDS_PER_QUERY):
        part = ids[start : start + _IDS_PER_QUERY]
        known.update(connection.scalars(select(predictions.c.id).where(predictions.c.id.in_(part))))
        sold.update(
            connection.scalars(select(sales.c.prediction_id).where(sales.c.prediction_id.in_(part)))
        )
    return known, sold


def _unwritable(connection: Connection, rows: Rows) -> list[FieldError]:
    """The rows whose id names no priced house, or one with a sale price already."""
    ids = {row: sale["prediction_id"] for row, sale in rows.items() if "prediction_id" in sale}
    known, sold = _known_and_sold(connection, list(ids.values()))
    return [
        FieldError(row, "prediction_id", "names no priced house")
        if sale_id not in known
        else _sold_already(row)
        for row, sale_id in ids.items()
        if sale_id not in known or sale_id in sold
    ]


def _faults(connection: Connection, rows: Rows) -> list[FieldError]:
    """Every fault of every row, the ids' with the others': a client fixing what a refusal
    names must not meet a second refusal for what was wrong all along."""
    return sorted(_malformed(rows) + _unwritable(connection, rows))


def sale_faults(engine: Engine, rows: Rows) -> list[FieldError]:
    """The faults ``write_sales`` would refuse ``rows`` for (the fields the schema accepts, of
    a batch it refuses), to be named beside the schema's."""
    if not any(rows.values()):
        return []
    with engine.connect() as connection:
        return _faults(connection, rows)


def _sold_already(row: int) -> FieldError:
    return FieldError(row, "prediction_id", "has a sale price already")


def sold_meanwhile(engine: Engine, rows: Sequence[dict[str, Any]]) -> list[FieldError]:
    """After a batch lost a race to another that wrote one of its sales: its rows whose id has
    a sale price now, each named."""
    ids = [sale["prediction_id"] for sale in rows]
    with engine.connect() as connection:
        _, sold = _known_and_sold(connection, ids)
    return [_sold_already(row) for row, sale_id in enumerate(ids) if sale_id in sold]


def write_sales(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Write the batch in one transaction; the sales written (all of them).

    Raises
    ------
    SalesRefusedError
        If a date is not a real day or is in the future, an id is in the batch twice, or names
        no priced house or one already sold (422): every fault of every row, so the ids are
        looked up for a batch refused for its dates too (with the store down: its error).
    """
    received = datetime.now(UTC)
    with engine.begin() as connection:
        errors = _faults(connection, dict(enumerate(rows)))
        if errors:
            raise SalesRefusedError(errors, 422)
        connection.execute(
            insert(sales),
            [
                {
                    "prediction_id": sale["prediction_id"],
                    "sale_price": float(sale["sale_price"]),
                    "log_sale_price": math.log(sale["sale_price"]),
                    "sold_on": date.fromisoformat(sale["sold_on"]),
                    "received_at": received,
                }
                for sale in rows
            ],
        )
    return len(rows)
