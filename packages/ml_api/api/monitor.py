"""One worker's live monitor: the default window's figures refreshed on a timer (and the gauges
with them), a window asked for computed on demand, one at a time, and the store pruned.

``GET /v1/monitoring`` is answered from the figures the timer keeps, so scraping or polling it
costs the database nothing; a window asked for by query parameters is bounded (settings) and a
worker computes one at a time (503 with ``Retry-After`` past that).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url

from api.metrics import (
    CHALLENGER_VERDICT,
    COMPARED,
    DRIFT_LEVEL,
    DRIFT_PSI,
    DRIFT_UNKNOWN,
    LIVE,
    MONITORING_LEVEL,
    MONITORING_MIN_SALES,
    PRICE_MOVES,
    RMSLE_DIFFERENCE,
    STORE_BYTES,
    STORE_ROWS,
    TRAINING,
    forget_model_figures,
)
from api.problems import BusyProblem
from api.store.comparison import Versions
from api.store.database import Store
from api.store.monitoring import (
    NOT_ENOUGH,
    VERDICTS,
    NewTally,
    Thresholds,
    Window,
    measure,
    version_sales,
)
from api.store.tables import challenger_prices, predictions, sales

logger = logging.getLogger(__name__)

#: Refreshes after which the window is measured again even if the store's state looks the
#: same (see ``LiveMonitor._state``): 5 minutes at the default 30 s.
REMEASURE_TICKS = 10
#: Houses pruned in one refresh at most: a retention lowered on a large store is applied over
#: several refreshes, each in a short transaction, not in one that locks the tables for long.
PRUNE_HOUSES = 10_000

#: A figure's gauge in ``LIVE`` and ``TRAINING``, where its name (a check's, a training figure's)
#: is not the gauge's.
_GAUGE_NAMES = {"coverage": "interval_coverage"}


def _gauge_name(figure: str) -> str:
    return _GAUGE_NAMES.get(figure, figure)


class LiveMonitor:
    """See the module's docstring."""

    def __init__(
        self,
        store: Store,
        *,
        model_version: str,
        window: Window,
        every_seconds: float,
        retention_days: int,
        training: Mapping[str, float],
        thresholds: Thresholds,
        new_tally: NewTally | None,
        versions: Versions | None = None,
    ) -> None:
        self.store = store
        #: The model served: its houses, and their sales, are the windows'.
        self.model_version = model_version
        self.versions = versions
        self.window = window
        self.every_seconds = every_seconds
        self.retention = timedelta(days=retention_days)
        self.training = dict(training)
        self.thresholds = thresholds
        self.new_tally = new_tally
        self._latest: dict[str, Any] | None = None
        #: The store's ``_state`` when ``_latest`` was measured, and refreshes since.
        self._seen: tuple[Any, ...] = ()
        self._unchanged_ticks = 0
        self._asked = threading.Semaphore(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        forget_model_figures()  # another monitor's versions, in this process, are not current
        for name, value in self.training.items():
            if _gauge_name(name) in TRAINING:
                TRAINING[_gauge_name(name)].labels(model_version).set(value)
        MONITORING_MIN_SALES.set(thresholds.min_sales)

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.every_seconds)

    def current(self) -> dict[str, Any]:
        """The default window's figures, as last refreshed (refreshed now if never)."""
        if self._latest is None:
            self.refresh()
        if self._latest is None:
            raise BusyProblem("unable to reach the prediction store")
        return self._latest

    def on_demand(self, window: Window) -> dict[str, Any]:
        """The figures of ``window`` (the spec bounds it by the settings), computed now; one
        at a time."""
        if not self._asked.acquire(blocking=False):
            raise BusyProblem("computing as many monitoring windows")
        try:
            return self._measure(window)
        finally:
            self._asked.release()

    def refresh(self) -> None:
        """Prune what is past retention, then measure the default window and set the gauges,
        when the store changed since the last measure (``_state``: a few index lookups, all an
        idle service spends on it), or every ``REMEASURE_TICKS`` refreshes whatever the
        state says. The state is read first: a store that does not answer is said by the
        first read (a new worker's gauge, up at its start, waited behind the prune's own
        connection timeout)."""
        try:
            with self.store.health.attempt("read"):
                state = self._state()
                if self._prune():
                    state = self._state()
                self._unchanged_ticks += 1
                if (
                    state == self._seen
                    and self._latest is not None
                    and self._unchanged_ticks < REMEASURE_TICKS
                ):
                    return
                figures = self._measure(self.window)
                self._count()
        except Exception as error:  # any driver's error: the figures stay as they were
            logger.warning("monitoring: the store could not be read (%s)", type(error).__name__)
            return
        self._seen, self._unchanged_ticks = state, 0
        self._latest = figures
        self._set_gauges(figures)

    def _state(self) -> tuple[Any, ...]:
        """What a measure of the window rests on, by index lookups: the newest priced house,
        how many houses and challenger prices share its time (a request of many houses is
        written in steps that share one time; a challenger's prices come after its houses),
        the oldest priced house (another worker pruned) and the last sales received
        (``_last_sales``). Two requests written at once can still change the store unseen,
        an older one's last step landing after a newer one: ``REMEASURE_TICKS`` bounds that."""
        with self.store.engine.connect() as connection:
            newest = connection.scalar(select(func.max(predictions.c.created_at)))
            at_newest = select(predictions.c.id).where(predictions.c.created_at == newest)
            return (
                *_last_sales(connection, self.window.sales, self.model_version),
                newest,
                connection.scalar(select(func.count()).select_from(at_newest.subquery())),
                connection.scalar(
                    select(func.count())
                    .select_from(challenger_prices)
                    .where(challenger_prices.c.prediction_id.in_(at_newest))
                ),
                connection.scalar(select(func.min(predictions.c.created_at))),
            )

    def _count(self) -> None:
        """The store's gauges: each table's rows, and the bytes it takes."""
        engine = self.store.engine
        with engine.connect() as connection:
            for table in (predictions, sales, challenger_prices):
                rows = connection.scalar(select(func.count()).select_from(table))
                STORE_ROWS.labels(table.name).set(rows or 0)
            if engine.dialect.name == "postgresql":
                size = connection.scalar(
                    text(
                        "SELECT pg_total_relation_size('predictions') "
                        "+ pg_total_relation_size('sales') "
                        "+ pg_total_relation_size('challenger_prices')"
                    )
                )
                STORE_BYTES.set(size or 0)
        database = make_url(self.store.url).database
        if engine.dialect.name == "sqlite" and database:
            files = [Path(database), Path(f"{database}-wal")]
            STORE_BYTES.set(sum(path.stat().st_size for path in files if path.exists()))

    def _measure(self, window: Window) -> dict[str, Any]:
        return measure(
            self.store.engine,
            window,
            model_version=self.model_version,
            training=self.training,
            thresholds=self.thresholds,
            new_tally=self.new_tally,
            versions=self.versions,
        )

    def _set_gauges(self, figures: dict[str, Any]) -> None:
        version = self.model_version
        LIVE["sales"].labels(version).set(figures["sales"])
        LIVE["calibrated_sales"].labels(version).set(figures["calibrated_sales"])
        LIVE["houses"].labels(version).set(figures["priced_houses"])
        for check, found in figures["checks"].items():
            # NaN where there is no figure (no sale yet; no calibrated range among the sales),
            # not the last one, which a dashboard would show as current.
            LIVE[_gauge_name(check)].labels(version).set(_or_nan(found["live"]))
            MONITORING_LEVEL.labels(check, version).set(_level(found["verdict"]))
        _set_drift_gauges(figures["drift"], version)
        if figures["challenger"] is not None and self.versions is not None:
            _set_challenger_gauges(figures["challenger"], self.versions)

    def _prune(self) -> bool:
        """Delete priced houses (their sales and challenger prices with them) older than the
        retention, at most ``PRUNE_HOUSES`` a refresh, the oldest first: looked for at every
        refresh (an index lookup), traffic or none; whether any went. A failure is said, and
        counts for nothing else: the store may still be read (a role without DELETE, a
        read-only replica)."""
        cutoff = datetime.now(UTC) - self.retention
        oldest = (
            select(predictions.c.id)
            .where(predictions.c.created_at < cutoff)
            .order_by(predictions.c.created_at)
            .limit(PRUNE_HOUSES)
        )
        try:
            with self.store.engine.begin() as connection:
                expired = list(connection.scalars(oldest))
                if not expired:
                    return False
                for table in (sales, challenger_prices):
                    connection.execute(delete(table).where(table.c.prediction_id.in_(expired)))
                connection.execute(delete(predictions).where(predictions.c.id.in_(expired)))
        except Exception as error:  # any driver's error
            logger.warning(
                "monitoring: houses past retention could not be pruned (%s)", type(error).__name__
            )
            return False
        return True


def _last_sales(connection: Any, window: int, model_version: str) -> tuple[Any, int]:
    """When the last ``window`` sales of houses ``model_version`` priced began (the oldest time
    among them), and how many such sales were received since, by an index range of about
    ``window`` entries (more while another version's sales come in between). A batch is
    stamped when its request begins and lands when it commits, so two posted at once may land
    in the other order: the earlier-stamped one, landing after a measure, is no newer than the
    newest sale then (keyed on that alone, such a measure stood until ``REMEASURE_TICKS``: a
    probe's), but it counts among these sales, or moves their start. Only a batch landing
    after more than ``window`` of the version's sales stamped since it goes unseen. The
    version's alone, as the window counts them: keyed on every version's, a late batch went
    unseen during a rollout once ``window`` sales of the other version were stamped after it
    (a review's)."""
    served = version_sales(model_version, sales.c.received_at)
    newest = served.order_by(sales.c.received_at.desc()).limit(window).subquery()
    start = connection.scalar(select(func.min(newest.c.received_at)))
    if start is None:  # no sale yet
        return None, 0
    since = served.where(sales.c.received_at >= start).subquery()
    return start, int(connection.scalar(select(func.count()).select_from(since)) or 0)


def _set_drift_gauges(drift: dict[str, Any], version: str) -> None:
    for field, found in drift.items():
        psi = found["psi"]  # None: no house of the window gave the field
        DRIFT_PSI.labels(field, version).set(_or_nan(psi))
        DRIFT_LEVEL.labels(field, version).set(_level(found["verdict"]))
        window = found["houses"] + found["unknown"]
        unknown = found["unknown"] / window if window else math.nan
        DRIFT_UNKNOWN.labels(field, version).set(unknown)


def _set_challenger_gauges(compared: dict[str, Any], versions: Versions) -> None:
    """The comparison's gauges, labelled with both versions; NaN where it has no figure (no
    house priced by both, no sale of one), as the live gauges, not the last figure, which a
    dashboard would show as current."""
    pair = (versions.champion, versions.challenger)
    for beyond, share in compared["price_moves"]["beyond"].items():
        PRICE_MOVES.labels(beyond, *pair).set(_or_nan(share))
    for model in ("champion", "challenger"):
        figures = compared[model] or {}
        COMPARED["rmsle"].labels(model, *pair).set(_or_nan(figures.get("rmsle")))
        # None: no range of its marked calibrated
        COMPARED["interval_coverage"].labels(model, *pair).set(_or_nan(figures.get("coverage")))
    difference = compared["rmsle_difference"] or {"estimate": None, "interval": (None, None)}
    RMSLE_DIFFERENCE.labels("estimate", *pair).set(_or_nan(difference["estimate"]))
    RMSLE_DIFFERENCE.labels("lower", *pair).set(_or_nan(difference["interval"][0]))
    RMSLE_DIFFERENCE.labels("upper", *pair).set(_or_nan(difference["interval"][1]))
    CHALLENGER_VERDICT.labels(*pair).set({"better": 1, "worse": -1}.get(compared["verdict"], 0))


def _or_nan(figure: float | None) -> float:
    return math.nan if figure is None else figure


def _level(verdict: str) -> int:
    """A verdict as a gauge's level: 0 ok, 1 watch, 2 alert, -1 not enough data (not 0: a
    dashboard would show a figure never judged as ok)."""
    return VERDICTS.index(verdict) if verdict != NOT_ENOUGH else -1
