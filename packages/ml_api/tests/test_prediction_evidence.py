"""Ranges, warnings and explanations through the HTTP API, as a client reads them."""

from __future__ import annotations

import math
from typing import Any

import pytest
from gradient_boosting_model import make_prediction
from gradient_boosting_model.config import load_config
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from starlette.testclient import TestClient

from api import config
from api.spec_document import read_spec, request_examples
from tests.houses import without_ids

pytestmark = pytest.mark.integration

#: The top README's example, the spec's ``seven_fields``: the seven required fields alone.
[SEVEN_FIELD_HOUSE] = request_examples(read_spec(config.Settings(environment="testing")))[
    "seven_fields"
]


def test_every_house_has_a_range_holding_its_price(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    reply = client.post("/v1/predictions", json=request_rows).json()
    assert len(reply["intervals"]) == len(reply["warnings"]) == len(request_rows)
    for price, interval in zip(reply["predictions"], reply["intervals"], strict=True):
        assert interval["lower"] < price < interval["upper"]
        assert interval["level"] == 0.9
    assert "explanations" not in reply


def test_warnings_name_real_fields_and_mark_the_range(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    reply = client.post("/v1/predictions", json=request_rows).json()
    warned = [i for i, found in enumerate(reply["warnings"]) if found]
    # A few houses unlike every training one, not ordinary ones (the model's config says how few).
    assert 0 < len(warned) <= load_config().warnings.most_requests_warned * len(request_rows)
    for index in warned:
        assert reply["intervals"][index]["calibrated"] is False
        for warning in reply["warnings"][index]:
            assert warning["field"] in HOUSE_FIELDS
            assert warning["field"] in warning["message"]
    # Not calibrated: the warned houses alone, as the model marks them. The few with a detail
    # assumed that no calibration house had (a null zoning, a code never seen) were not either
    # until model 0.3.4; their ranges are now widened for it, and calibrated unless warned.
    calibrated = [interval["calibrated"] for interval in reply["intervals"]]
    answered = make_prediction(request_rows).intervals
    assert calibrated == [i.calibrated for i in answered]
    assert [i for i, ok in enumerate(calibrated) if not ok] == warned
    partial = [i for i, interval in enumerate(answered) if interval.partial]
    assert 0 < len(partial) <= 0.02 * len(request_rows)
    assert any(calibrated[i] for i in partial)


def test_a_garage_of_no_area_and_more_bedrooms_than_rooms_are_warned(
    client: TestClient, house: dict[str, Any]
) -> None:
    """An appraiser's probe: test.csv's first house (a one-car garage, two bedrooms in five
    rooms) sent with a garage area of 0, and with six bedrooms. No Ames record says either:
    each is warned of on the field that says it, its range not calibrated."""
    houses = [house, {**house, "GarageArea": 0}, {**house, "BedroomAbvGr": 6}]
    reply = client.post("/v1/predictions", json=houses).json()
    assert reply["warnings"] == [
        [],
        [
            {
                "field": "GarageArea",
                "message": "GarageArea 0 says the house has no garage, and GarageCars 1 that "
                "it has one: no training house said both",
            }
        ],
        [
            {
                "field": "BedroomAbvGr",
                "message": "BedroomAbvGr 6 is more than the rooms above grade (TotRmsAbvGrd 5): "
                "no training house's was",
            }
        ],
    ]
    assert [interval["calibrated"] for interval in reply["intervals"]] == [True, False, False]


def test_partial_says_which_ranges_were_widened_for_details_left_out(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """Every test.csv house's ``partial`` is ``make_prediction``'s: true for the few with a
    detail assumed that no calibration house had (a null zoning, a code never seen, which is
    warned too), false for the rest; each value beside either ``calibrated``."""
    reply = client.post("/v1/predictions", json=request_rows).json()
    partial = [interval["partial"] for interval in reply["intervals"]]
    assert partial == [interval.partial for interval in make_prediction(request_rows).intervals]
    calibrated = [interval["calibrated"] for interval in reply["intervals"]]
    pairs = set(zip(partial, calibrated, strict=True))
    assert pairs == {(True, True), (True, False), (False, True), (False, False)}


def test_a_seven_field_house_is_partial_and_a_complete_one_is_not(
    client: TestClient, house: dict[str, Any]
) -> None:
    """The top README's seven-field house: its range widened for what it leaves out, and still
    calibrated; test.csv's first house, complete, neither widened nor partial."""
    seven = {field: house[field] for field in REQUIRED_FIELDS}
    reply = client.post("/v1/predictions", json=[SEVEN_FIELD_HOUSE, house, seven]).json()
    left_out, complete, cut = reply["intervals"]
    assert left_out["partial"] is True and left_out["calibrated"] is True
    assert complete["partial"] is False and complete["calibrated"] is True
    assert cut["partial"] is True
    # The same house cut to its required fields: a wider range about its price.
    widths = [
        (interval["upper"] - interval["lower"]) / price
        for price, interval in zip(reply["predictions"], reply["intervals"], strict=True)
    ]
    assert widths[2] > 1.5 * widths[1]


def test_explain_adds_explanations_and_changes_no_price(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    rows = request_rows[:50]
    plain = without_ids(client.post("/v1/predictions", json=rows).json())
    explained = without_ids(client.post("/v1/predictions?explain=true", json=rows).json())
    assert explained.pop("explanations") and explained == plain
    response = client.post("/v1/predictions", params={"explain": "false"}, json=rows)
    assert without_ids(response.json()) == plain


def test_each_explanation_multiplies_to_its_price(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    rows = request_rows[:30]
    reply = client.post("/v1/predictions?explain=true", json=rows).json()
    for price, explanation in zip(reply["predictions"], reply["explanations"], strict=True):
        factors = explanation["factors"]
        assert {f["field"] for f in factors} == set(HOUSE_FIELDS)
        assert len(factors) == len(HOUSE_FIELDS)
        effects = [abs(math.log(f["factor"])) for f in factors]
        assert effects == sorted(effects, reverse=True)
        log_total = math.log(explanation["base_price"]) + sum(
            math.log(f["factor"]) for f in factors
        )
        assert abs(log_total - math.log(price)) < 1e-7  # the price is rounded to cents
    assert len({e["base_price"] for e in reply["explanations"]}) == 1


def test_fields_left_out_are_assumed(client: TestClient, house: dict[str, Any]) -> None:
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    reply = client.post("/v1/predictions?explain=true", json=[minimal]).json()
    assumed = {f["field"]: f["assumed"] for f in reply["explanations"][0]["factors"]}
    assert not any(assumed[name] for name in REQUIRED_FIELDS)
    assert assumed["LotFrontage"] and assumed["KitchenQual"]


def test_explain_is_refused_past_its_limit_with_the_limit_stated(
    client: TestClient, house: dict[str, Any]
) -> None:
    limit = config.Settings(environment="testing").max_explained_rows
    response = client.post("/v1/predictions?explain=true", json=[house] * (limit + 1))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert f"at most {limit} houses" in response.json()["detail"]
    assert client.post("/v1/predictions", json=[house] * (limit + 1)).status_code == 200


@pytest.mark.parametrize("value", ["yes", "2", ""])
def test_a_bad_explain_value_is_a_400(
    client: TestClient, house: dict[str, Any], value: str
) -> None:
    response = client.post("/v1/predictions", params={"explain": value}, json=[house])
    assert response.status_code == 400
    assert "explain" in response.json()["detail"] or "boolean" in response.json()["detail"]
