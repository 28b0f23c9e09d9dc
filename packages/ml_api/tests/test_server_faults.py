"""Faults against the real server (gunicorn, uvicorn workers) on 127.0.0.1, bounded in time.

A worker killed under load is replaced and every later request succeeds; SIGTERM under load
lets every in-flight request finish; a missing or corrupt model stops start-up at once; the
master's own values of the live gauges (it loads the app) do not pass for a worker's.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.config import Settings
from api.store.database import make_engine, migrate
from tests.stores import wait_for
from tools import server as real_server

pytestmark = [pytest.mark.integration, pytest.mark.server]

CLOSE = {"Connection": "close"}  # a fresh connection each time: no stale keep-alive sockets


@pytest.fixture
def running(tmp_path: Path) -> Iterator[real_server.Server]:
    with real_server.running(tmp_path / "server.log") as server:
        yield server


@dataclass
class Load:
    """Single-house requests from a few threads until stopped, each outcome timed."""

    url: str
    body: list[dict[str, Any]]
    outcomes: list[tuple[float, int | str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self, threads: int = 4, max_requests: int = 4000) -> threading.Thread:
        def worker() -> None:
            with httpx.Client(timeout=10) as client:
                while not self.stopping.is_set() and len(self.outcomes) < max_requests:
                    started = time.monotonic()
                    try:
                        response = client.post(
                            f"{self.url}/v1/predictions", json=self.body, headers=CLOSE
                        )
                        outcome: int | str = response.status_code
                    except httpx.HTTPError as error:
                        outcome = type(error).__name__
                    self.outcomes.append((started, outcome))

        pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for thread in pool:
            thread.start()

        def join() -> None:
            for thread in pool:
                thread.join()

        joiner = threading.Thread(target=join, daemon=True)
        joiner.start()
        return joiner


def _values(url: str) -> dict[str, list[float]]:
    """Each sample's values in a server's ``/metrics``, by the sample's name."""
    values: dict[str, list[float]] = {}
    for sample in real_server.metric_samples(url):
        values.setdefault(sample.name, []).append(sample.value)
    return values


def test_the_store_is_up_when_the_workers_reach_it_and_training_figures_are_given(
    tmp_path: Path, house: dict[str, Any]
) -> None:
    """The master made ``ml_api_database_up`` (a gauge of the smallest value over the live
    processes) 0 as it loaded the app, and never set it: it was 0 whatever the workers saw,
    and its alert fired for ever. Every training figure the monitoring compares with has its
    gauge (the coverage had none: its name there is not the gauge's). A store of its own:
    another's writers (the session's) could lock it, and the gauge would say so."""
    engine = make_engine(Settings(state_dir=tmp_path).store_url)
    migrate(engine)
    engine.dispose()
    env = {"ML_API_STATE_DIR": str(tmp_path)}
    with real_server.running(tmp_path / "server.log", env=env) as server:
        answer = httpx.post(f"{server.url}/v1/predictions", json=[house], headers=CLOSE)
        assert answer.status_code == 200
        wait_for(lambda: _values(server.url).get("ml_api_recorded_houses_total") == [1.0])
        # Set by the worker that wrote it; the other's monitor may not have looked yet.
        wait_for(lambda: _values(server.url).get("ml_api_database_up") == [1.0], timeout=10)
        metrics = _values(server.url)
    assert metrics["ml_api_database_up"] == [1.0], metrics
    for figure in ("rmsle", "median_ape", "interval_coverage", "warned_share"):
        (value,) = metrics[f"ml_api_training_{figure}"]
        assert 0 < value < 1, figure
    # What MlApiAccuracyUnjudged compares the window's calibrated sales with.
    assert metrics["ml_api_monitoring_min_sales"] == [Settings().monitoring_min_sales]


def test_a_reload_keeps_what_the_master_measured(tmp_path: Path, house: dict[str, Any]) -> None:
    """SIGHUP: gunicorn reads its config file again and replaces the workers (the app stays
    loaded, ``preload_app``). The config file emptied the metrics folder as it was read, so a
    reload deleted the master's files: the model's info and the training figures were gone from
    /metrics until a restart, and the live workers' counts with them."""
    engine = make_engine(Settings(state_dir=tmp_path).store_url)
    migrate(engine)
    engine.dispose()
    env = {"ML_API_STATE_DIR": str(tmp_path)}
    with real_server.running(tmp_path / "server.log", env=env) as server:
        assert httpx.post(f"{server.url}/v1/predictions", json=[house], headers=CLOSE).is_success
        before = _values(server.url)
        old_workers = set(server.workers())
        os.kill(server.process.pid, signal.SIGHUP)
        wait_for(
            lambda: len(server.workers()) == 2 and not old_workers & set(server.workers()),
            timeout=30,
        )
        after = _values(server.url)
    for name in ("ml_api_model_info", "ml_api_training_rmsle", "ml_api_startup_seconds"):
        assert after.get(name) == before[name], name
    # What the old workers counted is kept, as a dead worker's is.
    assert sum(after["ml_api_http_requests_total"]) >= sum(before["ml_api_http_requests_total"])


def test_a_killed_worker_is_replaced_and_later_requests_succeed(
    running: real_server.Server, house: dict[str, Any]
) -> None:
    load = Load(running.url, [house])
    joiner = load.run()
    wait_for(lambda: len(load.outcomes) >= 50)
    before = running.workers()
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(running.workers()) == 2 and victim not in running.workers())
    replaced_at = time.monotonic()
    wait_for(lambda: sum(started > replaced_at for started, _ in load.outcomes) >= 200)
    load.stopping.set()
    joiner.join(timeout=30)

    after = [outcome for started, outcome in load.outcomes if started > replaced_at]
    during = [outcome for started, outcome in load.outcomes if started <= replaced_at]
    print(
        f"\nSIGKILL worker {victim}: {len(during)} requests before replacement "
        f"({sum(o != 200 for o in during)} failed), {len(after)} after (all must succeed)"
    )
    assert set(running.workers()) - set(before)  # a new worker took the victim's place
    assert after and all(outcome == 200 for outcome in after), after


def test_sigterm_lets_every_in_flight_request_finish(
    running: real_server.Server, request_rows: list[dict[str, Any]]
) -> None:
    body = json.dumps(request_rows).encode()  # all 1459 houses: each request takes a while
    sent = 8
    delivered = [threading.Event() for _ in range(sent)]

    def post(index: int) -> httpx.Response:
        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "http11.send_request_body.complete":
                delivered[index].set()  # the whole request is with the server

        with httpx.Client(timeout=60) as client:
            return client.post(
                f"{running.url}/v1/predictions",
                content=body,
                headers={**CLOSE, "Content-Type": "application/json"},
                extensions={"trace": trace},
            )

    with ThreadPoolExecutor(max_workers=sent) as pool:
        futures = [pool.submit(post, index) for index in range(sent)]
        assert all(event.wait(timeout=30) for event in delivered)
        in_flight = sum(not future.done() for future in futures)
        running.process.send_signal(signal.SIGTERM)
        responses = [future.result() for future in futures]
    code = running.process.wait(timeout=60)
    finished = [
        r for r in responses if r.status_code == 200 and len(r.json()["predictions"]) == 1459
    ]
    print(
        f"\nSIGTERM with {in_flight} of {sent} requests in flight: "
        f"{len(finished)} of {sent} finished, exit {code}"
    )
    assert in_flight > 0, "no request was in flight: make the requests heavier"
    assert len(finished) == sent
    assert code == 0


def test_a_quick_shutdown_stops_the_workers_at_once(tmp_path: Path) -> None:
    """SIGINT to the master alone (gunicorn's quick shutdown: SIGQUIT to each worker) left the
    workers serving until it killed them, the graceful timeout (30 s) later. (A terminal's
    Ctrl-C signals every process of the group, which stopped at once.) Each worker ends its app
    as at any stop: uvicorn skips the app's shutdown on a quick one, and each worker logged the
    cancelled lifespan as an ERROR traceback."""
    with real_server.running(tmp_path / "server.log", {"ML_API_GRACEFUL_TIMEOUT": "20"}) as server:
        started = time.monotonic()
        server.process.send_signal(signal.SIGINT)
        code = server.process.wait(timeout=30)
        taken = time.monotonic() - started
        output = server.output()
        assert "was sent SIGKILL" not in output, output[-2000:]
    assert taken < 10, f"the workers stopped {taken:.1f} s after the master's SIGINT"
    assert code == 0
    assert '"level":"ERROR"' not in output and "Traceback" not in output, output[-3000:]
    assert output.count("Application shutdown complete") == 2, output[-3000:]  # each worker


def test_a_worker_told_to_stop_is_not_ready_while_it_drains_and_still_prices(
    tmp_path: Path, house: dict[str, Any]
) -> None:
    drain = 4.0
    env = {"ML_API_DRAIN_SECONDS": str(drain)}
    with real_server.running(tmp_path / "server.log", env) as server:
        assert httpx.get(f"{server.url}/ready", headers=CLOSE).status_code == 200
        server.process.send_signal(signal.SIGTERM)
        told = time.monotonic()

        def both_heard() -> bool:
            """Each worker logs this once draining (api/worker.py): a 503 from one said
            nothing of the other, which a loaded machine signalled 0.1 s later (a 200 then)."""
            return server.output().count("told to stop: accepting for") == 2

        wait_for(both_heard, timeout=drain / 2)
        ready = httpx.get(f"{server.url}/ready", headers=CLOSE, timeout=2)
        prices = httpx.post(f"{server.url}/v1/predictions", json=[house], headers=CLOSE, timeout=5)
        later = [
            httpx.get(f"{server.url}/ready", headers=CLOSE, timeout=2).status_code
            for _ in range(10)
        ]
        within = time.monotonic() - told
        code = server.process.wait(timeout=60)
    assert within < drain, "the checks outlasted the drain: lengthen it"
    assert ready.json()["status"] == 503
    assert ready.headers["retry-after"]
    assert prices.status_code == 200  # draining, it still takes what reaches it
    assert later == [503] * 10  # each worker, on any connection, says it is not ready
    assert code == 0


def test_a_drain_longer_than_the_graceful_timeout_is_served_to_its_end(
    tmp_path: Path, house: dict[str, Any]
) -> None:
    """gunicorn's clock for killing busy workers starts at SIGTERM; a drain must not use up
    the time the requests in flight are given (ServerSettings.shutdown_seconds)."""
    drain, graceful = 3.0, 1
    env = {"ML_API_DRAIN_SECONDS": str(drain), "ML_API_GRACEFUL_TIMEOUT": str(graceful)}
    with real_server.running(tmp_path / "server.log", env) as server:
        server.process.send_signal(signal.SIGTERM)
        told = time.monotonic()
        time.sleep(graceful + 1)  # past the graceful timeout, within the drain
        late = httpx.post(f"{server.url}/v1/predictions", json=[house], headers=CLOSE, timeout=5)
        within = time.monotonic() - told
        code = server.process.wait(timeout=60)
        log = server.output()
    assert within < drain, "the request came after the drain: lengthen it"
    assert late.status_code == 200
    assert "SIGKILL" not in log, log[-2000:]
    assert log.count("told to stop: accepting for 3 s more") == 2  # each worker says so
    # uvicorn's loop closed the listening socket's descriptor before gunicorn did: no "Error".
    assert "Error while closing socket" not in log
    assert code == 0


@pytest.mark.parametrize("content", [None, b"not a model"], ids=["missing", "corrupt"])
def test_a_bad_model_stops_start_up_naming_the_file(tmp_path: Path, content: bytes | None) -> None:
    artifact = tmp_path / "model.joblib"
    if content is not None:
        artifact.write_bytes(content)
    server = real_server.start(tmp_path / "server.log", {"ML_API_MODEL_ARTIFACT": str(artifact)})
    try:
        started = time.monotonic()
        code = server.process.wait(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        real_server.stop(server)
    print(
        f"\n{artifact.name} {'corrupt' if content else 'missing'}: exit {code} in {elapsed:.1f} s"
    )
    assert code != 0
    assert f"ml_api cannot start: model artifact {'' if content else 'not found: '}" in (
        server.output()
    )
    assert str(artifact) in server.output()
    assert "Traceback" not in server.output()  # one sentence, not gunicorn's 60 lines
    assert "make train" not in server.output()  # the packaged model's hint, not this file's
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health", timeout=2)


def test_a_refused_setting_stops_start_up_in_one_sentence(tmp_path: Path) -> None:
    server = real_server.start(tmp_path / "server.log", {"ML_API_FEEDBACK_TOKENS": "short"})
    try:
        code = server.process.wait(timeout=60)
    finally:
        real_server.stop(server)
    assert code != 0
    assert "ml_api cannot start: 1 validation error for Settings" in server.output()
    assert "token 1 of 1 is 5 characters long" in server.output()
    assert "Traceback" not in server.output()
