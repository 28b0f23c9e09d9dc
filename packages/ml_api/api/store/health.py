"""Whether the prediction store answers a worker: ``ml_api_database_up``, 1 only while the
worker's last write of priced houses and its monitor's last read both succeeded.

Each used to set the gauge alone. A store that answered reads but refused writes (a lock held,
a PostgreSQL made read-only by a failover, a full disk) then read 1 after each monitoring
refresh and 0 after each failed write, so the alert on it, which waits a minute, never fired
while no house was written (a monitoring probe held SQLite's write lock for 130 s). A write
that fails leaves its houses in the buffer, tried again until one succeeds: the gauge comes
back with the first write that does.

A write or read stopped at the store's bound (``ML_API_STORE_STATEMENT_TIMEOUT``: a lock held
elsewhere, a stalled database) fails like any other, and so sets the gauge to 0. Before the
bound, such a store failed nothing, it only never answered: the gauge read 1 throughout.

A worker starts with the store up, and publishes the gauge then: a new worker's value was 0
until its monitor's first refresh, a "down" on the dashboard at every worker replaced. The
first workers start after the master checked the store; one that replaces another later
(recycled, killed, a reload) shows up until its monitor's first read, which it makes at once
and which fails within the connection timeout (3 s on PostgreSQL) if the store is down.

A store that never answers fails nothing either: a PostgreSQL whose processes are stopped (a
paused container, a server stuck on its disk) has its kernel acknowledge the connection's
packets and runs no timer, so a statement on an open connection waits until it is back, the
store's bound notwithstanding (README, "When the store stalls"). So a write or read still in
flight ``STALLED_BOUNDS`` times the bound after it began counts as failed (``StallWatch``
looks each second), until it ends: the writer and the monitor, each stuck in such a
statement, had left the gauge at 1 (a stopped PostgreSQL, 30 s).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Literal

from api.config import STORE_STATEMENT_TIMEOUT
from api.metrics import DATABASE_UP

#: A write or read in flight this many times the store's statement bound has stalled: each of
#: its statements would have been stopped at the bound (a write is one transaction of a few
#: statements, a monitoring refresh a few queries, each taking milliseconds).
STALLED_BOUNDS = 3
#: Seconds between ``StallWatch``'s looks.
WATCH_SECONDS = 1.0

Attempt = Literal["write", "read"]


class StoreHealth:
    """What a worker last saw of its store, written and read, published as one gauge."""

    def __init__(
        self,
        *,
        statement_timeout: float = STORE_STATEMENT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        #: Whether the last write and the last read succeeded.
        self._answered: dict[Attempt, bool] = {"write": True, "read": True}
        #: Seconds after which an attempt still in flight has stalled.
        self.stalled_after = STALLED_BOUNDS * statement_timeout
        self._clock = clock
        #: When each attempt in flight began.
        self._began: dict[Attempt, float] = {}
        self._stalled = False

    @contextlib.contextmanager
    def attempt(self, attempt: Attempt) -> Iterator[None]:
        """A write of priced houses, or a read of the monitor's, for the block: in flight while
        it runs (stalled past ``stalled_after``), succeeded when it ends, failed when it raises
        an ``Exception``."""
        with self._lock:
            self._began[attempt] = self._clock()
        try:
            yield
        except Exception:
            self._ended(attempt, answered=False)
            raise
        self._ended(attempt, answered=True)

    def look(self) -> None:
        """Count an attempt in flight for ``stalled_after`` as failed (``StallWatch``)."""
        with self._lock:
            stalled = self._any_stalled()
            if stalled != self._stalled:
                self._stalled = stalled
                self._publish()

    def publish(self) -> None:
        """Set the gauge from what was last seen (a worker's start: up)."""
        with self._lock:
            self._publish()

    @property
    def up(self) -> bool:
        return all(self._answered.values()) and not self._stalled

    def _ended(self, attempt: Attempt, *, answered: bool) -> None:
        with self._lock:
            self._answered[attempt] = answered
            self._began.pop(attempt, None)
            self._stalled = self._any_stalled()
            self._publish()

    def _any_stalled(self) -> bool:
        now = self._clock()
        return any(now - began >= self.stalled_after for began in self._began.values())

    def _publish(self) -> None:
        DATABASE_UP.set(1 if self.up else 0)


class StallWatch:
    """A thread of the worker's that looks for a stalled attempt each ``WATCH_SECONDS``: the
    writer's and the monitor's own threads are the ones a stalled store holds."""

    def __init__(self, health: StoreHealth) -> None:
        self.health = health
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="store-stall-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            self.health.look()
