"""What an operator sees: metrics after real requests, the model card, one JSON log line each."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradient_boosting_model import KNOWN_FIELDS, load_card
from gradient_boosting_model import __version__ as model_version
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import split_holdout
from gradient_boosting_model.persistence import artifact_path, holdout_model_path, load_metadata
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from api import config
from api.app import create_app, start_service
from api.challenger import Challenger
from api.logs import ServiceJsonFormatter
from api.metrics import WHOLE_LABELS
from api.service import PredictionService
from api.spec_document import request_field_names
from tools.challengers import write_challenger

pytestmark = pytest.mark.integration


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_what_was_served_and_refused(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    before = _samples(client)
    for _ in range(3):
        assert client.post("/v1/predictions", json=request_rows[:5]).status_code == 200
    bad = {**request_rows[0], "OverallQual": 42, "LotAreaa": 1}
    assert client.post("/v1/predictions", json=[bad]).status_code == 400
    # One field, two rules broken, two errors listed: one field refused.
    twice = {**request_rows[0], "YearBuilt": 2012, "YearRemodAdd": 1950, "YrSold": 2010}
    refused = client.post("/v1/predictions", json=[twice])
    assert refused.status_code == 422 and len(refused.json()["errors"]) == 2
    assert client.get("/nowhere/at/all").status_code == 404
    after = _samples(client)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = {"method": "POST", "route": "/v1/predictions"}
    assert delta("ml_api_http_requests_total", **route, status="200") == 3
    assert delta("ml_api_http_requests_total", **route, status="400") == 1
    assert delta("ml_api_http_requests_total", **route, status="422") == 1
    assert delta("ml_api_http_requests_total", method="GET", route="unmatched", status="404") == 1
    for status, count in (("200", 3), ("400", 1), ("422", 1)):  # refusals timed apart
        assert delta("ml_api_http_request_duration_seconds_count", **route, status=status) == count
    assert delta("ml_api_predicted_houses_total") == 15
    assert delta("ml_api_partial_houses_total") == 0  # test.csv's houses, complete records
    assert delta("ml_api_predicted_price_dollars_count") == 15
    assert delta("ml_api_refused_fields_total", field="OverallQual") == 1
    assert delta("ml_api_refused_fields_total", field="_unknown") == 1  # no client-made labels
    assert delta("ml_api_refused_fields_total", field="YearBuilt") == 1
    labels = {"model_version": model_version, "api_version": "1.0.0"}
    assert delta("ml_api_warned_houses_total", field="GrLivArea") == 0  # ordinary houses
    assert _value(after, "ml_api_model_info", **labels) == 1
    assert _value(after, "ml_api_startup_seconds") > 0


def test_metrics_say_whether_the_service_records(service: PredictionService) -> None:
    """Probes': with recording off, ml_api_database_up says nothing (it stays at its start's
    0), and the critical store alerts fired on it for good; ``ml_api_recording`` 0 tells the
    rules so."""
    for recording, served in ((0, dataclasses.replace(service, store=None, recorder=None,
                                                      monitor=None)), (1, service)):  # fmt: skip
        with create_app(config.Settings(environment="testing"), service=served).test_client() as c:
            assert _value(_samples(c), "ml_api_recording") == recording


def test_every_field_is_counted_from_zero(client: TestClient) -> None:
    """A probe's: a field's refusal and warning counters appeared at their first count, which
    ``increase()`` then never saw: the dashboard's panels missed each field's first."""
    samples = _samples(client)

    def labels(name: str) -> set[str]:
        return {dict(key)["field"] for key_name, key in samples if key_name == name}

    assert labels("ml_api_refused_fields_total") >= {*request_field_names(), *WHOLE_LABELS}
    assert labels("ml_api_warned_houses_total") >= set(KNOWN_FIELDS)


def test_warned_houses_are_counted_by_field(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    [largest] = [row for row in request_rows if row["Id"] == 2550]
    before = _samples(client)
    response = client.post("/v1/predictions", json=[largest, largest, request_rows[0]])
    assert response.status_code == 200
    after = _samples(client)
    fields = {warning["field"] for warning in response.json()["warnings"][0]}
    assert "GrLivArea" in fields
    for field in fields:
        labels = {"field": field}
        warned = _value(after, "ml_api_warned_houses_total", **labels)
        assert warned - _value(before, "ml_api_warned_houses_total", **labels) == 2


def test_houses_whose_ranges_were_widened_are_counted(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """``partial`` in the answer: how many houses came with details left out that no
    calibration house had assumed (the seven required fields alone are such a house)."""
    seven = {name: request_rows[0][name] for name in REQUIRED_FIELDS}
    before = _value(_samples(client), "ml_api_partial_houses_total")
    response = client.post("/v1/predictions", json=[seven, request_rows[0], seven])
    assert response.status_code == 200
    widened = [interval["partial"] for interval in response.json()["intervals"]]
    assert widened == [True, False, True]
    assert _value(_samples(client), "ml_api_partial_houses_total") - before == 2


def test_the_model_card(client: TestClient) -> None:
    response = client.get("/v1/model")
    assert response.status_code == 200
    card = response.json()
    metadata = load_metadata(load_config())
    assert card["name"] == "gradient_boosting_model"
    assert card["version"] == model_version
    assert card["trained_at"] == metadata["trained_at"]
    # Since 0.4.0: the houses it was fitted on (the config's served_fit), and how many: with
    # all_labelled, the holdout's too, and every holdout figure is its twin's.
    settings = load_config()
    split = split_holdout(settings)
    assert card["fitted_on"] == metadata["fitted_on"] == settings.data.served_fit
    fitted = {"training_split": split.train, "all_labelled": [*split.train, *split.holdout]}
    assert card["houses_fitted"] == len(fitted[card["fitted_on"]])
    holdout = metadata["metrics"]["holdout"]
    shown = {k: v for k, v in holdout.items() if k not in ("intervals", "partial_houses")}
    assert card["holdout_metrics"] == shown
    assert shown == load_card(holdout_model_path(settings))["holdout_metrics"]
    # Which houses those are: the release's diff-test and replay check it.
    assert card["holdout_split"] == metadata["holdout_split"]
    assert card["holdout_split"]["houses"] == holdout["rows"]
    # What a client needs to know which codes are warned of: those not seen in training.
    seen = card["codes_seen"]
    assert seen == metadata["codes_seen"]
    assert "VinylSd" in seen["Exterior1st"] and "CBlock" not in seen["Exterior1st"]
    assert seen["MSSubClass"][:2] == [20, 30] and 150 not in seen["MSSubClass"]
    # As the client sends them and the spec's example shows them: 20, not 20.0 (a probe's).
    assert '"MSSubClass":[20,30,' in response.text
    assert "Neighborhood" not in seen  # a category range: its codes are in input_ranges
    # And which features a record is warned of for saying both that the house has and has not.
    assert card["presence_checked"] == metadata["presence_checked"]
    assert card["presence_checked"] == ["TotalBsmtSF", "Fireplaces", "GarageCars", "PoolArea"]
    # And which rules every training record keeps a record is warned of breaking.
    assert card["rules_checked"] == metadata["rules_checked"]
    assert "GarageYrBlt <= YrSold + 1" in card["rules_checked"]
    assert "BedroomAbvGr <= TotRmsAbvGrd + 0" in card["rules_checked"]
    assert any(rule.startswith("GrLivArea = 1stFlrSF") for rule in card["rules_checked"])
    # And which grades a better value of never lowers a price (since 0.3.5).
    assert card["monotone_grades"] == metadata["monotone_grades"]
    assert "ExterQual" in card["monotone_grades"]["fields"]
    assert card["monotone_grades"]["order"][0] == "Po"
    assert card["later_never_lower"] == metadata["later_never_lower"]
    assert set(card["later_never_lower"]) == {"YearBuilt", "YearRemodAdd", "GarageYrBlt"}
    assert card["more_never_lower"] == metadata["more_never_lower"]
    assert {"GarageCars", "GarageArea", "LotFrontage", "MasVnrArea"} <= set(
        card["more_never_lower"]
    )
    intervals = card["intervals"]
    assert intervals["method"].startswith("localized conformal")
    assert len(intervals["knots"]) == 9
    assert intervals["level"] == 0.9
    assert intervals["coverage"]["holdout"] == holdout["intervals"]
    cv_coverage = intervals["coverage"]["cross_validation"]["coverage"]
    assert 0.87 <= cv_coverage <= 0.93
    # Since model 0.3.4: how a house with details left out has its range widened, and how
    # often such ranges hold, per field set of the model README's table.
    partial = intervals["partial_houses"]
    assert partial["a"] == metadata["intervals"]["partial_houses"]["a"]
    assert partial["holdout"] == holdout["partial_houses"]
    seven = partial["cross_validation"]["field_sets"]["7 required"]
    assert 0.85 <= seven["coverage"] <= 0.95 and seven["coverage_unscaled"] < 0.6
    assert 0.85 <= partial["holdout"]["7 required"]["coverage"] <= 0.97
    assert set(partial["importances"]) == set(HOUSE_FIELDS)
    assert [r["feature"] for r in card["input_ranges"]] == [
        r["feature"] for r in metadata["input_ranges"]
    ]
    living_area = next(r for r in card["input_ranges"] if r["feature"] == "GrLivArea")
    assert living_area["low"] < 1000 < 3000 < living_area["high"] < 4000
    assert card["library_versions"]["scikit-learn"] == "1.9.1"
    assert [field["name"] for field in card["input_fields"]] == list(HOUSE_FIELDS)
    required = [field["name"] for field in card["input_fields"] if field["required"]]
    assert required == list(REQUIRED_FIELDS)
    testing = config.Settings(environment="testing")
    assert card["limits"] == {
        "max_body_bytes": testing.max_body_bytes,
        "max_rows": testing.max_rows,
        "max_explained_rows": testing.max_explained_rows,
        "max_string_length": testing.max_string_length,
        "max_json_depth": testing.max_json_depth,
        "max_monitoring_predictions": testing.max_monitoring_predictions,
        "max_monitoring_sales": testing.max_monitoring_sales,
    }


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ServiceJsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_the_service_reads_each_models_metadata_once_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, house: dict[str, Any]
) -> None:
    """It read the served model's metadata JSON twice (``load_model``, then ``load_card``), and
    the challenger's too: each is read once now, for the model and its card together."""
    packaged = artifact_path(load_config())
    served = tmp_path / packaged.name
    for suffix in (".joblib", ".json"):
        shutil.copy(packaged.with_suffix(suffix), served.with_suffix(suffix))
    shadowed = write_challenger(tmp_path / "challenger")
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(path: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(path)
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    settings = config.Settings(
        environment="testing", state_dir=tmp_path / "state", recording=False, model_artifact=served
    )
    service = start_service(settings)
    challenger = Challenger.load(shadowed, [house])
    monkeypatch.undo()
    metadata = [served.with_suffix(".json"), shadowed.with_suffix(".json")]
    assert [path for path in reads if path in metadata] == metadata
    assert service.card == load_card(served)
    assert service.model.version == service.card["version"] == model_version
    assert challenger.card == load_card(shadowed)
    assert challenger.model.version == challenger.version != model_version


def test_one_json_line_per_request(
    client: TestClient, json_log: io.StringIO, request_rows: list[dict[str, Any]]
) -> None:
    response = client.post(
        "/v1/predictions", json=request_rows[:7], headers={"X-Request-ID": "log-line-1"}
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    mine = [line for line in lines if line["request_id"] == "log-line-1"]
    [access] = [line for line in mine if line["logger"] == "api.access"]
    assert access["route"] == "/v1/predictions"
    assert access["status"] == 200
    assert access["rows"] == 7
    assert access["duration_ms"] > 0
    assert {"time", "level", "message"} <= set(access)
    assert all(request_rows[0]["Neighborhood"] not in json.dumps(line) for line in mine)
