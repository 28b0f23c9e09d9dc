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
"""

from __future__ import annotations

import threading

from api.metrics import DATABASE_UP


class StoreHealth:
    """What a worker last saw of its store, written and read, published as one gauge."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes = True
        self._reads = True

    def wrote(self, answered: bool) -> None:
        """A write of priced houses succeeded, or failed."""
        with self._lock:
            self._writes = answered
            self._publish()

    def read(self, answered: bool) -> None:
        """A read of the monitor's succeeded, or failed."""
        with self._lock:
            self._reads = answered
            self._publish()

    def publish(self) -> None:
        """Set the gauge from what was last seen (a worker's start: up)."""
        with self._lock:
            self._publish()

    @property
    def up(self) -> bool:
        return self._writes and self._reads

    def _publish(self) -> None:
        DATABASE_UP.set(1 if self.up else 0)
