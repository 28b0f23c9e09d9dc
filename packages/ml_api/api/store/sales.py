"""Sale prices posted back for priced houses: a batch written whole or not at all.

The spec checks each row's shape (a prediction id's form, a positive price, a date's form, no
other key, at most ``max_rows`` rows: 400). Here, the rules it cannot express (422): the date is
a real day, not after tomorrow nor before its house was built, no id twice in the batch, every
id names a priced house, none has a sale already.
Any fault refuses the batch, naming every bad row and field; nothing is written. A batch the
schema refuses is checked here too, on the fields it accepts, so that its 400 names these
faults beside its own (``sale_faults``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gradient_boosting_model import SOLD_BEFORE_FINISHED
from sqlalchemy import Connection, Engine, insert, select

from api.problems import FieldError, quoted
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


#: A sale's id that names no house in the store. A house is written a moment after its answer
#: (the recorder's batches: ``recorder.LINGER_SECONDS``, longer while it retries a database
#: that failed), so a sale posted sooner meets this too, and may be posted again.
NO_PRICED_HOUSE = (
    "names no priced house (one priced a moment ago may not be recorded yet: post it again "
    "shortly; one priced while the store was unreachable for long may never be)"
)


def _days(rows: Rows) -> tuple[dict[int, date], list[FieldError]]:
    """Each row's day of sale, where it is a real one not after tomorrow; the others named."""
    days: dict[int, date] = {}
    errors: list[FieldError] = []
    # A day ahead of the server's: the seller's day may be ahead of UTC's.
    latest = datetime.now(UTC).date() + timedelta(days=1)
    for row, sale in rows.items():
        if "sold_on" not in sale:
            continue
        try:
            day = date.fromisoformat(sale["sold_on"])
        except ValueError:
            errors.append(FieldError(row, "sold_on", f"{quoted(sale['sold_on'])} is not a date"))
            continue
        if day > latest:
            errors.append(FieldError(row, "sold_on", f"{quoted(sale['sold_on'])} is in the future"))
        else:
            days[row] = day
    return days, errors


def _repeated(rows: Rows) -> list[FieldError]:
    first_row: dict[str, int] = {}
    errors: list[FieldError] = []
    for row, sale in rows.items():
        if "prediction_id" in sale:
            earlier = first_row.setdefault(sale["prediction_id"], row)
            if earlier != row:
                errors.append(FieldError(row, "prediction_id", f"is in row {earlier} too"))
    return errors


#: The house's year of construction, as its document holds it (JSON: a number, as the schema
#: has it, for every priced house; read as JSON, not cast in SQL, where a value of another
#: kind would fail PostgreSQL's cast and pass SQLite's as 0).
_YEAR_BUILT = predictions.c.house["YearBuilt"]


def _year(value: Any) -> float | None:
    """A year out of a document's value: a number (not a boolean), else ``None``."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None


def _parts(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    return (ids[start : start + _IDS_PER_QUERY] for start in range(0, len(ids), _IDS_PER_QUERY))


def _year_built(connection: Connection, ids: Sequence[str]) -> dict[str, float | None]:
    """Of ``ids``, those that name a priced house, with the year it was built (``None`` where
    its document has none, which no priced house lacks)."""
    known: dict[str, float | None] = {}
    for part in _parts(ids):
        query = select(predictions.c.id, _YEAR_BUILT).where(predictions.c.id.in_(part))
        known.update((sale_id, _year(built)) for sale_id, built in connection.execute(query))
    return known


def _sold(connection: Connection, ids: Sequence[str]) -> dict[str, tuple[float, date]]:
    """Of ``ids``, those that have a sale price already, with its price and day."""
    sold: dict[str, tuple[float, date]] = {}
    for part in _parts(ids):
        query = select(sales.c.prediction_id, sales.c.sale_price, sales.c.sold_on).where(
            sales.c.prediction_id.in_(part)
        )
        sold.update((sale_id, (price, day)) for sale_id, price, day in connection.execute(query))
    return sold


def _unwritable(connection: Connection, rows: Rows, days: Mapping[int, date]) -> list[FieldError]:
    """The rows whose id names no priced house, or one with a sale price already, or one built
    after the day of sale (more than a year after: the model's rule for ``YrSold``, which a
    house may be sold in before it is finished)."""
    ids = {row: sale["prediction_id"] for row, sale in rows.items() if "prediction_id" in sale}
    asked = list(ids.values())
    known, sold = _year_built(connection, asked), _sold(connection, asked)
    errors = []
    for row, sale_id in ids.items():
        if sale_id not in known:
            errors.append(FieldError(row, "prediction_id", NO_PRICED_HOUSE))
            continue
        if sale_id in sold:
            errors.append(_sold_already(row, rows[row], days.get(row), sold[sale_id]))
        built = known[sale_id]
        if built is not None and row in days and days[row].year + SOLD_BEFORE_FINISHED < built:
            errors.append(
                FieldError(
                    row,
                    "sold_on",
                    f"is more than a year before the house was built (YearBuilt {built:g})",
                )
            )
    return errors


def _faults(connection: Connection, rows: Rows) -> tuple[dict[int, date], list[FieldError]]:
    """Every fault of every row, the ids' with the others' (a client fixing what a refusal
    names must not meet a second refusal for what was wrong all along); and the days of sale
    read on the way, by row."""
    days, errors = _days(rows)
    return days, sorted(errors + _repeated(rows) + _unwritable(connection, rows, days))


def sale_faults(engine: Engine, rows: Rows) -> list[FieldError]:
    """The faults ``write_sales`` would refuse ``rows`` for (the fields the schema accepts, of
    a batch it refuses), to be named beside the schema's."""
    if not any(rows.values()):
        return []
    with engine.connect() as connection:
        return _faults(connection, rows)[1]


#: A sale posted again as it is stored: a client that retried a batch whose answer it lost
#: is told its sale is there (it could not tell that from another's sale of the house).
SOLD_AS_POSTED = "has this sale already, at this price and day: it was posted before"
SOLD_OTHERWISE = "has a sale price already, another than this one"


def _sold_already(
    row: int, sale: Mapping[str, Any], day: date | None, stored: tuple[float, date]
) -> FieldError:
    """``row``'s refusal for naming a house sold already: as posted, or otherwise."""
    same = day == stored[1] and sale.get("sale_price") == stored[0]
    return FieldError(row, "prediction_id", SOLD_AS_POSTED if same else SOLD_OTHERWISE)


def sold_meanwhile(engine: Engine, rows: Sequence[dict[str, Any]]) -> list[FieldError]:
    """After a batch lost a race to another that wrote one of its sales: its rows whose id has
    a sale price now, each named."""
    ids = [sale["prediction_id"] for sale in rows]
    with engine.connect() as connection:
        sold = _sold(connection, ids)
    return [
        _sold_already(row, rows[row], date.fromisoformat(rows[row]["sold_on"]), sold[sale_id])
        for row, sale_id in enumerate(ids)
        if sale_id in sold
    ]


def write_sales(engine: Engine, rows: Sequence[dict[str, Any]], *, reported_by: str) -> int:
    """Write the batch in one transaction, each sale as ``reported_by``'s (the name of the
    feedback token that posted it); the sales written (all of them).

    Raises
    ------
    SalesRefusedError
        If a date is not a real day, is in the future or is before its house was built, an id
        is in the batch twice, or names no priced house or one already sold (422): every
        fault of every row, so the ids are looked up for a batch refused for its dates too
        (with the store down: its error).
    """
    received = datetime.now(UTC)
    with engine.begin() as connection:
        days, errors = _faults(connection, dict(enumerate(rows)))
        if errors:
            raise SalesRefusedError(errors, 422)
        connection.execute(
            insert(sales),
            [
                {
                    "prediction_id": sale["prediction_id"],
                    "sale_price": float(sale["sale_price"]),
                    "log_sale_price": math.log(sale["sale_price"]),
                    "sold_on": days[row],
                    "received_at": received,
                    "reported_by": reported_by,
                }
                for row, sale in enumerate(rows)
            ],
        )
    return len(rows)
