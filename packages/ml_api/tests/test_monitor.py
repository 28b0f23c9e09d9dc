"""A worker's live monitor (api/monitor.py) on SQLite and on a real PostgreSQL: its figures follow
the store however the store changes, the store is pruned with or without traffic, and a gauge
with no figure says so."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from scipy.stats import binomtest
from sqlalchemy import Engine, insert, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from api import monitor as monitor_module
from api.metrics import DATABASE_UP, forget_model_figures
from api.monitor import REMEASURE_TICKS, LiveMonitor, _set_challenger_gauges
from api.service import PredictionService
from api.store import monitoring as monitoring_module_store
from api.store import sales as sales_module
from api.store.comparison import Versions, at_least_as_many_heads, compare
from api.store.database import Store, make_engine, migrate
from api.store.health import STALLED_BOUNDS, Attempt, StoreHealth
from api.store.monitoring import Thresholds, Window
from api.store.recorder import PricedRequest, Recorder, answer_values, write_rows
from api.store.sales import write_sales
from api.store.tables import challenger_prices
from tests.stores import MODEL_VERSION, REPORTER, Outage, count_rows, priced_request

pytestmark = pytest.mark.external  # PostgreSQL is a Debian package

THRESHOLDS = Thresholds(min_sales=1, error_ratio_watch=1.5, error_ratio_alert=2.0,
                        coverage_watch=0.85, coverage_alert=0.8, warned_ratio_watch=1.5,
                        warned_ratio_alert=2.0, min_drift_houses=1)  # fmt: skip


@pytest.fixture
def new_monitor() -> Iterator[Callable[..., LiveMonitor]]:
    """``new_monitor(engine, retention_days=365)``: a monitor of ``engine``'s store, its own
    engine disposed of after the test."""
    made: list[LiveMonitor] = []

    def new(
        engine: Engine, *, retention_days: int = 365, model_version: str = MODEL_VERSION
    ) -> LiveMonitor:
        made.append(
            LiveMonitor(
                Store(engine.url.render_as_string(hide_password=False)),
                model_version=model_version,
                window=Window(predictions=1000, sales=100),
                every_seconds=60,
                retention_days=retention_days,
                training={"warned_share": 0.01},
                thresholds=THRESHOLDS,
                new_tally=None,
            )
        )
        return made[-1]

    yield new
    for monitor in made:
        monitor.store.engine.dispose()


def _write(engine: Engine, request: PricedRequest, start: int, stop: int) -> None:
    with engine.begin() as connection:
        write_rows(connection, request.rows(start, stop))


def test_a_request_written_in_steps_is_measured_whole_once_its_steps_land(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor]
) -> None:
    """The houses of one request share their time, and the writer writes a large request in
    several steps: a measure taken between two steps stood for good (a probe's: 54,000 of
    55,000 houses, 25 s after the last write), as the newest time it was keyed on did not
    move."""
    request = priced_request(10)
    monitor = new_monitor(migrated)
    _write(migrated, request, 0, 6)
    monitor.refresh()
    assert monitor.current()["priced_houses"] == 6
    _write(migrated, request, 6, 10)  # the same time as the first step's
    monitor.refresh()
    assert monitor.current()["priced_houses"] == 10


def test_the_store_is_pruned_without_traffic_and_the_figures_follow(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor]
) -> None:
    """Retention was applied only when a house was priced or a sale posted, and after the
    measure: an idle service kept houses past it, and a pruned store was described by figures
    of the houses it had deleted."""
    old = priced_request(4, "00000000000000d1")
    old = PricedRequest(**{**vars(old), "priced_at": old.priced_at - timedelta(days=3)})
    _write(migrated, old, 0, 4)
    _write(migrated, priced_request(2, "00000000000000d2"), 0, 2)
    monitor = new_monitor(migrated)
    monitor.refresh()
    assert monitor.current()["priced_houses"] == 6
    monitor.retention = timedelta(days=2)  # as if a day had passed; no house priced since
    monitor.refresh()
    assert count_rows(migrated) == 2
    assert monitor.current()["priced_houses"] == 2
    assert REGISTRY.get_sample_value("ml_api_store_rows", {"table": "predictions"}) == 2


def test_the_model_figures_are_labelled_with_the_version_served_one_at_a_time(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor]
) -> None:
    """The live, training and verdict gauges name the model they are of, so that a dashboard
    never mixes two models' figures in a rollout; a process exports one version's at a time
    (a new monitor drops the series of the one before)."""
    _write(migrated, priced_request(3), 0, 3)
    served = new_monitor(migrated)
    served.refresh()
    mine = {"model_version": MODEL_VERSION}
    assert REGISTRY.get_sample_value("ml_api_live_houses", mine) == 3
    assert REGISTRY.get_sample_value("ml_api_training_warned_share", mine) == 0.01
    level = {"check": "warned_share", **mine}
    assert REGISTRY.get_sample_value("ml_api_monitoring_level", level) is not None
    promoted = new_monitor(migrated, model_version="9.9.9")
    promoted.refresh()
    theirs = {"model_version": "9.9.9"}
    assert REGISTRY.get_sample_value("ml_api_live_houses", theirs) == 0  # none of its houses
    for name, labels in [
        ("ml_api_live_houses", mine),
        ("ml_api_training_warned_share", mine),
        ("ml_api_monitoring_level", level),
    ]:
        assert REGISTRY.get_sample_value(name, labels) is None, name


def test_a_process_without_model_figures_clears_nothing_so_a_worker_starts_unwarned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """prometheus_client warns of a gauge cleared in multiprocess mode (it does not implement
    it there): each worker's first monitor, which has no series to drop, logged that warning
    as the server started."""
    forget_model_figures()  # whatever earlier tests in this process left
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/nonexistent")  # what the warning reads
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forget_model_figures()


def _counting_measures(monitor: LiveMonitor, monkeypatch: pytest.MonkeyPatch) -> list[Window]:
    """The windows ``monitor`` measures from now on."""
    measured: list[Window] = []
    measure = monitor._measure

    def counted(window: Window) -> dict[str, Any]:
        measured.append(window)
        return measure(window)

    monkeypatch.setattr(monitor, "_measure", counted)
    return measured


def test_an_unchanged_store_is_measured_again_only_every_few_refreshes(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle store costs a few index lookups a refresh, and a measure every
    ``REMEASURE_TICKS`` (a change the lookups cannot see is seen then)."""
    _write(migrated, priced_request(3), 0, 3)
    monitor = new_monitor(migrated)
    measured = _counting_measures(monitor, monkeypatch)
    for _ in range(REMEASURE_TICKS):
        monitor.refresh()
    assert len(measured) == 1
    monitor.refresh()
    assert len(measured) == 2


def _shadow(
    engine: Engine,
    ids: Sequence[str],
    version: str,
    prices: list[float],
    ranges: tuple[float, float] = (0.9, 1.25),
) -> None:
    """A challenger's prices of the houses ``ids``, their range ``ranges`` times each."""
    low, high = ranges
    rows = [
        (house_id, version, *answer_values(price, SimpleNamespace(
            lower=low * price, upper=high * price, calibrated=True, partial=False), []))
        for house_id, price in zip(ids, prices, strict=True)
    ]  # fmt: skip
    names = [column.name for column in challenger_prices.columns]
    with engine.begin() as connection:
        connection.execute(
            insert(challenger_prices), [dict(zip(names, row, strict=True)) for row in rows]
        )


def test_a_challengers_prices_landing_after_their_houses_are_measured(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A challenger's prices are written about a second after the houses they price: a
    window measured in between stood for good, its comparison frozen (a probe's)."""
    request = priced_request(3)
    _write(migrated, request, 0, 3)
    monitor = new_monitor(migrated)
    measured = _counting_measures(monitor, monkeypatch)
    monitor.refresh()
    _shadow(migrated, request.ids, "0.2.1", [2.0] * 3)
    monitor.refresh()
    assert len(measured) == 2


def test_a_batch_of_sales_landing_after_a_later_stamped_one_is_measured(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of sales is stamped when its request begins and lands when its transaction
    commits: two batches posted at once (two clients, two workers) may land in the other
    order, the earlier-stamped last. A measure taken in between stood until the next
    ``REMEASURE_TICKS`` (5 minutes by default: a probe's), as the newest stamp it was keyed
    on did not move."""
    request = priced_request(2)
    _write(migrated, request, 0, 2)
    monitor = new_monitor(migrated)
    write_sales(migrated, [{"prediction_id": request.ids[0], "sale_price": 1e5,
                            "sold_on": "2010-06-30"}], reported_by=REPORTER)  # fmt: skip
    monitor.refresh()
    assert monitor.current()["sales"] == 1
    earlier = datetime.now(UTC) - timedelta(seconds=1)  # stamped before the first one
    monkeypatch.setattr(sales_module, "datetime", SimpleNamespace(now=lambda zone: earlier))
    write_sales(migrated, [{"prediction_id": request.ids[1], "sale_price": 1e5,
                            "sold_on": "2010-06-30"}], reported_by=REPORTER)  # fmt: skip
    monitor.refresh()
    assert monitor.current()["sales"] == 2


def test_a_late_batch_of_sales_is_measured_during_a_rollout(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same late batch while another version's houses sell: keyed on the last window of
    every version's sales, a window's worth of the other version's, stamped after the late
    batch, hid it (a review's); keyed on the served version's, it is measured."""
    served = priced_request(2)
    other = priced_request(100, "00000000000000bb", model_version="0.0.1")
    _write(migrated, served, 0, 2)
    _write(migrated, other, 0, 100)
    monitor = new_monitor(migrated)
    now = datetime.now(UTC)

    def sell(ids: Sequence[str], seconds_ago: int) -> None:
        stamp = now - timedelta(seconds=seconds_ago)
        monkeypatch.setattr(sales_module, "datetime", SimpleNamespace(now=lambda zone: stamp))
        write_sales(migrated, [{"prediction_id": i, "sale_price": 1e5, "sold_on": "2010-06-30"}
                               for i in ids], reported_by=REPORTER)  # fmt: skip

    sell(served.ids[:1], 10)
    sell(other.ids, 2)
    monitor.refresh()
    assert monitor.current()["sales"] == 1
    sell(served.ids[1:], 5)  # after the first, before the other version's
    monitor.refresh()
    assert monitor.current()["sales"] == 2


def test_the_store_is_pruned_a_bounded_batch_at_a_time(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retention lowered on a large store is applied over several refreshes, the oldest
    houses first, each refresh's transaction short."""
    monkeypatch.setattr(monitor_module, "PRUNE_HOUSES", 2)
    for age, token in ((5, "00000000000000e1"), (4, "00000000000000e2")):
        old = priced_request(3, token)
        _write(
            migrated,
            PricedRequest(**{**vars(old), "priced_at": old.priced_at - timedelta(days=age)}),
            0,
            3,
        )
    _write(migrated, priced_request(1, "00000000000000e3"), 0, 1)
    monitor = new_monitor(migrated, retention_days=1)
    left = []
    for _ in range(4):
        monitor.refresh()
        left.append(count_rows(migrated))
    assert left == [5, 3, 1, 1]
    assert monitor.current()["priced_houses"] == 1


def test_a_prune_that_fails_is_said_and_the_window_still_measured(
    migrated: Engine,
    new_monitor: Callable[..., LiveMonitor],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A role without DELETE, or a read-only replica, can still be read: a failed prune set
    the store as down (a critical alert) and stopped every measure."""
    old = priced_request(2)
    _write(
        migrated,
        PricedRequest(**{**vars(old), "priced_at": old.priced_at - timedelta(days=3)}),
        0,
        2,
    )

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("DELETE", {}, Exception("permission denied"))

    monkeypatch.setattr(monitor_module, "delete", refused)
    monitor = new_monitor(migrated, retention_days=1)
    with caplog.at_level(logging.WARNING, logger="api.monitor"):
        monitor.refresh()
    assert "could not be pruned (OperationalError)" in caplog.text
    assert monitor.current()["priced_houses"] == 2
    assert REGISTRY.get_sample_value("ml_api_database_up") == 1


def test_a_store_read_but_refusing_writes_is_down_until_a_write_succeeds(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor]
) -> None:
    """A monitoring probe's: with SQLite's write lock held for 130 s, no house was written, yet
    each refresh's successful read set ``ml_api_database_up`` back to 1 between failed writes,
    and its alert (a minute at 0) never fired. A failed write now holds it at 0, whatever the
    reads, until a write succeeds."""
    monitor = new_monitor(migrated)
    outage = Outage(migrated.url.render_as_string(hide_password=False))
    recorder = Recorder(outage, buffer_houses=10, batch_houses=100, health=monitor.store.health)
    recorder.start()
    try:
        recorder.record(priced_request(2))
        assert not recorder.flush(0.5)
        assert REGISTRY.get_sample_value("ml_api_database_up") == 0
        monitor.refresh()  # the store answers reads
        assert monitor.current()["priced_houses"] == 0
        assert REGISTRY.get_sample_value("ml_api_database_up") == 0
        outage.end()
        assert recorder.flush(15)
        assert REGISTRY.get_sample_value("ml_api_database_up") == 1
    finally:
        recorder.stop()


def test_a_write_or_read_in_flight_past_its_bounds_reads_down_until_it_ends() -> None:
    """A store that never answers holds a statement on an open connection, the bound
    notwithstanding, and fails nothing (tests/test_store_stall.py stops a real PostgreSQL)."""
    now = [100.0]
    health = StoreHealth(statement_timeout=2.0, clock=lambda: now[0])
    health.publish()
    attempts: tuple[Attempt, ...] = ("write", "read")
    for attempt in attempts:
        with health.attempt(attempt):
            now[0] += STALLED_BOUNDS * 2.0 - 0.1
            health.look()
            assert REGISTRY.get_sample_value("ml_api_database_up") == 1  # slow, not stalled
            now[0] += 0.1
            health.look()
            assert REGISTRY.get_sample_value("ml_api_database_up") == 0
        assert REGISTRY.get_sample_value("ml_api_database_up") == 1


@pytest.mark.integration
def test_a_worker_starts_with_its_store_up(service: PredictionService, client: TestClient) -> None:
    """A probe's: a new worker's gauge read 0 (prometheus-client's start for it) until its
    monitor's first refresh, a "down" on the dashboard at every worker replaced. (The session's
    client holds the service's background running: the stop here leaves it so.)"""
    assert service.store is not None
    DATABASE_UP.set(0)
    service.start_background()
    try:
        assert REGISTRY.get_sample_value("ml_api_database_up") == 1
    finally:
        service.stop_background()


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time 5 hours behind UTC (SQLite gives a stored time back without its
    zone: read as local, it would be off by them)."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_the_windows_hold_the_houses_of_the_model_served_and_their_sales(
    migrated: Engine, new_monitor: Callable[..., LiveMonitor]
) -> None:
    """After a promotion the windows held the old version's houses and sales too, judged
    against the new version's training figures (a probe's reading of the code). After a
    rollback, the old version's window is back, with the times its houses were priced: a
    probe's, nothing said how old they were."""
    new = priced_request(3, "00000000000000f2", model_version="0.3.0")
    old = priced_request(4, "00000000000000f1", model_version="0.2.0")
    old = PricedRequest(**{**vars(old), "priced_at": new.priced_at - timedelta(days=3)})
    old_second = old.priced_at.replace(microsecond=0).isoformat()
    assert new_monitor(migrated).current()["window"]["first_priced_at"] is None  # no house
    _write(migrated, old, 0, 4)
    _write(migrated, new, 0, 3)
    sold = [old.ids[0], old.ids[1], new.ids[0]]
    write_sales(migrated, [{"prediction_id": i, "sale_price": 1e5, "sold_on": "2010-06-30"}
                           for i in sold], reported_by=REPORTER)  # fmt: skip
    for version, houses, sales in (("0.3.0", 3, 1), ("0.2.0", 4, 2)):
        monitor = new_monitor(migrated)
        monitor.model_version = version
        figures = monitor.current()
        assert figures["model_version"] == version
        assert (figures["priced_houses"], figures["sales"]) == (houses, sales)
        window = figures["window"]
        if version == "0.2.0":  # back after a rollback: three days old
            assert window["first_priced_at"] == window["last_priced_at"] == old_second
        else:
            assert window["last_priced_at"] > old_second


#: The served model's and the challenger's versions, the comparison's gauges' labels.
PAIR = Versions("0.3.3", "0.4.0")


def _gauge(name: str, labels: dict[str, str]) -> float | None:
    """A comparison's gauge, of ``PAIR``."""
    pair = {"model_version": PAIR.champion, "challenger_version": PAIR.challenger}
    return REGISTRY.get_sample_value(name, {**labels, **pair})


def test_a_comparison_without_figures_sets_its_gauges_to_nan() -> None:
    """A challenger that stops pricing, or a window with no sale of a house both priced, has no
    figure: its gauges say so (NaN, as the live ones), not the last figure they had."""
    figures: dict[str, Any] = {
        "price_moves": {"beyond": {"0.02": 0.7}},
        "champion": {"rmsle": 0.11, "coverage": 0.9},
        "challenger": {"rmsle": 0.12, "coverage": None},
        "rmsle_difference": {"estimate": 0.01, "interval": (0.0, 0.02)},
        "verdict": "same",
    }
    _set_challenger_gauges(figures, PAIR)
    assert _gauge("ml_api_challenger_price_move_share", {"beyond": "0.02"}) == 0.7
    assert math.isnan(_gauge("ml_api_challenger_interval_coverage", {"model": "challenger"}) or 0)
    empty = {
        "price_moves": {"beyond": {"0.02": None}},
        "champion": None,
        "challenger": None,
        "rmsle_difference": None,
        "verdict": "not_enough_data",
    }
    _set_challenger_gauges(empty, PAIR)
    for name, labels in [
        ("ml_api_challenger_price_move_share", {"beyond": "0.02"}),
        ("ml_api_challenger_rmsle", {"model": "champion"}),
        ("ml_api_challenger_rmsle", {"model": "challenger"}),
        ("ml_api_challenger_rmsle_difference", {"bound": "estimate"}),
    ]:
        found = _gauge(name, labels)
        assert found is not None and math.isnan(found), (name, labels)


def test_sqlite_walks_the_sales_newest_first_for_the_window_of_a_version(tmp_path: Path) -> None:
    """Without statistics SQLite took the version's index for the sales window (every house
    the version ever priced, looked up for a sale, then sorted: 361 ms at 200,000 houses, a
    probe's 568 ms at 300,000): ``tables.not_indexed`` keeps it walking the sales newest first.
    PostgreSQL, which plans from statistics, is given the column as it is."""
    engine = make_engine(f"sqlite:///{tmp_path}/predictions.db")
    migrate(engine)
    window = monitoring_module_store._recent_sales(Window(10_000, 2000), MODEL_VERSION)
    compiled = window.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = " / ".join(
            str(step[-1]) for step in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
    engine.dispose()
    assert "ix_sales_received_at_prediction_id" in plan, plan
    assert "ix_predictions_model_version" not in plan, plan
    on_postgresql = str(window.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "predictions.model_version = " in on_postgresql


def test_a_promotion_keeps_the_pairs_sales_read_the_other_way_round(migrated: Engine) -> None:
    """A promotion swaps the pair's roles: the houses priced in the shadow before it, whose
    sales come back for weeks, were all dropped from the comparison at once (a probe's: 400
    sales, then 0). Read the other way round, they give the same figures, the roles swapped."""
    request = priced_request(6, model_version="0.2.0")  # served by 0.2.0, 0.3.0 in the shadow
    _write(migrated, request, 0, 6)
    _shadow(migrated, request.ids, "0.3.0", [120_000.0 + 1000 * i for i in range(6)])
    write_sales(migrated, [{"prediction_id": i, "sale_price": 118_000.0, "sold_on": "2010-06-30"}
                           for i in request.ids[:4]], reported_by=REPORTER)  # fmt: skip
    with migrated.connect() as connection:
        before = compare(connection, Versions("0.2.0", "0.3.0"), houses=100, window_sales=100,
                         min_sales=2, coverage_alert=0.8)  # fmt: skip
        after = compare(connection, Versions("0.3.0", "0.2.0"), houses=100, window_sales=100,
                        min_sales=2, coverage_alert=0.8)  # fmt: skip
    assert before["sales"] == after["sales"] == 4
    assert before["price_moves"]["houses"] == after["price_moves"]["houses"] == 6
    assert after["champion"] == before["challenger"] and after["challenger"] == before["champion"]
    assert after["rmsle_difference"]["estimate"] == -before["rmsle_difference"]["estimate"]
    # Below the sales a verdict needs, no figure (a probe's: of one sale, a model's error and
    # its price gave the sale's).
    with migrated.connect() as connection:
        few = compare(connection, Versions("0.2.0", "0.3.0"), houses=100, window_sales=100,
                      min_sales=5, coverage_alert=0.8)  # fmt: skip
    assert (few["sales"], few["champion"], few["challenger"]) == (4, None, None)
    assert few["verdict"] == "not_yet_known"


def _closer_challenger_missing_every_sale(
    engine: Engine, intervals: list[SimpleNamespace]
) -> dict[str, Any]:
    """The comparison over six houses the champion priced at 103,000 with ``intervals``, a
    challenger at 100,500 with ranges 1.01 to 1.25 times it (missing each sale), all sold at
    100,000: the challenger's prices closer, its ranges holding none of them."""
    request = dataclasses.replace(priced_request(6), prices=[103_000.0] * 6, intervals=intervals)
    _write(engine, request, 0, 6)
    _shadow(engine, request.ids, "0.3.0", [100_500.0] * 6, ranges=(1.01, 1.25))
    write_sales(engine, [{"prediction_id": i, "sale_price": 100_000.0, "sold_on": "2010-06-30"}
                         for i in request.ids], reported_by=REPORTER)  # fmt: skip
    with engine.connect() as connection:
        return compare(connection, Versions(MODEL_VERSION, "0.3.0"), houses=100,
                       window_sales=100, min_sales=2, coverage_alert=0.8)  # fmt: skip


@pytest.mark.parametrize("tosses", [*range(1, 41), 100, 999])
def test_the_sign_test_is_scipys_binomial_test(tosses: int) -> None:
    """McNemar's exact test, one-sided, as scipy computes it (the service no longer imports
    scipy for it: test_memory.py), for every count of heads."""
    for heads in range(tosses + 1):
        expected = binomtest(heads, tosses, 0.5, alternative="greater").pvalue
        assert at_least_as_many_heads(heads, tosses) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("champion_range", "verdict"),
    [((90_000.0, 110_000.0), "worse"), ((101_000.0, 110_000.0), "better")],
    ids=["champion-covers", "neither-covers"],
)
def test_a_challenger_whose_ranges_would_alert_is_worse_whatever_its_rmsle(
    migrated: Engine, champion_range: tuple[float, float], verdict: str
) -> None:
    """Ranges are half of an answer: a challenger pricing every sold house closer than the
    champion but with ranges that miss the sale prices (below the live check's alert bound,
    where the champion's are not) is worse; its RMSLE alone called it better. A window where
    the champion's ranges miss them too says nothing of the challenger's: the RMSLE decides."""
    lower, upper = champion_range
    interval = SimpleNamespace(lower=lower, upper=upper, calibrated=True, partial=False)
    compared = _closer_challenger_missing_every_sale(migrated, [interval] * 6)
    assert compared["challenger"]["coverage"] == 0.0
    assert compared["challenger"]["rmsle"] <= compared["champion"]["rmsle"]
    assert compared["verdict"] == verdict
    assert ("below the coverage alert's 0.8" in compared["summary"]) == (verdict == "worse")
    assert compared["ranges_would_alert"] == (verdict == "worse")


def test_a_challengers_ranges_are_not_judged_on_fewer_sales_than_the_checks_need(
    migrated: Engine,
) -> None:
    """Each model's coverage is over its own calibrated ranges, the test of the two over the
    sales both are calibrated for: the champion's range calibrated for one sale of six, a
    challenger whose ranges missed all six was worse by that one sale, where the live check
    would not judge so few. The RMSLE decides."""
    calibrated = SimpleNamespace(lower=90_000.0, upper=110_000.0, calibrated=True, partial=False)
    uncalibrated = SimpleNamespace(**{**vars(calibrated), "calibrated": False})
    compared = _closer_challenger_missing_every_sale(migrated, [calibrated] + [uncalibrated] * 5)
    assert (compared["champion"]["coverage"], compared["challenger"]["coverage"]) == (1.0, 0.0)
    assert compared["verdict"] == "better"
