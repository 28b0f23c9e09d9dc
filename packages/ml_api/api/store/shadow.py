"""The challenger's prices of recorded houses, written to the store apart from the champion's.

The recorder's writer hands each request over once all its houses are written (a row of
``challenger_prices`` references its house's row of ``predictions``). A thread of its own then
takes what waits every ``SHADOW_SECONDS``, or as soon as ``batch_houses`` wait, prices it in
one call (``Challenger.price_requests``) and writes the prices in one transaction.

Why a thread of its own, and seldom: a call of the model costs about 3 ms of CPU however few its
houses (about 40 us a house more), and a worker serves one-house requests. Priced in the
writer's own transactions, which under load came every 40 ms or so with five requests each,
the challenger cost a request more CPU than its recording did, and the writer ran without a
pause, holding the GIL the event loop needed (store-bench at 16 connections: p50 x1.26 and
throughput x0.78 against the same server without a challenger). A call a second prices a
second's traffic for the cost of one call, and a slow challenger never delays the champion's
rows.

Nothing here reaches a client, and nothing is lost silently:

- houses wait here up to ``buffer_houses``; those of a request that does not fit (the
  challenger has fallen a buffer behind) are not priced, counted with its failures
  (``ml_api_challenger_failed_houses_total``) and the run of them logged once;
- a request the challenger cannot price is counted and logged by ``Challenger``;
- a write that fails (the database is down) is tried again with the same prices, after a pause
  that grows to ``MAX_RETRY_SECONDS``; one the database refuses for its rows is written
  request by request, each refused price left out and logged (``refusals.write_apart``);
- ``stop`` prices and writes what waits, for up to its timeout; houses left unpriced are
  counted as failed.

So, once nothing waits (``ml_api_challenger_queue_houses`` is 0), the challenger's priced and
failed houses add up to the houses handed over: the recorded ones.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from api.challenger import Challenger, ShadowPrices
from api.metrics import CHALLENGER_FAILED, CHALLENGER_QUEUE
from api.store.recorder import MAX_RETRY_SECONDS, PricedRequest, answer_values, write_rows
from api.store.refusals import refused_rows, write_apart
from api.store.tables import challenger_prices

logger = logging.getLogger(__name__)

#: Seconds recorded houses may wait for the challenger, unless ``batch_houses`` wait sooner.
SHADOW_SECONDS = 1.0


def challenger_rows(
    priced: PricedRequest, answer: ShadowPrices, version: str
) -> list[tuple[Any, ...]]:
    """``priced``'s houses as rows of ``challenger_prices`` (its columns in order), from the
    challenger's ``answer``: the same ids as the champion's rows."""
    return [challenger_row(priced, answer, version, i) for i in range(len(priced))]


def challenger_row(
    priced: PricedRequest, answer: ShadowPrices, version: str, i: int
) -> tuple[Any, ...]:
    """House ``i`` of ``priced`` as a row of ``challenger_prices`` (``challenger_rows``)."""
    return (
        priced.ids[i],
        version,
        *answer_values(answer.predictions[i], answer.intervals[i], answer.warnings[i]),
    )


def _priced_houses(
    batch: Sequence[PricedRequest], answers: Sequence[ShadowPrices | None] | None
) -> int:
    """Houses of ``batch`` with an answer of the challenger's."""
    if answers is None:
        return 0
    return sum(len(p) for p, answer in zip(batch, answers, strict=True) if answer is not None)


class ShadowWriter:
    """One worker's writer of the challenger's prices (see the module's docstring)."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        challenger: Challenger,
        *,
        buffer_houses: int,
        batch_houses: int,
    ) -> None:
        self._engine_factory = engine_factory
        self.challenger = challenger
        self.buffer_houses = buffer_houses
        self.batch_houses = batch_houses
        self._waiting: deque[PricedRequest] = deque()
        self._waiting_houses = 0
        #: Houses handed over and not done with yet: waiting, being priced, or being written.
        self._pending = 0
        #: The batch taken, with the challenger's answers once priced (kept for a retry).
        self._batch: list[PricedRequest] = []
        self._answers: list[ShadowPrices | None] | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._behind = 0
        self._write_failing = False

    # The recorder's writer.

    def hand_over(self, requests: Sequence[PricedRequest]) -> None:
        """Queue recorded ``requests`` for the challenger, or count a request that does not
        fit as failed."""
        dropped = 0
        with self._lock:
            for priced in requests:
                count = len(priced)
                if self._stopping.is_set() or self._pending + count > self.buffer_houses:
                    dropped += count
                    continue
                self._waiting.append(priced)
                self._waiting_houses += count
                self._pending += count
                CHALLENGER_QUEUE.inc(count)
            full = self._waiting_houses >= self.batch_houses
        if full:
            self._wake.set()
        if dropped:
            CHALLENGER_FAILED.inc(dropped)
            self._behind += dropped
            if self._behind == dropped:  # the first of this run
                logger.error(
                    "challenger %s: %d houses wait for it already (the buffer); recorded "
                    "houses go without its prices (counted in "
                    "ml_api_challenger_failed_houses_total) until it catches up",
                    self.challenger.version,
                    self.buffer_houses,
                )
        elif self._behind and requests:
            logger.warning(
                "challenger %s caught up; %d houses went without its prices",
                self.challenger.version,
                self._behind,
            )
            self._behind = 0

    @property
    def pending(self) -> int:
        """Houses handed over whose prices are not written yet."""
        return self._pending

    # Its own thread.

    def start(self) -> None:
        """Start the thread (in the worker process); again after a stop."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Price and write what waits (for up to ``timeout`` seconds), then stop; houses left
        unpriced are counted as failed."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))
        with self._lock:
            left, self._pending = self._pending, 0
            priced = _priced_houses(self._batch, self._answers)
            self._waiting.clear()
            self._waiting_houses = 0
            self._batch, self._answers = [], None
        if left:
            CHALLENGER_QUEUE.dec(left)
            CHALLENGER_FAILED.inc(left - priced)
            logger.error(
                "challenger %s: %d houses not priced, %d prices not written before the stop",
                self.challenger.version,
                left - priced,
                priced,
            )
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every handed-over house is done with (tests, benchmarks); whether so."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return self._pending == 0

    def _run(self) -> None:
        pause = 0.0
        while True:
            self._wake.wait(timeout=pause or SHADOW_SECONDS)
            self._wake.clear()
            while self._batch or self._waiting_houses:
                try:
                    self._write_batch()
                except Exception as error:  # any driver's error: tried again after a pause
                    self._note_write_failed(error)
                    pause = min(MAX_RETRY_SECONDS, max(0.25, pause * 2))
                    break
                pause = 0.0
                if self._waiting_houses < self.batch_houses and not self._stopping.is_set():
                    break  # the rest waits for the next call: one call prices many
            if self._stopping.is_set() and (not self._pending or pause):
                return

    def _write_batch(self) -> None:
        """Price the next batch (unless priced before a failed write) and write its prices in
        one transaction."""
        if not self._batch:
            self._batch = self._take()
            self._answers = None
        if self._answers is None:
            self._answers = self.challenger.price_requests([p.houses for p in self._batch])
        version = self.challenger.version
        answered = [
            (priced, answer)
            for priced, answer in zip(self._batch, self._answers, strict=True)
            if answer is not None
        ]
        if answered:
            if self._engine is None:
                self._engine = self._engine_factory()
            try:
                rows = [
                    row
                    for priced, answer in answered
                    for row in challenger_rows(priced, answer, version)
                ]
                with self._engine.begin() as connection:
                    write_rows(connection, rows, challenger_prices)
            except Exception as error:
                if not refused_rows(error):
                    raise
                self._write_apart(answered)
        if self._write_failing:
            logger.warning("challenger %s: its prices are written again", version)
            self._write_failing = False
        done = sum(len(priced) for priced in self._batch)
        with self._lock:
            self._batch, self._answers = [], None
            self._pending -= done
        CHALLENGER_QUEUE.dec(done)

    def _write_apart(self, answered: list[tuple[PricedRequest, ShadowPrices]]) -> None:
        """Write each request's challenger prices apart (``refusals.write_apart``, which logs
        each refusal): a price the database refuses (its house's row pruned meanwhile, a value
        it cannot hold) is left out. It stays counted as priced, as the prices a stop leaves
        unwritten do: priced and failed add up to the houses handed over."""
        assert self._engine is not None
        version = self.challenger.version
        write_apart(
            self._engine,
            [(priced.request_id,
              [functools.partial(challenger_row, priced, answer, version, i)
               for i in range(len(priced))])
             for priced, answer in answered],
            challenger_prices,
            what=f"challenger {version} (its prices are not stored)",
        )  # fmt: skip

    def _take(self) -> list[PricedRequest]:
        """Whole requests from the head of the queue, up to ``batch_houses`` (at least one)."""
        taken: list[PricedRequest] = []
        houses = 0
        with self._lock:
            while self._waiting and (
                not taken or houses + len(self._waiting[0]) <= self.batch_houses
            ):
                priced = self._waiting.popleft()
                taken.append(priced)
                houses += len(priced)
            self._waiting_houses -= houses
        return taken

    def _note_write_failed(self, error: Exception) -> None:
        if not self._write_failing:
            self._write_failing = True
            logger.warning(
                "challenger %s: a write of its prices failed (%s); tried again with the same "
                "prices",
                self.challenger.version,
                type(error).__name__,
            )
