"""The packaged model's evidence: ranges, warnings and explanations of test.csv's houses."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from shap_reference import same_top_field

from gradient_boosting_model.predict import default_model, make_prediction
from gradient_boosting_model.schemas import (
    HOUSE_FIELDS,
    NONE_WHEN_ZERO,
    REQUIRED_FIELDS,
    ZERO_WHEN_NONE,
)
from gradient_boosting_model.validation import validate_inputs

pytestmark = pytest.mark.integration

#: The fields whose null means the house has none of it (no basement, no pool ...).
ABSENT_MEANS_NONE = [n for n, f in HOUSE_FIELDS.items() if f.metadata["absent_means_none"]]


def test_every_price_lies_in_its_range(request_rows: list[dict[str, Any]]) -> None:
    result = make_prediction(request_rows)
    for price, interval in zip(result.predictions, result.intervals, strict=True):
        assert interval.lower < price < interval.upper
        assert interval.level == 0.9
    widths = [
        (i.upper - i.lower) / p for p, i in zip(result.predictions, result.intervals, strict=True)
    ]
    assert 0.15 < float(np.median(widths)) < 0.5  # a range, not a guess of everything


def test_the_largest_house_is_warned_and_its_range_is_not_calibrated(
    request_rows: list[dict[str, Any]],
) -> None:
    [largest] = [row for row in request_rows if row["Id"] == 2550]
    result = make_prediction([largest, request_rows[0]])
    assert {warning.field for warning in result.warnings[0]} >= {"GrLivArea"}
    [living_area] = [w.message for w in result.warnings[0] if w.field == "GrLivArea"]
    assert living_area.startswith("GrLivArea 5095 is above the largest seen in training, ")
    assert result.intervals[0].calibrated is False
    assert result.warnings[1] == [] and result.intervals[1].calibrated is True


@pytest.mark.parametrize(
    ("year", "side"), [(2026, "above the largest"), (2005, "below the smallest")]
)
def test_a_sale_outside_the_training_years_is_warned_and_not_calibrated(
    house: dict[str, Any], year: int, side: str
) -> None:
    """The prices are what Ames paid from 2006 to 2010 (config.yml's ``also_checked``): a
    sale in another year is warned, and its range is not calibrated."""
    result = make_prediction([house, {**house, "YrSold": year}])
    assert house["YrSold"] == 2010 and result.warnings[0] == []
    assert result.intervals[0].calibrated is True
    assert [(w.field, w.message) for w in result.warnings[1]] == [
        ("YrSold", f"YrSold {year} is {side} seen in training, {2010 if year > 2010 else 2006}")
    ]
    assert result.intervals[1].calibrated is False


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("ExterQual", "Po", "ExterQual Po is below the lowest grade seen in training, Fa"),
        ("BsmtCond", "Ex", "BsmtCond Ex is above the highest grade seen in training, Gd"),
        # Between two grades seen (none and Fa): within the range, no training house had it.
        ("BsmtQual", "Po", "BsmtQual Po was not seen in training"),
        ("PoolQC", "TA", "PoolQC TA was not seen in training"),
        # Categories: not among the most important features, checked all the same.
        ("Utilities", "NoSewr", "Utilities NoSewr was not seen in training"),
        ("MSSubClass", 150, "MSSubClass 150 was not seen in training"),
    ],
)
def test_a_code_training_never_saw_is_warned_and_not_calibrated(
    house: dict[str, Any], field: str, code: str | int, message: str
) -> None:
    """A grade training never saw at its end of the scale is priced as the nearest seen one
    (the trees' thresholds and the clipped linear parts cannot tell them apart); one between
    two seen at a score the model never fitted; a category's code as if unknown. Each is
    warned, its range not calibrated (config.yml's ``also_checked`` and ``every_code``), not
    silently priced as some other code."""
    pool = {"PoolArea": 512} if field == "PoolQC" else {}  # a pool's grade beside a pool
    result = make_prediction([house, {**house, **pool, field: code}])
    assert result.warnings[0] == [] and result.intervals[0].calibrated is True
    assert [(w.field, w.message) for w in result.warnings[1]] == [(field, message)]
    assert result.intervals[1].calibrated is False


def test_a_record_that_says_a_house_has_a_feature_and_none_is_warned_not_repriced(
    house: dict[str, Any],
) -> None:
    """As test.csv's Id 2421, PoolQC null beside a pool (368 sq ft there): no training record
    said both (contradictions.py). Its price is its record's as it reads; its range is not
    calibrated, and the warning names both fields."""
    assert house["PoolArea"] == 0 and house["PoolQC"] is None
    contradicting = {**house, "PoolArea": 512}
    houses = [{**house, "PoolArea": 512, "PoolQC": "Gd"}, contradicting]
    result = make_prediction(houses)
    model = default_model()
    unchecked = replace(model, ranges=replace(model.ranges, contradictions=None))
    assert model.ranges.contradictions is not None
    unwarned = make_prediction(houses, model=unchecked)
    assert result.predictions == unwarned.predictions  # the price as the record reads
    assert unwarned.warnings[1] == [] and unwarned.intervals[1].calibrated is True
    assert result.warnings[0] == [] and result.intervals[0].calibrated is True
    assert [(w.field, w.message) for w in result.warnings[1]] == [
        (
            "PoolQC",
            "PoolQC null says the house has no pool, and PoolArea 512 that it has one: "
            "no training house said both",
        )
    ]
    assert result.intervals[1].calibrated is False


def test_a_record_breaking_a_rule_of_every_training_record_is_warned_not_repriced(
    house: dict[str, Any],
) -> None:
    """A house of test.csv given a second floor as large as its first, its living area unchanged
    (its parts no longer add up to it), and one given a garage built in 2207 (test.csv's Id
    2593): priced as the records read, their ranges not calibrated (record_rules.py)."""
    assert house["2ndFlrSF"] == 0 and house["GarageYrBlt"] is not None
    houses = [house, {**house, "2ndFlrSF": house["1stFlrSF"]}, {**house, "GarageYrBlt": 2207}]
    result = make_prediction(houses)
    model = default_model()
    assert model.ranges.record_rules is not None
    unchecked = replace(model, ranges=replace(model.ranges, record_rules=None))
    unwarned = make_prediction(houses, model=unchecked)
    assert result.predictions == unwarned.predictions  # the prices as the records read
    assert all(interval.calibrated for interval in unwarned.intervals)
    assert result.warnings[0] == [] and result.intervals[0].calibrated is True
    assert [w.field for w in result.warnings[1]] == ["GrLivArea"]
    assert "is not the sum of its parts" in result.warnings[1][0].message
    assert [w.field for w in result.warnings[2]] == ["GarageYrBlt"]
    assert result.intervals[1].calibrated is False and result.intervals[2].calibrated is False


def test_a_garage_of_no_area_and_more_bedrooms_than_rooms_are_warned_not_repriced(
    house: dict[str, Any],
) -> None:
    """An appraiser's probe: test.csv's first house sent with a garage area of 0 beside its
    car, and with six bedrooms in its five rooms. No Ames record says either (contradictions.py,
    record_rules.py): priced as the records read, their ranges not calibrated, each house
    warned alone as in the batch."""
    assert (house["GarageCars"], house["BedroomAbvGr"], house["TotRmsAbvGrd"]) == (1, 2, 5)
    houses = [house, {**house, "GarageArea": 0}, {**house, "BedroomAbvGr": 6}]
    result = make_prediction(houses)
    model = default_model()
    unchecked = replace(model.ranges, contradictions=None, record_rules=None)
    unwarned = make_prediction(houses, model=replace(model, ranges=unchecked))
    assert result.predictions == unwarned.predictions  # the prices as the records read
    assert all(interval.calibrated for interval in unwarned.intervals)
    assert [[(w.field, w.message) for w in found] for found in result.warnings] == [
        [],
        [
            (
                "GarageArea",
                "GarageArea 0 says the house has no garage, and GarageCars 1 that it has one: "
                "no training house said both",
            )
        ],
        [
            (
                "BedroomAbvGr",
                "BedroomAbvGr 6 is more than the rooms above grade (TotRmsAbvGrd 5): no "
                "training house's was",
            )
        ],
    ]
    assert [interval.calibrated for interval in result.intervals] == [True, False, False]
    assert [make_prediction([alone]).warnings[0] for alone in houses] == result.warnings


def test_a_range_is_calibrated_unless_warned_partial_houses_too(
    house: dict[str, Any],
) -> None:
    """The ranges were calibrated on complete records, which lack a few details (a lot's
    frontage): a house with only those assumed is calibrated as they are; one with another
    detail left out (most often: many) is calibrated since 0.3.4, its range scaled for what
    it left out (``partial_ranges``; it was not before); one with a code never seen in training
    is not, with a warning naming the code."""
    assumed = default_model().intervals.assumed_fields
    assert assumed is not None and "LotFrontage" in assumed and "BsmtQual" not in assumed
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    houses = [
        house,
        {**house, "LotFrontage": None},  # as 17% of the training houses
        minimal,
        {name: value for name, value in house.items() if name != "KitchenQual"},
        {**house, "Exterior1st": "CBlock"},  # a code training never saw: taken as typical
    ]
    result = make_prediction(houses)
    assert [interval.calibrated for interval in result.intervals] == [
        True, True, True, True, False
    ]  # fmt: skip
    assert result.warnings[:-1] == [[]] * (len(houses) - 1)
    assert [(w.field, w.message) for w in result.warnings[-1]] == [
        ("Exterior1st", "Exterior1st CBlock was not seen in training")
    ]


def test_warnings_name_real_fields(request_rows: list[dict[str, Any]]) -> None:
    result = make_prediction(request_rows)
    fields = {warning.field for house in result.warnings for warning in house}
    assert fields and fields <= set(HOUSE_FIELDS)


def test_the_factors_multiply_to_the_price(request_rows: list[dict[str, Any]]) -> None:
    """Exact in log space: within 1e-9 of the model's log price for every house."""
    model = default_model()
    explained = make_prediction(request_rows, explain=True).explanations
    assert explained is not None
    log_price = model.stages(validate_inputs(request_rows)).log_price
    total = explained.base_log_price + explained.log_factors.sum(axis=1)
    assert np.max(np.abs(total - log_price)) < 1e-9
    assert explained.fields == tuple(HOUSE_FIELDS)  # one factor per client field


def test_explaining_changes_no_price(request_rows: list[dict[str, Any]]) -> None:
    plain = make_prediction(request_rows)
    explained = make_prediction(request_rows, explain=True)
    assert explained.predictions == plain.predictions
    assert explained.intervals == plain.intervals
    assert explained.warnings == plain.warnings
    assert plain.explanations is None


def test_fields_left_out_are_marked_assumed(house: dict[str, Any]) -> None:
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    no_pool = {**minimal, "PoolQC": None}
    explained = make_prediction([house, minimal, no_pool], explain=True).explanations
    assert explained is not None
    given = {f.field: f.assumed for f in explained.factors(0)}
    bare = {f.field: f.assumed for f in explained.factors(1)}
    assert not any(given[name] for name in house if name in given and house[name] is not None)
    assert not any(bare[name] for name in REQUIRED_FIELDS)
    assert bare["LotFrontage"] and bare["KitchenQual"] and bare["Neighborhood"] is False
    # Left out, a pool grade is assumed typical (which is none); in Ames a null pool grade
    # means no pool: a fact, not an assumption.
    assert bare["PoolQC"] and bare["BsmtQual"]
    assert {f.field: f.assumed for f in explained.factors(2)}["PoolQC"] is False


def test_assumed_says_what_was_taken_as_typical_not_what_was_sent(
    house: dict[str, Any],
) -> None:
    """``assumed`` marks a value the model took as a typical house's, which is not quite "a
    field left out" (the READMEs say which, a probe's finding): an alley, a fence or a shed
    left out is none (``schemas.NONE_WHEN_LEFT_OUT``), as a null, and not marked; a code
    training never saw, though sent, is priced as unknown (typical) and marked, its range
    partial and warned of."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    unseen = {**house, "Exterior1st": "CBlock"}
    result = make_prediction([minimal, unseen], explain=True)
    explained = result.explanations
    assert explained is not None
    bare = {f.field: f.assumed for f in explained.factors(0)}
    assert not bare["Alley"] and not bare["Fence"] and not bare["MiscFeature"]
    flags = {f.field: f.assumed for f in explained.factors(1)}
    assert flags["Exterior1st"]
    assert [name for name, flag in flags.items() if flag and unseen[name] is not None] == [
        "Exterior1st"
    ]
    assert result.intervals[1].partial and not result.intervals[1].calibrated


def test_a_detail_left_out_is_typical_and_a_null_one_none(house: dict[str, Any]) -> None:
    """Where Ames records "none" as a missing value (no basement, no garage), a null says the
    house has none; a field left out says nothing, and is taken as typical, as a number left
    out is (``missing.OMITTED``). A seven-field house was priced with no basement and no
    garage, but with a typical basement's and garage's areas: 11% below the same houses'
    prices on the holdout, where typical details are 0.1 closer in RMSLE (package README)."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    model = default_model()
    columns = validate_inputs([minimal, {**minimal, "BsmtQual": None, "GarageType": None}])
    before_impute = model.stages(columns).before_impute
    features = model.stages(columns).features
    assert np.isnan(before_impute["BsmtQual"][0]) and before_impute["BsmtQual"][1] == 0.0
    typical = model.pipeline.named_steps["impute"].statistics_["BsmtQual"]
    assert features["BsmtQual"].tolist() == [typical, 0.0] and typical >= 3  # TA or better
    left_out, null = make_prediction([minimal, with_none_of_anything(minimal)]).predictions
    assert left_out > null * 1.02  # a typical basement and garage are worth more than none


def test_a_feature_said_to_be_absent_has_no_parts(house: dict[str, Any]) -> None:
    """``schemas.NONE_WHEN_ZERO``: beside a basement of 0 sq ft and no garage space, areas and
    counts not given (left out or null) are 0, as every Ames record has them, not a typical
    garage's 480 sq ft; facts, not assumptions."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    absent = {**minimal, "TotalBsmtSF": 0, "GarageCars": 0}
    zeros = {
        **absent,
        **dict.fromkeys(("BsmtFinSF1", "BsmtFinSF2", "BsmtUnfSF", "GarageArea"), 0),
        **dict.fromkeys(("BsmtFullBath", "BsmtHalfBath"), 0),
    }
    nulls = {**absent, "BsmtFinSF1": None, "GarageArea": None}
    result = make_prediction([absent, zeros, nulls], explain=True)
    assert result.predictions[0] == result.predictions[1] == result.predictions[2]
    explained = result.explanations
    assert explained is not None
    flags = {f.field: f.assumed for f in explained.factors(0)}
    assert not flags["BsmtFinSF1"] and not flags["GarageArea"] and not flags["GarageType"]
    assert flags["KitchenQual"]  # what the house does not say is still assumed


@pytest.mark.parametrize(("size", "kind"), sorted(ZERO_WHEN_NONE.items()))
def test_a_feature_said_to_be_none_has_a_size_of_0(
    house: dict[str, Any], size: str, kind: str
) -> None:
    """``schemas.ZERO_WHEN_NONE``: a kind given as null (no basement, no garage ...) with its
    size not given (left out, or null: test.csv's Id 2121 records its missing basement so) is
    priced as the same house with its size given as 0, not with a typical feature (a basement
    of 992 sq ft: up to 18% above, the probe found); the size is a fact, not assumed. Beside a
    kind left out or given, a size not given stays unknown, taken as typical."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    said_none = {**minimal, kind: None}
    zero = {**said_none, size: 0}
    null_size = {**said_none, size: None}
    unknown_size = {**minimal, size: None}
    result = make_prediction([said_none, zero, null_size, unknown_size, minimal], explain=True)
    prices = result.predictions
    assert prices[0] == prices[1] == prices[2]
    explained = result.explanations
    assert explained is not None
    assert not {f.field: f.assumed for f in explained.factors(0)}[size]
    assert not {f.field: f.assumed for f in explained.factors(2)}[size]
    assert {f.field: f.assumed for f in explained.factors(3)}[size]
    if size in ("TotalBsmtSF", "GarageCars"):  # a typical house has one: worth more than none
        assert prices[3] > prices[0] * 1.02 and prices[4] > prices[0] * 1.02


def test_a_whole_record_without_a_basement_has_none_whatever_its_nulls(
    house: dict[str, Any],
) -> None:
    """A record with every field (test.csv's first house), its basement recorded as Ames
    records none (every basement grade null) and its size null: priced as with the size 0,
    whether its areas are null (test.csv's Id 2121) or 0. Such a record leaves nothing out,
    and is settled all the same."""
    basement = [name for name in house if name.startswith("Bsmt")]
    none = {**house, **dict.fromkeys(basement), "TotalBsmtSF": 0}
    none |= {"BsmtFinSF1": 0, "BsmtFinSF2": 0, "BsmtUnfSF": 0, "BsmtFullBath": 0}
    none |= {"BsmtHalfBath": 0}
    null_size = {**none, "TotalBsmtSF": None}
    all_null = {**null_size, **dict.fromkeys(["BsmtFinSF1", "BsmtFinSF2", "BsmtUnfSF"])}
    # Each alone: in one batch, one house's null areas would settle them all.
    [price], [null_size_price], [all_null_price] = (
        make_prediction([record]).predictions for record in (none, null_size, all_null)
    )
    assert price == null_size_price == all_null_price
    assert house["TotalBsmtSF"] > 0 and make_prediction([house]).predictions != [price]


@pytest.mark.parametrize(
    ("kind", "detail"),
    [("BsmtQual", {"BsmtFinSF1": 500}), ("BsmtQual", {"BsmtCond": "TA"}),
     ("GarageType", {"GarageArea": 400})],
)  # fmt: skip
def test_a_null_kind_beside_a_detail_of_the_feature_leaves_its_size_unknown(
    house: dict[str, Any], kind: str, detail: dict[str, Any]
) -> None:
    """A few Ames records have a null kind beside a basement (test.csv's Ids 2218 and 2219):
    where another detail says the feature is there, its size left out is not 0 (which would
    break ``BsmtFinSF1 <= TotalBsmtSF``, a rule such a house sent with its size is refused by)
    but unknown, assumed typical."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    size = next(size for size, of in ZERO_WHEN_NONE.items() if of == kind)
    result = make_prediction([{**minimal, kind: None, **detail}], explain=True)
    explained = result.explanations
    assert explained is not None
    assert {f.field: f.assumed for f in explained.factors(0)}[size]


def test_floors_left_out_share_the_living_area(house: dict[str, Any]) -> None:
    """``area_parts``: the floors left out are what the given parts leave of the living area
    (the first floor first: both left out, a one-storey house), marked assumed; a typical
    first floor (1086 sq ft) beside a living area of 896 was a house the rules refuse."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    storey = {**minimal, "1stFlrSF": minimal["GrLivArea"], "2ndFlrSF": 0}
    upstairs = {**minimal, "GrLivArea": 2000, "1stFlrSF": 1200}
    rest = {**upstairs, "2ndFlrSF": 800}
    result = make_prediction([minimal, storey, upstairs, rest], explain=True)
    assert result.predictions[0] == result.predictions[1]
    assert result.predictions[2] == result.predictions[3]
    explained = result.explanations
    assert explained is not None
    flags = [{f.field: f.assumed for f in explained.factors(i)} for i in range(4)]
    assert flags[0]["1stFlrSF"] and flags[0]["2ndFlrSF"]
    assert not flags[2]["1stFlrSF"] and flags[2]["2ndFlrSF"] and not flags[3]["2ndFlrSF"]


def test_a_record_with_its_nulls_dropped_is_priced_as_with_them(
    request_rows: list[dict[str, Any]],
) -> None:
    """Many JSON writers leave nulls out. A quality left out beside its feature's size of 0 is
    none, as its null was (``schemas.NONE_WHEN_ZERO``: in the Ames records the two go
    together), so test.csv's houses are priced the same to the cent without their nulls; but
    for the few whose record has a null quality beside a size that is not 0 (a basement with
    no exposure grade), or a null size: left out there, the quality is unknown, and typical."""
    dropped = [{k: v for k, v in row.items() if v is not None} for row in request_rows]
    answered, answered_without = make_prediction(request_rows), make_prediction(dropped)
    with_nulls, without = answered.predictions, answered_without.predictions
    odd = {
        i
        for i, row in enumerate(request_rows)
        for size, features in NONE_WHEN_ZERO.items()
        if row[size] != 0 and any(row[name] is None for name in features)
    }
    assert len(odd) < 20
    moved = {i for i, (a, b) in enumerate(zip(with_nulls, without, strict=True)) if a != b}
    assert moved <= odd and len(moved) >= 5
    flagged = {
        i
        for i, (a, b) in enumerate(zip(answered.intervals, answered_without.intervals, strict=True))
        if a.calibrated != b.calibrated
    }
    assert flagged <= odd  # an alley, a fence left out are none (``NONE_WHEN_LEFT_OUT``)
    assert request_rows[0]["Alley"] is None and 0 not in moved | flagged  # the spec's example


def with_none_of_anything(house: dict[str, Any]) -> dict[str, Any]:
    """``house`` with every field that may mean "none" given as null: no such feature."""
    return {**house, **dict.fromkeys(ABSENT_MEANS_NONE)}


def test_the_top_field_agrees_with_shap(request_rows: list[dict[str, Any]]) -> None:
    """shap's TreeExplainer as the reference: the same field has the largest effect in at least
    75% of test.csv's houses."""
    assert same_top_field(default_model(), request_rows) >= 0.75
