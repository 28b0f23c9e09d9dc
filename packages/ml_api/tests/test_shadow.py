"""The challenger's prices written apart from the champion's (api/store/shadow.py), on SQLite
and on a real PostgreSQL: many requests priced in one call, the same ids, a challenger that
raises or falls behind counted and logged once, a failed write tried again with the same
prices, and what waits written on a stop. The model is a stand-in that prices by area."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from gradient_boosting_model import TrainedModel
from prometheus_client import REGISTRY
from sqlalchemy import Engine, delete, select

from api import challenger as challenger_module
from api.challenger import Challenger
from api.store import shadow as shadow_module
from api.store.health import StoreHealth
from api.store.recorder import PricedRequest, Recorder, write_rows
from api.store.shadow import ShadowWriter
from api.store.tables import challenger_prices, predictions
from tests.stores import Outage, count_rows, priced_request

pytestmark = pytest.mark.external  # PostgreSQL is a Debian package

VERSION = "9.9.9+stand-in"


class StandIn:
    """A challenger's model: 200 dollars a square foot; raises while ``broken``, or for a
    house marked ``refused``. Counts its calls, and the houses of each."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.broken = False

    def price(self, houses: Sequence[Mapping[str, Any]], *, model: object) -> SimpleNamespace:
        self.calls.append(len(houses))
        if self.broken or any("refused" in house for house in houses):
            raise RuntimeError("the challenger broke")
        return SimpleNamespace(
            predictions=[200.0 * house["GrLivArea"] for house in houses],
            intervals=[SimpleNamespace(lower=1.0, upper=2.0, calibrated=False, partial=False)]
            * len(houses),
            warnings=[[] for _ in houses],
        )


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    model = StandIn()
    monkeypatch.setattr(challenger_module, "price_houses", model.price)
    return model


def _challenger() -> Challenger:
    return Challenger(
        model=cast(TrainedModel, None),
        card={"version": VERSION},
        artifact=Path(f"gradient_boosting_model_v{VERSION}.joblib"),
    )


def _factory(engine: Engine) -> Outage:
    """An engine factory for ``engine``'s database, up (``Outage.end`` called)."""
    factory = Outage(engine.url.render_as_string(hide_password=False))
    factory.end()
    return factory


def _recorded(engine: Engine, *requests: PricedRequest) -> list[PricedRequest]:
    """``requests`` written as the champion's writer writes them (the challenger's rows
    reference theirs)."""
    with engine.begin() as connection:
        write_rows(connection, [row for r in requests for row in r.rows(0, len(r))])
    return list(requests)


def _shadow_prices(engine: Engine) -> dict[str, tuple[str, float]]:
    with engine.connect() as connection:
        rows = connection.execute(select(challenger_prices))
        return {row.prediction_id: (row.model_version, row.price) for row in rows}


def _failed() -> float:
    return REGISTRY.get_sample_value("ml_api_challenger_failed_houses_total") or 0.0


def test_recorded_requests_are_priced_in_one_call_and_stored_under_their_ids(
    migrated: Engine, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder hands each request over once written; the challenger prices what came
    over several of the recorder's writes together, and its rows carry the houses' ids."""
    monkeypatch.setattr(shadow_module, "SHADOW_SECONDS", 60.0)  # only the flush wakes it
    shadow = ShadowWriter(_factory(migrated), _challenger(), buffer_houses=1000,
                          batch_houses=1000)  # fmt: skip
    recorder = Recorder(
        _factory(migrated), buffer_houses=1000, batch_houses=2, health=StoreHealth(), shadow=shadow
    )
    requests = [priced_request(1, f"{index:016x}") for index in range(6)]
    requests.append(priced_request(3, "00000000000000ff"))
    for priced in requests:  # before the writers run: three writes of the recorder's
        recorder.record(priced)
    recorder.start()
    assert recorder.flush(10)
    recorder.stop()
    assert count_rows(migrated) == 9
    assert stand_in.calls == [9]
    expected = {i: (VERSION, 200.0 * house["GrLivArea"])
                for r in requests for i, house in zip(r.ids, r.houses, strict=True)}  # fmt: skip
    assert _shadow_prices(migrated) == expected


def test_a_call_prices_at_most_a_batch_of_whole_requests(
    migrated: Engine, stand_in: StandIn
) -> None:
    requests = [priced_request(2, f"{index:016x}") for index in range(4)]
    requests.append(priced_request(5, "00000000000000ff"))  # larger than a batch: alone
    shadow = ShadowWriter(_factory(migrated), _challenger(), buffer_houses=100, batch_houses=4)
    shadow.hand_over(_recorded(migrated, *requests))
    shadow.start()
    assert shadow.flush(10)
    shadow.stop()
    assert stand_in.calls == [4, 4, 5]
    assert count_rows(migrated, challenger_prices) == 13


def test_a_challenger_that_raises_is_counted_and_logged_once_and_prices_again(
    migrated: Engine, stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """No row of its own for what it could not price, each house counted, one log line for
    the run of failures; a request it refuses among others costs only its own prices."""
    shadow = ShadowWriter(_factory(migrated), _challenger(), buffer_houses=100, batch_houses=4)
    shadow.start()
    failed = _failed()
    stand_in.broken = True
    with caplog.at_level(logging.WARNING):
        for index in range(3):  # three runs of the thread: one log line
            shadow.hand_over(_recorded(migrated, priced_request(2, f"{index:016x}")))
            assert shadow.flush(10)
        stand_in.broken = False
        refused = priced_request(1, "00000000000000fe")
        refused.houses[0]["refused"] = True
        again = _recorded(migrated, priced_request(2, "00000000000000ff"), refused)
        shadow.hand_over(again)
        assert shadow.flush(10)
    shadow.stop()
    assert _failed() - failed == 7
    assert set(_shadow_prices(migrated)) == set(again[0].ids)
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in logged] == ["ERROR", "WARNING", "ERROR"], logged
    assert "could not price 2 houses (RuntimeError)" in logged[0][1]
    assert "prices again" in logged[1][1]
    assert all("1000" not in message for _, message in logged)  # no value of a house


def test_houses_past_the_buffer_go_unpriced_counted_and_logged_once(
    migrated: Engine, stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    shadow = ShadowWriter(_factory(migrated), _challenger(), buffer_houses=5, batch_houses=100)
    failed = _failed()
    requests = _recorded(migrated, *(priced_request(2, f"{i:016x}") for i in range(4)))
    with caplog.at_level(logging.WARNING, logger="api.store.shadow"):
        shadow.hand_over(requests[:3])  # the third does not fit
        shadow.hand_over(requests[3:])  # nor the fourth: the same run, logged once
    assert _failed() - failed == 4
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert shadow.pending == 4
    shadow.start()
    assert shadow.flush(10)
    shadow.stop()
    assert set(_shadow_prices(migrated)) == {*requests[0].ids, *requests[1].ids}


def test_a_failed_write_is_tried_again_with_the_same_prices(
    migrated: Engine, stand_in: StandIn
) -> None:
    outage = Outage(migrated.url.render_as_string(hide_password=False))
    shadow = ShadowWriter(outage, _challenger(), buffer_houses=100, batch_houses=100)
    shadow.hand_over(_recorded(migrated, priced_request(3)))
    shadow.start()
    assert not shadow.flush(0.5)  # down: priced, not written
    outage.end()
    assert shadow.flush(15)
    shadow.stop()
    assert stand_in.calls == [3]
    assert len(_shadow_prices(migrated)) == 3


def test_prices_the_database_refuses_are_left_out_and_the_rest_written(
    migrated: Engine, stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A house pruned (retention) between its handing over and its challenger's write: its
    price names a house no longer stored, and the database refuses the batch for it. The
    batch was tried again for ever; now that request's prices alone are left out, and logged."""
    pruned, kept = priced_request(2, "00000000000000b1"), priced_request(3, "00000000000000b2")
    shadow = ShadowWriter(_factory(migrated), _challenger(), buffer_houses=100, batch_houses=100)
    shadow.hand_over(_recorded(migrated, pruned, kept))
    with migrated.begin() as connection:
        connection.execute(delete(predictions).where(predictions.c.id.in_(pruned.ids)))
    failed = _failed()
    with caplog.at_level(logging.ERROR, logger="api.store.refusals"):
        shadow.start()
        assert shadow.flush(10)
    shadow.stop()
    assert set(_shadow_prices(migrated)) == set(kept.ids)
    assert _failed() == failed  # priced: priced and failed still add up to the handed over
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1 and messages[0].startswith(f"challenger {VERSION} (its prices")
    assert "the database refused 2 of the houses of request test" in messages[0]


def test_a_stop_prices_and_writes_what_waits(migrated: Engine, stand_in: StandIn) -> None:
    """Within the recorder's stop: the champion's queue written, then the challenger's."""
    shadow = ShadowWriter(_factory(migrated), _challenger(), buffer_houses=100, batch_houses=100)
    recorder = Recorder(
        _factory(migrated), buffer_houses=100, batch_houses=7, health=StoreHealth(), shadow=shadow
    )
    failed = _failed()
    for token in ("0000000000000021", "0000000000000022"):
        recorder.record(priced_request(20, token))  # before the writers run
    recorder.start()
    recorder.stop()
    assert count_rows(migrated) == count_rows(migrated, challenger_prices) == 40
    assert shadow.pending == 0 and _failed() == failed


def _database_down() -> Engine:
    raise ConnectionError("the database is down")


def test_a_stop_with_the_database_down_counts_the_unpriced(
    migrated: Engine, stand_in: StandIn
) -> None:
    """Priced + failed = handed over: what the stop leaves unpriced is counted as failed."""
    shadow = ShadowWriter(_database_down, _challenger(), buffer_houses=100, batch_houses=2)
    failed = _failed()
    shadow.hand_over(_recorded(migrated, *(priced_request(2, f"{i:016x}") for i in range(3))))
    shadow.start()
    shadow.stop(timeout=2)
    assert stand_in.calls == [2]  # the first batch priced, never written
    assert _failed() - failed == 4
    assert shadow.pending == 0
