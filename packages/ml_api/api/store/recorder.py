"""Every priced house written to the store, off the request path, none lost silently.

A request only appends a reference to its priced houses to the worker's queue (no copy, no
I/O); a writer thread takes them in batches of up to ``batch_houses`` and writes each batch in
one transaction (``write_rows``: COPY on PostgreSQL). A slow or stopped database never fails or
slows a prediction:

- a batch is written once ``batch_houses`` are queued, or ``LINGER_SECONDS`` after the last
  write, whichever comes first: one-house requests share a transaction (the writer does not
  write again at once what came in during a write, unless a whole batch did: under load that
  would be a transaction every few requests, and a writer that never pauses);
- houses wait in the queue, up to ``buffer_houses`` (a setting: its memory is bounded); a
  request whose houses do not fit is counted as unrecorded (``ml_api_unrecorded_houses_total``)
  and the outage is logged once, when it starts and when it ends;
- a failed batch stays at the head of the queue and is tried again, after a pause that grows
  to ``MAX_RETRY_SECONDS``; recording resumes by itself when the database is back;
- a batch the database refuses for its rows (``refusals``) is written request by request
  instead, a refused house left out, counted as unrecorded and its request logged: one bad row
  never stops the queue behind it;
- ``stop`` (a graceful stop, a worker recycled) writes what is queued, for up to its timeout,
  and counts what it could not write as unrecorded;
- after a batch whose documents reach ``memory.RELEASE_AFTER_BYTES``, the writer hands the
  heap freed back to the system (``api.memory``): a large request's houses outlive its answer,
  and the answer's own release, until they are written. Not after the small batches of
  one-house requests, which free little, as the middleware does not trim after them.

So recorded + unrecorded = priced, exactly, at any moment the queue is empty.

With a challenger (``api.challenger``), the writer hands each request over to its
``ShadowWriter`` (api/store/shadow.py) once all its houses are written; the challenger's prices
are made and written there, apart: neither the request path nor the champion's rows wait for
them.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Dialect, Engine, String, Table, insert

from api.memory import RELEASE_AFTER_BYTES, release_freed_memory
from api.metrics import RECORD_QUEUE, RECORDED_HOUSES, UNRECORDED_HOUSES
from api.store.health import StoreHealth
from api.store.refusals import DOCUMENTS, bound_values, refused_rows, write_apart
from api.store.tables import NO_WARNED_FIELDS, predictions

if TYPE_CHECKING:  # shadow.py imports this module
    from api.store.shadow import ShadowWriter

logger = logging.getLogger(__name__)

#: The longest pause between two tries of a failed batch, in seconds.
MAX_RETRY_SECONDS = 5.0
#: Seconds a priced house may wait before its batch is written, unless a whole batch is
#: queued sooner: one transaction per request of one house would cost more than the house.
LINGER_SECONDS = 0.25


@dataclass(frozen=True)
class PricedRequest:
    """One request's priced houses, as the prediction service hands them over."""

    ids: Sequence[str]
    request_id: str
    model_version: str
    houses: Sequence[dict[str, Any]]
    prices: Sequence[float]
    #: Per house, its range (``lower``, ``upper``, ``calibrated``) and its warnings (each
    #: naming a ``field``), as ``make_prediction`` gave them: read in the writer's thread.
    intervals: Sequence[Any]
    warnings: Sequence[Sequence[Any]]
    priced_at: datetime

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, start: int, stop: int) -> list[tuple[Any, ...]]:
        """Houses ``start`` to ``stop`` as rows of ``predictions``, its columns in order, the
        documents as JSON text."""
        return [self.row(i) for i in range(start, stop)]

    def row(self, i: int) -> tuple[Any, ...]:
        """House ``i`` as a row of ``predictions`` (``rows``)."""
        return (
            self.ids[i],
            self.request_id,
            self.priced_at,
            self.model_version,
            orjson.dumps(self.houses[i]).decode(),
            *answer_values(self.prices[i], self.intervals[i], self.warnings[i]),
        )


def answer_values(price: float, interval: Any, warnings: Sequence[Any]) -> tuple[Any, ...]:
    """``tables.answer_columns``' values for one house (a row of ``predictions`` ends with them,
    as one of ``challenger_prices`` does): its price, its log, its range, whether calibrated
    as a house like the training ones, the fields warned about (JSON text).

    A partial house (details assumed beyond the calibration houses') has its range scaled and
    marked calibrated in the answer since model 0.3.4, and is stored not calibrated, as before:
    the live checks judge accuracy on houses like the training ones, and a partial house is
    priced less closely by design (RMSLE about 0.22 with the seven required fields)."""
    return (
        price,
        math.log(price),
        interval.lower,
        interval.upper,
        interval.calibrated and not interval.partial,
        _warned_fields(warnings),
    )


def _warned_fields(warnings: Sequence[Any]) -> str:
    """The fields a house's warnings name, sorted, as JSON text (most houses have none)."""
    if not warnings:
        return NO_WARNED_FIELDS
    return orjson.dumps(sorted({warning.field for warning in warnings})).decode()


class Recorder:
    """One worker's writer of priced houses (see the module's docstring)."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        *,
        buffer_houses: int,
        batch_houses: int,
        health: StoreHealth,
        shadow: ShadowWriter | None = None,
    ) -> None:
        self._engine_factory = engine_factory
        #: Where each write's success or failure goes: the store's, which its monitor's reads
        #: share (one gauge, one owner).
        self.health = health
        #: Where written requests go to be priced by a challenger (``None``: no challenger).
        self.shadow = shadow
        self.buffer_houses = buffer_houses
        self.batch_houses = batch_houses
        self._queue: deque[PricedRequest] = deque()
        #: Houses of the head request already written (a batch may split a request).
        self._head_done = 0
        #: The ``id`` of each queued request the database refused a house of (``_write_apart``).
        self._incomplete: set[int] = set()
        self._queued = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._outage_since: float | None = None
        self._lost_in_outage = 0

    # The request path.

    def record(self, priced: PricedRequest) -> None:
        """Queue ``priced`` for the store, or count it as unrecorded if it does not fit."""
        count = len(priced)
        with self._lock:
            fits = self._queued + count <= self.buffer_houses and not self._stopping.is_set()
            if fits:
                self._queue.append(priced)
                self._queued += count
            else:
                self._lost_in_outage += count
        if fits:
            RECORD_QUEUE.inc(count)
            if self._queued >= self.batch_houses:
                self._wake.set()
        else:
            UNRECORDED_HOUSES.inc(count)
            if self._lost_in_outage == count:  # the first loss of this outage
                logger.error(
                    "prediction store: the buffer of %d houses is full; priced houses are not "
                    "recorded until the database catches up (counted in "
                    "ml_api_unrecorded_houses_total)",
                    self.buffer_houses,
                )

    @property
    def queued(self) -> int:
        return self._queued

    # The writer.

    def start(self) -> None:
        """Start the writer thread, and the shadow's (in the worker process: threads do not
        survive a fork); again after a stop."""
        if self.shadow is not None:
            self.shadow.start()
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then the challenger's prices of it (for up to ``timeout``
        seconds in all), then stop; what is left is counted as unrecorded (and unpriced)."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            left, self._queued = self._queued, 0
            self._queue.clear()
            self._head_done = 0
        if left:
            RECORD_QUEUE.dec(left)
            UNRECORDED_HOUSES.inc(left)
            logger.error("prediction store: %d queued houses not written before the stop", left)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self.shadow is not None:
            self.shadow.stop(deadline - time.monotonic())

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty, and the challenger's prices of it written (tests,
        benchmarks); whether they are."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self._queued and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.shadow is not None:
            return self.shadow.flush(deadline - time.monotonic()) and self._queued == 0
        return self._queued == 0

    def _run(self) -> None:
        pause = 0.0
        while True:
            self._wake.wait(timeout=LINGER_SECONDS if pause == 0 else pause)
            self._wake.clear()
            while self._queued:
                try:
                    with self.health.attempt("write"):
                        written = self._write_batch()
                except Exception as error:  # any driver's error: the database is unusable
                    self._note_outage(error)
                    pause = min(MAX_RETRY_SECONDS, max(0.25, pause * 2))
                    break
                self._note_written(written)
                pause = 0.0
                if self._queued < self.batch_houses and not self._stopping.is_set():
                    break  # the rest lingers: written with what comes next
            if self._stopping.is_set() and (not self._queued or pause):
                return
            if pause:
                time.sleep(pause)

    def _write_batch(self) -> int:
        """Write the next batch in one transaction and take it off the queue; the houses it
        wrote. A large batch's heap, its rows' and its houses', is handed back once they are
        gone (see the module). A batch the database refuses for its rows is written request by
        request instead, each refused house left out (``_write_apart``)."""
        segments = self._next_segments()
        try:
            written, document_bytes = self._write(segments)
        except Exception as error:
            if not refused_rows(error):
                raise
            return self._write_apart(segments)
        self._dequeue(written)
        if document_bytes >= RELEASE_AFTER_BYTES:
            release_freed_memory()
        return written

    def _write_apart(self, segments: list[tuple[PricedRequest, int, int]]) -> int:
        """Write ``segments`` apart (``refusals.write_apart``, which logs each refusal) and take
        them off the queue; the houses written. A refused house is counted unrecorded, and a
        request not written whole is never handed to the shadow (the challenger's rows name
        the champion's), even when the batch that finishes it is written whole."""
        assert self._engine is not None  # made by the write that failed
        refused = write_apart(
            self._engine,
            [(priced.request_id, [functools.partial(priced.row, i) for i in range(start, stop)])
             for priced, start, stop in segments],
            predictions,
            what="prediction store (counted in ml_api_unrecorded_houses_total)",
        )  # fmt: skip
        for (priced, _, _), left_out in zip(segments, refused, strict=True):
            if left_out.rows:
                self._incomplete.add(id(priced))  # queued, so alive: its id is its own
        taken = sum(stop - start for _, start, stop in segments)
        dropped = sum(left_out.rows for left_out in refused)
        UNRECORDED_HOUSES.inc(dropped)
        self._dequeue(taken)
        release_freed_memory()  # rare; a large refused batch's heap as a written one's
        return taken - dropped

    def _next_segments(self) -> list[tuple[PricedRequest, int, int]]:
        """The next batch: each queued request in it, with the span of its houses in it."""
        with self._lock:
            heads = list(self._queue)
            done = self._head_done
        segments: list[tuple[PricedRequest, int, int]] = []
        taken = 0
        for priced in heads:
            take = min(len(priced) - done, self.batch_houses - taken)
            segments.append((priced, done, done + take))
            taken += take
            done = 0
            if taken >= self.batch_houses:
                break
        return segments

    def _write(self, segments: list[tuple[PricedRequest, int, int]]) -> tuple[int, int]:
        """Write ``segments``' houses in one transaction; how many, and their documents'
        bytes."""
        if self._engine is None:
            self._engine = self._engine_factory()
        rows = [row for priced, start, stop in segments for row in priced.rows(start, stop)]
        with self._engine.begin() as connection:
            write_rows(connection, rows)
        return len(rows), sum(len(row[HOUSE_COLUMN]) for row in rows)

    def _dequeue(self, count: int) -> None:
        """Take ``count`` written houses off the queue, and hand the requests now written whole
        (none the database refused a house of: ``_incomplete``) to the shadow before they leave
        the count (``flush`` waits for the one, then the other)."""
        whole: list[PricedRequest] = []
        with self._lock:
            left = count
            while left:
                head = self._queue[0]
                remaining = len(head) - self._head_done
                if remaining <= left:
                    done = self._queue.popleft()
                    if id(done) in self._incomplete:
                        self._incomplete.discard(id(done))
                    else:
                        whole.append(done)
                    self._head_done = 0
                    left -= remaining
                else:
                    self._head_done += left
                    left = 0
        if self.shadow is not None and whole:
            self.shadow.hand_over(whole)
        with self._lock:
            self._queued -= count
        RECORD_QUEUE.dec(count)

    def _note_written(self, count: int) -> None:
        RECORDED_HOUSES.inc(count)
        if self._outage_since is not None or self._lost_in_outage:
            since = self._outage_since or time.monotonic()
            logger.warning(
                "prediction store: writing again after %.1f s; %d houses went unrecorded",
                time.monotonic() - since,
                self._lost_in_outage,
            )
            self._outage_since = None
            with self._lock:
                self._lost_in_outage = 0

    def _note_outage(self, error: Exception) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            logger.error(
                "prediction store: a write failed (%s); houses wait in the buffer (%d of %d)",
                type(error).__name__,
                self._queued,
                self.buffer_houses,
            )


#: Where a row of ``predictions`` (``PricedRequest.rows``) has its house.
HOUSE_COLUMN = predictions.columns.keys().index("house")


def write_rows(
    connection: Connection, rows: list[tuple[Any, ...]], table: Table = predictions
) -> None:
    """Insert ``rows`` (``table``'s columns in order) into ``table``: with ``COPY`` on
    PostgreSQL (a few microseconds a row, in C), on SQLite with a few multi-row inserts
    (``insert_sizes``), else one ``executemany`` of the driver's.

    Elsewhere (SQLite) the rows go to the driver as tuples, each value through its column
    type's own bind processor (SQLAlchemy's public ``TypeEngine.bind_processor``), so what is
    stored is what SQLAlchemy's ``insert`` would store; SQLAlchemy's per-row parameter handling,
    skipped, took about 80 ms of the writer's thread (holding the interpreter's lock, which the
    worker's requests wait for) for each 1459 houses."""
    columns = [column.name for column in table.columns]
    dialect = connection.dialect
    if dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        copy_rows = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copy_rows) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    if not rows:
        return
    if dialect.paramstyle != "qmark":  # SQLite's; any other driver: SQLAlchemy's insert
        connection.execute(
            insert(table).values(bound_values(table, dialect.name)),
            [dict(zip(columns, row, strict=True)) for row in rows],
        )
        return
    statement, processors = _insert_statement(dialect, table)
    converted = [(index, _Repeated(process)) for index, process in enumerate(processors) if process]
    if dialect.name != "sqlite":
        if converted:
            rows = [_processed(row, converted) for row in rows]
        connection.exec_driver_sql(statement, rows)
        return
    width, start = len(columns), 0
    for count in insert_sizes(len(rows)):
        values = [value for row in rows[start : start + count] for value in row]
        for index, process in converted:  # a column at a time, in the flat values: no row copied
            values[index::width] = [
                None if value is None else process(value) for value in values[index::width]
            ]
        connection.exec_driver_sql(_multi_row_insert(statement, count), tuple(values))
        start += count


#: Rows in one multi-row ``INSERT`` on SQLite, at most (times 11 columns: 2816 parameters, far
#: under SQLite's limit of 32766 since 3.32).
ROWS_PER_INSERT = 256


def insert_sizes(rows: int) -> list[int]:
    """How ``rows`` rows are split into multi-row inserts: as many of ``ROWS_PER_INSERT`` as
    fit, then the rest in powers of two, largest first. So there are few statements, each
    compiled once (the driver caches them by their text), and few per write.

    Python's sqlite3 releases the interpreter's lock around each statement's step; an
    ``executemany`` of 1459 rows gave it back and took it again 1459 times, each time
    waiting on the request thread that held it and making it wait. One statement binds many
    rows (in C) and steps through them with the lock released once. Served in turns at one
    connection on a loaded machine, the 1459-house request with recording on: p50 189 ms
    with ``executemany``, 175 ms so (139 ms with recording off)."""
    sizes = [ROWS_PER_INSERT] * (rows // ROWS_PER_INSERT)
    rest = rows % ROWS_PER_INSERT
    power = ROWS_PER_INSERT
    while rest:
        power //= 2
        if rest >= power:
            sizes.append(power)
            rest -= power
    return sizes


@functools.cache
def _multi_row_insert(statement: str, rows: int) -> str:
    """``statement`` (an insert of one row of ``?``) inserting ``rows`` rows."""
    head, _, values = statement.rpartition(" VALUES ")
    return f"{head} VALUES {', '.join([values] * rows)}"


class _Repeated:
    """A bind processor that processes a value once while the rows repeat it: a request's
    houses share their time of pricing (SQLite's date processor formats it in Python, about
    9 us a row, in the writer's thread that shares the interpreter with the requests), and most
    share whether their range is calibrated. Processors are pure: the same value, the same
    result. The same object, not an equal one (``True == 1``, and an aware and a naive time
    are never equal but may print alike): the last one is held, so its identity is not reused."""

    __slots__ = ("_last", "_process")

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self._process = process
        self._last: tuple[Any, Any] | None = None

    def __call__(self, value: Any) -> Any:
        last = self._last
        if last is not None and last[0] is value:
            return last[1]
        processed = self._process(value)
        self._last = (value, processed)
        return processed


def _processed(row: tuple[Any, ...], converted: list[tuple[int, _Repeated]]) -> tuple[Any, ...]:
    """``row`` with each value of the ``converted`` columns through its bind processor (a row's
    columns mostly need none: a tuple per row is cheaper than a call per value)."""
    values = list(row)
    for index, process in converted:
        if values[index] is not None:
            values[index] = process(values[index])
    return tuple(values)


@functools.cache
def _insert_statement(
    dialect: Dialect, table: Table
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """``table``'s insert of every column, in the ``qmark`` style's parameters, and each
    column's bind processor (``None``: the value goes as it is). The JSON documents come as
    text already: bound as strings."""
    types = [String() if column.name in DOCUMENTS else column.type for column in table.columns]
    placeholders = ", ".join(["?"] * len(types))
    names = ", ".join(dialect.identifier_preparer.quote(column.name) for column in table.columns)
    into = dialect.identifier_preparer.format_table(table)
    statement = f"INSERT INTO {into} ({names}) VALUES ({placeholders})"
    processors = tuple(type_.dialect_impl(dialect).bind_processor(dialect) for type_ in types)
    return statement, processors


def priced_now() -> datetime:
    return datetime.now(UTC)
