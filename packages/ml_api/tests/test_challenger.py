"""A challenger priced in the shadow: recorded beside the served model, compared on the sales
that come back, and never seen by a client, even when it fails."""

from __future__ import annotations

import copy
import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gradient_boosting_model import TrainedModel, load_card, load_model, make_prediction
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.persistence import artifact_path, holdout_model_path
from gradient_boosting_model.tolerances import json_differences
from prometheus_client import REGISTRY
from pydantic import ValidationError
from sqlalchemy import select
from starlette.testclient import TestClient

from api import config
from api.app import create_app, start_service
from api.monitor import _set_challenger_gauges
from api.service import PredictionService
from api.store.comparison import (
    Versions,
    comparison_verdict,
    paired_bootstrap,
    ranges_would_alert,
)
from api.store.database import StoreError
from api.store.tables import challenger_prices, predictions
from tests.conftest import FEEDBACK_TOKEN
from tools.challengers import CHALLENGER_VERSION, write_challenger

AUTH = {"Authorization": f"Bearer {FEEDBACK_TOKEN}"}
#: A pair of versions the comparison's gauges are labelled with.
PAIR = Versions("0.3.3", "0.4.0")
PAIR_LABELS = {"model_version": "0.3.3", "challenger_version": "0.4.0"}


def test_a_challenger_needs_recording(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ML_API_RECORDING is off"):
        config.Settings(challenger_artifact=tmp_path / "x.joblib", recording=False)


def test_a_comparison_of_houses_none_calibrated_sets_the_gauges_it_has() -> None:
    """Coverage is measured on the ranges marked calibrated: over sales of houses that left
    details out there is none (None), and the monitor sets the RMSLEs without it (a TypeError
    there stopped every gauge after it)."""
    figures = {"rmsle": 0.25, "coverage": None}
    compared = {
        "price_moves": {"beyond": {"0.05": 0.5}},
        "champion": figures,
        "challenger": {**figures, "rmsle": 0.24},
        "rmsle_difference": None,
        "verdict": "not_yet_known",
    }
    _set_challenger_gauges(compared, PAIR)
    labels = {"model": "challenger", **PAIR_LABELS}
    rmsle = REGISTRY.get_sample_value("ml_api_challenger_rmsle", labels)
    assert rmsle == 0.24
    coverage = REGISTRY.get_sample_value("ml_api_challenger_interval_coverage", labels)
    assert coverage is not None and math.isnan(coverage)  # not a stale figure


def test_the_paired_bootstrap_sees_a_small_steady_gain_that_unpaired_would_not() -> None:
    """Errors that both models share cancel out when the sales are resampled together: a
    challenger 5% better on every one of 60 hard and easy houses is ``better``; resampling the
    two models' sales apart would give an interval across zero."""
    generator = np.random.default_rng(1)
    champion = generator.lognormal(-5, 1.5, size=60)  # squared log errors, very unequal
    _, high = paired_bootstrap(champion, champion * 0.95)
    assert high < 0
    same_low, same_high = paired_bootstrap(champion, champion)
    assert same_low == same_high == 0.0
    # The planted fault: the challenger's sales resampled apart from the champion's.
    apart_low, apart_high = paired_bootstrap(champion, generator.permutation(champion) * 0.95)
    assert apart_low < 0 < apart_high


@pytest.mark.parametrize(
    ("sales", "interval"),
    [
        (2, (0.0, 0.03744311387626573)),
        (61, (-0.027641086396464825, 0.006757093071501885)),
        (263, (-0.015492941626244825, 0.0029534161489211705)),
    ],
)
def test_the_paired_bootstrap_draws_the_interval_it_drew_on_its_own(
    sales: int, interval: tuple[float, float]
) -> None:
    """The interval, to the bit, that the service drew before it called the model package's
    bootstrap (``paired_interval``) on these sales: squared errors of exact thousandths, so
    that no machine's logarithm or exponential differs in its last bit."""
    positions = np.arange(sales)
    champion = ((positions * 37) % 101 + 1) / 1000
    challenger = ((positions * 53) % 97 + 1) / 1000
    assert paired_bootstrap(champion, challenger) == interval


def test_a_challenger_that_prices_every_sold_house_alike_is_the_same_not_unknown() -> None:
    """A release that changes only warnings (0.3.1 beside 0.3.0) answers every house alike: its
    interval is 0 to 0, which more sales would never move; the verdict says so."""
    logs = np.log(np.array([150_000.0, 210_000.0, 98_000.0]))
    champion = np.stack([logs, np.exp(logs) * 0.8, np.exp(logs) * 1.2, np.ones(3)])
    assert comparison_verdict(champion, champion.copy(), (0.0, 0.0), moved=False) == "same"
    # Alike on the sales, not on a house of the window not sold yet: a sale may tell them apart.
    assert comparison_verdict(champion, champion, (0.0, 0.0), moved=True) == "not_yet_known"
    moved = champion + np.array([[0.0, 1e-9, 0.0], [0.0] * 3, [0.0] * 3, [0.0] * 3])
    assert comparison_verdict(champion, moved, (0.0, 0.0), moved=True) == "not_yet_known"
    assert comparison_verdict(champion, moved, (-0.01, -0.001), moved=True) == "better"
    assert comparison_verdict(champion, moved, (0.001, 0.01), moved=True) == "worse"


@pytest.mark.parametrize("row", [1, 2, 3], ids=["lower", "upper", "calibrated"])
def test_a_challenger_with_the_same_prices_and_other_ranges_is_not_the_same(row: int) -> None:
    """The same prices with narrower ranges (a probe's recalibrated 0.3.8: coverage 0.911 ->
    0.903 on the holdout) were judged the same; a range is half of what a house is answered."""
    logs = np.log(np.array([150_000.0, 210_000.0, 98_000.0]))
    champion = np.stack([logs, np.exp(logs) * 0.8, np.exp(logs) * 1.2, np.ones(3)])
    other = champion.copy()
    other[row, 1] = 0.0 if row == 3 else other[row, 1] * (1.01 if row == 1 else 0.99)
    assert comparison_verdict(champion, other, (0.0, 0.0), moved=False) == "not_yet_known"


def test_ranges_that_would_alert_by_a_sale_or_two_are_not_worse() -> None:
    """The challenger's ranges count as alerting only when they hold fewer sale prices than
    the alert bound, the champion's do not, and McNemar's exact test, over at least the sales
    the checks need, says it is not chance: 23 of 30 inside against the champion's 24 (one
    sale) is chance; 12 of 30 is not."""
    champion = np.array([True] * 24 + [False] * 6)
    one_sale = champion.copy()
    one_sale[0] = False
    assert not ranges_would_alert((24 / 30, 23 / 30), champion, one_sale, 0.8, 30)
    far = np.array([True] * 12 + [False] * 18)
    assert ranges_would_alert((24 / 30, 12 / 30), champion, far, 0.8, 30)
    # The champion's below the bound too (a hard window), or no coverage to judge: never.
    assert not ranges_would_alert((0.7, 12 / 30), champion, far, 0.8, 30)
    assert not ranges_would_alert((None, 12 / 30), champion, far, 0.8, 30)
    assert not ranges_would_alert((0.8, 0.4), champion[:0], far[:0], 0.8, 30)
    # Fewer sales calibrated for both than the checks need: a challenger that marked one range
    # of 30 calibrated and missed it (its coverage 0) is not judged on that one sale.
    assert not ranges_would_alert((24 / 30, 0.0), champion[:1], ~champion[:1], 0.8, 30)


@pytest.mark.parametrize(("missed", "alerting"), [(3, False), (4, False), (5, True)])
def test_a_few_sales_across_the_bound_are_chance_however_many_sales_there_are(
    missed: int, alerting: bool
) -> None:
    """The holdout's 263 sales, the champion's range holding 211 (0.802, above the 0.80 bound)
    and the challenger's the same but ``missed`` (below it): 3 of 3 sales one way happen 1 time
    in 8 by chance, and a paired bootstrap called it worse at any window size, failing a
    replay; 5 of 5 (1 in 32) is past the 5% of the RMSLE interval's tail, 4 of 4 (1 in 16)
    is not."""
    champion = np.array([True] * 211 + [False] * 52)
    challenger = champion.copy()
    challenger[:missed] = False
    coverages = (float(champion.mean()), float(challenger.mean()))
    assert coverages[1] < 0.8 <= coverages[0]
    assert ranges_would_alert(coverages, champion, challenger, 0.8, 30) is alerting
    # A sale the other way among them (the challenger's range holding one the champion's
    # missed) weighs against it: 5 of 6 one way is chance (p = 7/64).
    challenger[-1] = True
    assert not ranges_would_alert(coverages, champion, challenger, 0.8, 30)


@pytest.fixture(scope="module")
def shadowed(
    tmp_path_factory: pytest.TempPathFactory, holdout_artifact: Path
) -> Iterator[tuple[TestClient, PredictionService]]:
    """An app with a challenger and an empty store of its own, serving the model the holdout
    measures (the packaged one's twin where it was fitted on the holdout too), of which the
    challenger is made: the two compared on the holdout's sales, neither fitted on them."""
    folder = tmp_path_factory.mktemp("challenger")
    settings = config.Settings(
        environment="testing",
        state_dir=folder,
        model_artifact=holdout_artifact,
        challenger_artifact=write_challenger(folder),
        feedback_tokens=FEEDBACK_TOKEN,
    )
    service = start_service(settings)
    with create_app(settings, service=service).test_client() as client:
        yield client, service


def _shadow_rows(service: PredictionService, ids: list[str]) -> dict[str, Any]:
    assert service.store is not None
    with service.store.engine.connect() as connection:
        query = select(challenger_prices).where(challenger_prices.c.prediction_id.in_(ids))
        return {row.prediction_id: row for row in connection.execute(query)}


@pytest.mark.integration
def test_the_challenger_prices_each_house_in_the_shadow_and_is_compared_on_its_sales(
    shadowed: tuple[TestClient, PredictionService],
) -> None:
    client, service = shadowed
    settings = load_config()
    houses, sale_prices = features_and_target(split_holdout(settings).holdout, settings)
    answer = client.post("/v1/predictions", json=houses)
    assert answer.status_code == 200
    body = answer.json()
    # The client sees the served model only, exactly as without a challenger.
    served = make_prediction(houses, model=service.model)
    assert not json_differences(served.predictions, body["predictions"])
    assert body["model_version"] == service.model_version != CHALLENGER_VERSION
    assert client.get("/v1/model").json()["challenger_version"] == CHALLENGER_VERSION
    # Neither model saw the holdout's houses: the comparison on their sales means something.
    assert service.challenger is not None
    assert service.card["fitted_on"] == service.challenger.card["fitted_on"] == "training_split"

    assert service.recorder is not None and service.recorder.flush(30)
    ids = body["prediction_ids"]
    rows = _shadow_rows(service, ids)
    assert service.challenger is not None
    expected = make_prediction(houses, model=service.challenger.model)
    assert [rows[i].model_version for i in ids] == [CHALLENGER_VERSION] * len(ids)
    assert not json_differences(expected.predictions, [rows[i].price for i in ids])
    assert not json_differences([i.upper for i in expected.intervals], [rows[i].upper for i in ids])

    sold = [
        {"prediction_id": i, "sale_price": float(price), "sold_on": "2010-06-30"}
        for i, price in zip(ids, sale_prices, strict=True)
    ]
    assert client.post("/v1/sales", json=sold, headers=AUTH).status_code == 200
    window = {"predictions": len(houses), "sales": len(houses)}
    compared = client.get("/v1/monitoring", params=window, headers=AUTH).json()["challenger"]
    assert compared["model_version"] == CHALLENGER_VERSION
    assert compared["champion_version"] == service.model_version
    assert compared["sales"] == len(houses)
    truth = np.log(np.asarray(sale_prices, dtype=float))

    def rmsle(prices: list[float]) -> float:
        return float(np.sqrt(np.mean((np.log(prices) - truth) ** 2)))

    assert compared["champion"]["rmsle"] == pytest.approx(rmsle(served.predictions), abs=1e-6)
    assert compared["challenger"]["rmsle"] == pytest.approx(rmsle(expected.predictions), abs=1e-6)
    moves = np.abs(np.array(expected.predictions) / np.array(served.predictions) - 1)
    assert compared["price_moves"]["houses"] == len(houses)
    assert compared["price_moves"]["beyond"]["0.02"] == pytest.approx(np.mean(moves > 0.02))
    assert compared["price_moves"]["largest"] == pytest.approx(moves.max(), rel=1e-6)
    low, high = compared["rmsle_difference"]["interval"]
    assert low <= compared["rmsle_difference"]["estimate"] <= high
    verdict = "better" if high < 0 else "worse" if low > 0 else "not_yet_known"
    assert compared["verdict"] == verdict  # the challenger moved prices: not the same
    assert f"on {len(houses)} sales" in compared["summary"]
    exposed = REGISTRY.get_sample_value(
        "ml_api_challenger_info", {"model_version": CHALLENGER_VERSION}
    )
    assert exposed == 1

    # A window cutting through the batch (its sales share their time) takes its last rows
    # newest first, then by id: the same sales for the checks and for the comparison.
    window = {"predictions": 100, "sales": 100}
    cut = client.get("/v1/monitoring", params=window, headers=AUTH).json()
    last = sorted(range(len(ids)), key=lambda row: ids[row], reverse=True)[:100]
    served_log = np.log(np.asarray(served.predictions))
    # The checks' accuracy is over the houses whose range was marked calibrated (as the
    # holdout's beside it); the comparison's over every sale both priced.
    kept = [row for row in last if served.intervals[row].calibrated]
    assert 0 < len(kept) < len(last)
    expected_rmsle = float(np.sqrt(np.mean((served_log[kept] - truth[kept]) ** 2)))
    assert cut["checks"]["rmsle"]["live"] == pytest.approx(expected_rmsle, abs=1e-6)
    champion = cut["challenger"]["champion"]
    every_sale = float(np.sqrt(np.mean((served_log[last] - truth[last]) ** 2)))
    assert champion["rmsle"] == pytest.approx(every_sale, abs=1e-6)
    assert champion["coverage"] == cut["checks"]["coverage"]["live"]  # a share of whole counts


def _broken(model: TrainedModel) -> TrainedModel:
    """A challenger's model that cannot price: a copy of ``model`` whose stages fail."""
    broken = copy.copy(model)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the challenger broke")

    object.__setattr__(broken, "compiled_stages", fail)  # frozen or not, this copy only
    return broken


@pytest.mark.integration
def test_a_failing_challenger_changes_nothing_a_client_sees(
    shadowed: tuple[TestClient, PredictionService],
    request_rows: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, service = shadowed
    assert service.challenger is not None and service.recorder is not None
    working = service.challenger.model
    failed_before = REGISTRY.get_sample_value("ml_api_challenger_failed_houses_total") or 0
    houses = request_rows[:40]
    service.challenger.model = _broken(working)
    try:
        with caplog.at_level(logging.ERROR, logger="api.challenger"):
            answers = [
                client.post("/v1/predictions", json=houses[i : i + 8]) for i in range(0, 40, 8)
            ]
            assert service.recorder.flush(30)
    finally:
        service.challenger.model = working
    assert [answer.status_code for answer in answers] == [200] * 5
    served = make_prediction(houses, model=service.model)
    prices = [price for answer in answers for price in answer.json()["predictions"]]
    assert not json_differences(served.predictions, prices)
    ids = [i for answer in answers for i in answer.json()["prediction_ids"]]
    assert _shadow_rows(service, ids) == {}  # the champion's rows are there, none of its
    failed = REGISTRY.get_sample_value("ml_api_challenger_failed_houses_total") or 0
    assert failed - failed_before == len(houses)
    logged = [record for record in caplog.records if record.name == "api.challenger"]
    assert len(logged) == 1 and "RuntimeError" in logged[0].getMessage()
    # It prices again once it can.
    again = client.post("/v1/predictions", json=houses[:2]).json()["prediction_ids"]
    assert service.recorder.flush(30)
    assert set(_shadow_rows(service, again)) == set(again)


@pytest.mark.integration
def test_a_challenger_is_promoted_and_rolled_back_by_settings_alone(
    tmp_path: Path, request_rows: list[dict[str, Any]]
) -> None:
    """Promotion: the challenger's file served (``ML_API_MODEL_ARTIFACT``), the old version
    kept in the shadow; rollback: the setting removed. The version served is in every answer,
    ``/health``, the store and ``ml_api_model_info``."""
    packaged = artifact_path(load_config())
    challenger = write_challenger(tmp_path / "models")  # a folder not made yet
    promoted = config.Settings(
        environment="testing",
        state_dir=tmp_path / "promoted",
        model_artifact=challenger,
        challenger_artifact=packaged,
    )
    rolled_back = config.Settings(environment="testing", state_dir=tmp_path / "rolled_back")
    served = {}
    for name, settings in {"promoted": promoted, "rolled back": rolled_back}.items():
        service = start_service(settings)
        with create_app(settings, service=service).test_client() as client:
            answer = client.post("/v1/predictions", json=request_rows[:3]).json()
            health = client.get("/health").json()
            assert service.recorder is not None and service.recorder.flush(30)
            assert service.store is not None
            with service.store.engine.connect() as connection:
                stored = set(connection.scalars(select(predictions.c.model_version)))
            info = REGISTRY.get_sample_value(
                "ml_api_model_info",
                {"model_version": answer["model_version"], "api_version": service.api_version},
            )
        assert answer["model_version"] == health["model_version"] == service.model_version
        assert stored == {answer["model_version"]} and info == 1
        served[name] = answer
    assert served["promoted"]["model_version"] == CHALLENGER_VERSION
    assert served["rolled back"]["model_version"] == load_card()["version"]
    expected = make_prediction(request_rows[:3], model=load_model(challenger)).predictions
    assert not json_differences(expected, served["promoted"]["predictions"])
    assert json_differences(expected, served["rolled back"]["predictions"])


@pytest.mark.integration
def test_requests_are_priced_together_and_a_bad_one_loses_only_its_own(
    shadowed: tuple[TestClient, PredictionService], request_rows: list[dict[str, Any]]
) -> None:
    """The shadow writer prices its batch's requests in one call; a request the challenger
    refuses (a house without a required field, say, which a newer model may require) costs
    only its own prices, counted as failed."""
    _, service = shadowed
    assert service.challenger is not None
    failed_before = REGISTRY.get_sample_value("ml_api_challenger_failed_houses_total") or 0
    refused = {key: value for key, value in request_rows[3].items() if key != "GrLivArea"}
    requests = [request_rows[:1], request_rows[1:3], [refused], request_rows[4:5]]
    answers = service.challenger.price_requests(requests)
    assert answers[2] is None
    expected = make_prediction(
        [*request_rows[:3], request_rows[4]], model=service.challenger.model
    ).predictions
    priced = [price for answer in answers if answer for price in answer.predictions]
    assert not json_differences(expected, priced)
    failed = REGISTRY.get_sample_value("ml_api_challenger_failed_houses_total") or 0
    assert failed - failed_before == 1


@pytest.mark.integration
@pytest.mark.parametrize("role", ["serving", "challenger"])
def test_a_model_version_the_store_cannot_keep_stops_start_up(tmp_path: Path, role: str) -> None:
    """A probe's: a version of 40 characters (``0.3.3+challenger.retrain.20261205.abc123``)
    passed on SQLite and then, on PostgreSQL, failed every write for ever: nothing recorded,
    every sale refused as naming no priced house, no failure counted. Refused at start-up, and
    with recording off the same file serves."""
    version = "0.3.3+challenger.retrain.20261205.abc123"
    long_named = write_challenger(tmp_path / "models", version=version)
    settings = config.Settings(environment="testing", state_dir=tmp_path / "state")
    if role == "serving":
        settings = settings.model_copy(update={"model_artifact": long_named})
    else:
        settings = settings.model_copy(update={"challenger_artifact": long_named})
    with pytest.raises(StoreError, match=rf"the {role} model's version '{re.escape(version)}'"):
        start_service(settings)
    if role == "serving":  # a challenger needs recording
        unrecorded = start_service(settings.model_copy(update={"recording": False}))
        assert unrecorded.model_version == version


def _refusal(settings: config.Settings) -> str:
    """The message of the start-up ``settings`` are refused with."""
    with pytest.raises(StoreError) as refused:
        start_service(settings)
    return str(refused.value)


@pytest.mark.integration
def test_a_challenger_of_the_packaged_version_is_refused_saying_the_release_is_installed(
    tmp_path: Path,
) -> None:
    """After a release's `make lock` (or on an image built from its commit) the packaged model
    is the new version: the settings of the shadow before it (the new file as the challenger
    of the packaged model) and of its promotion (the new file served, the packaged one as the
    challenger) are both refused. The message told the user to release the challenger under a
    version of its own, which it was: it names both files and says to name the older
    version's file instead (a colleague's, at 0.3.3 to 0.3.4). ``new`` stands for the
    release's file, of the packaged version. (A probe's before: a challenger released under
    the serving model's version was accepted, and the comparison read each pair both ways
    round, a model judged against itself.)"""
    packaged = artifact_path(load_config())
    version = str(load_card(packaged)["version"])
    new = write_challenger(tmp_path / "models", version=version)
    state = tmp_path / "state"
    shadow = config.Settings(environment="testing", state_dir=state, challenger_artifact=new)
    message = _refusal(shadow)
    assert re.match(rf"the challenger's version '{re.escape(version)}'", message)
    assert f"ML_API_CHALLENGER_ARTIFACT {new}" in message
    assert f"ML_API_MODEL_ARTIFACT unset: the packaged model, {version}" in message
    assert f"The packaged model is {version} already" in message
    assert "name the older version's .joblib in ML_API_MODEL_ARTIFACT" in message
    assert "under a version of its own" not in message
    promoted = shadow.model_copy(update={"model_artifact": new, "challenger_artifact": packaged})
    message = _refusal(promoted)
    assert f"ML_API_MODEL_ARTIFACT {new}; ML_API_CHALLENGER_ARTIFACT {packaged})" in message
    assert "name the older version's file in ML_API_CHALLENGER_ARTIFACT" in message
    assert "under a version of its own" not in message


@pytest.mark.integration
def test_two_files_of_another_version_are_refused_naming_both(tmp_path: Path) -> None:
    """Two files of one version, neither the packaged one: perhaps two models released under
    one version, so the message still says to release the challenger under its own."""
    served = write_challenger(tmp_path / "served", version="0.0.9")
    shadowed = write_challenger(tmp_path / "shadowed", version="0.0.9", learning_rate_scale=0.9)
    settings = config.Settings(
        environment="testing",
        state_dir=tmp_path / "state",
        model_artifact=served,
        challenger_artifact=shadowed,
    )
    message = _refusal(settings)
    assert f"(ML_API_MODEL_ARTIFACT {served}; ML_API_CHALLENGER_ARTIFACT {shadowed})" in message
    assert "release the challenger under a version of its own" in message
    assert "already" not in message


def test_the_challenger_file_carries_its_own_holdout_figures(tmp_path: Path) -> None:
    """A probe's: the file tools/challengers.py makes carried the packaged model's figures, so
    a promoted challenger's live checks were judged against another model's holdout. And
    since 0.4.0 it is made from the model the holdout measures (the packaged model's twin,
    fitted on the training split alone, where the packaged one was fitted on the holdout
    too): made from the packaged one, its holdout figures were measured on houses it had
    been fitted on, and its card said ``all_labelled`` beside them."""
    path = write_challenger(tmp_path)
    config = load_config()
    measured = holdout_model_path(config)
    source, challenger = load_card(measured), load_card(path)
    houses, prices = features_and_target(split_holdout(config).holdout, config)
    priced = np.log(make_prediction(houses, model=load_model(path)).predictions)
    rmsle = float(np.sqrt(np.mean((priced - np.log(prices)) ** 2)))
    assert challenger["holdout_metrics"]["rmsle"] == pytest.approx(rmsle, rel=1e-6)
    assert challenger["holdout_metrics"]["rmsle"] != pytest.approx(
        source["holdout_metrics"]["rmsle"], rel=1e-4
    )
    assert challenger["fitted_on"] == source["fitted_on"] == "training_split"
    assert challenger["houses_fitted"] == source["houses_fitted"]
    assert challenger["houses_fitted"] == len(split_holdout(config).train)
    assert challenger["version"] == CHALLENGER_VERSION
    # Unscaled, it prices as the measured model does, not as the packaged one.
    unscaled = write_challenger(tmp_path / "unscaled", version="0.9.9", learning_rate_scale=1.0)
    as_made = make_prediction(houses, model=load_model(unscaled)).predictions
    assert not json_differences(
        make_prediction(houses, model=load_model(measured)).predictions, as_made
    )
