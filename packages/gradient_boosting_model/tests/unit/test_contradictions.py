"""Records that say a house both has a feature and has none: found in a validated batch (on its
codes) as in its columns (coded again), each named by the field that says none and the first
that says the feature is there."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from house_samples import REQUIRED_HOUSE, found_every_way, sampled_houses

from gradient_boosting_model.config import Config
from gradient_boosting_model.contradictions import (
    FEATURES,
    Contradictions,
    fit_contradictions,
)
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.input_ranges import InputRanges
from gradient_boosting_model.seen_codes import SeenCodes
from gradient_boosting_model.validation import validate_batch, validate_inputs

EVERY_FEATURE = Contradictions(FEATURES)


def test_no_training_record_says_both_so_every_feature_is_checked(config: Config) -> None:
    houses, _ = features_and_target(split_holdout(config).train, config)
    assert fit_contradictions(validate_inputs(houses)).sizes == FEATURES


def test_a_feature_some_training_record_contradicts_is_not_checked() -> None:
    training = validate_inputs(
        [
            {**REQUIRED_HOUSE, "PoolArea": 0, "PoolQC": "Gd"},  # says both of its pool
            {**REQUIRED_HOUSE, "TotalBsmtSF": 800, "BsmtQual": "TA", "PoolArea": 0},
        ]
    )
    fitted = fit_contradictions(training)
    assert "PoolArea" not in fitted.sizes
    assert "TotalBsmtSF" in fitted.sizes
    assert fitted.found(validate_batch([{**REQUIRED_HOUSE, "PoolArea": 0, "PoolQC": "Gd"}])) == []


def test_a_garage_area_of_0_beside_cars_in_training_leaves_the_garage_unchecked() -> None:
    training = validate_inputs(
        [{**REQUIRED_HOUSE, "GarageCars": 2, "GarageArea": 0}, {**REQUIRED_HOUSE, "PoolArea": 0}]
    )
    assert fit_contradictions(training).sizes == ("TotalBsmtSF", "Fireplaces", "PoolArea")


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        (
            {"TotalBsmtSF": 173, "BsmtQual": None, "BsmtCond": "Fa"},
            "BsmtQual",
            "BsmtQual null says the house has no basement, and TotalBsmtSF 173 that it has one",
        ),
        (
            {"TotalBsmtSF": 0, "BsmtQual": "TA"},
            "TotalBsmtSF",
            "TotalBsmtSF 0 says the house has no basement, and BsmtQual TA that it has one",
        ),
        (  # a grade beside a null kind keeps the size unknown (not 0): it says there still
            {"BsmtQual": None, "BsmtExposure": "No"},
            "BsmtQual",
            "BsmtQual null says the house has no basement, and BsmtExposure No that it has one",
        ),
        (
            {"Fireplaces": 0, "FireplaceQu": "Gd"},
            "Fireplaces",
            "Fireplaces 0 says the house has no fireplace, and FireplaceQu Gd that it has one",
        ),
        (
            {"GarageCars": 0, "GarageArea": 300.5},
            "GarageCars",
            "GarageCars 0 says the house has no garage, and GarageArea 300.5 that it has one",
        ),
        (  # the other way: a garage's area of 0 says none, as its size of 0 does
            {"GarageCars": 2, "GarageArea": 0},
            "GarageArea",
            "GarageArea 0 says the house has no garage, and GarageCars 2 that it has one",
        ),
        (  # the cars not given: the area of 0 says none still, and the kind there
            {"GarageArea": 0, "GarageType": "Attchd", "GarageYrBlt": 1990},
            "GarageArea",
            "GarageArea 0 says the house has no garage, and GarageType Attchd that it has one",
        ),
        (  # the year alone says there: the area sent as 0 named, not a field worked out
            {"GarageArea": 0, "GarageYrBlt": 1990},
            "GarageYrBlt",
            "GarageYrBlt 1990 says the house has a garage, where its GarageArea 0 says it has none",
        ),
        *(  # the size worked out from the kind, or the kind from the size: the year named
            (
                {**said_none, "GarageYrBlt": 1990},
                "GarageYrBlt",
                "GarageYrBlt 1990 says the house has a garage, where its GarageType or"
                " GarageCars says it has none",
            )
            for said_none in (
                {"GarageType": None},
                {"GarageType": None, "GarageCars": None},
                {"GarageCars": 0},
                {"GarageCars": 0, "GarageType": None},
            )
        ),
        (  # a detail named before the year
            {"GarageCars": 0, "GarageYrBlt": 1990, "GarageFinish": "Unf"},
            "GarageCars",
            "GarageCars 0 says the house has no garage, and GarageFinish Unf that it has one",
        ),
        (
            {"PoolArea": 368, "PoolQC": None},
            "PoolQC",
            "PoolQC null says the house has no pool, and PoolArea 368 that it has one",
        ),
    ],
)
def test_a_record_saying_both_is_named_by_its_fields(
    details: dict[str, Any], field: str, message: str
) -> None:
    found = found_every_way(EVERY_FEATURE, [REQUIRED_HOUSE, {**REQUIRED_HOUSE, **details}])
    assert found == [(1, field, f"{message}: no training house said both")]


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"PoolArea": 0},  # none, its kind settled as none
        {"PoolQC": None},  # none, its size settled as 0
        {"TotalBsmtSF": 0, "BsmtQual": None, "BsmtFinSF1": 0},
        {"TotalBsmtSF": 900, "BsmtQual": "TA", "BsmtCond": None},  # a detail null: not none
        {"GarageType": "Attchd", "GarageYrBlt": 1990},
        {"BsmtQual": "TA"},  # a basement of unknown size
        {"GarageCars": None, "GarageType": None},  # none: the size 0
        {"GarageArea": 0},  # none: the cars unknown, no sign of a garage
        {"GarageCars": 0, "GarageArea": 0, "GarageType": None},
        {"GarageArea": 0, "GarageType": None},  # none: the cars settled as 0
        {"GarageCars": 1, "GarageArea": 120, "GarageType": "Detchd"},
    ],
)
def test_a_record_that_agrees_or_leaves_out_is_not_warned(details: dict[str, Any]) -> None:
    assert found_every_way(EVERY_FEATURE, [{**REQUIRED_HOUSE, **details}]) == []


def test_a_garage_year_beside_a_null_kind_leaves_the_garage_none() -> None:
    """A year alone does not keep the garage's size unknown: priced with no garage (a typical
    one would be about 10% more), the record warned of."""
    for details in ({}, {"GarageYrBlt": 1990}):
        batch = validate_batch([{**REQUIRED_HOUSE, "GarageType": None, **details}])
        assert batch["GarageCars"].tolist() == [0.0]
    kept = validate_batch([{**REQUIRED_HOUSE, "GarageType": None, "GarageQual": "TA"}])
    assert np.isnan(kept["GarageCars"]).all()  # a detail of the garage does


def test_test_csv_has_five_records_that_say_both(request_rows: list[dict[str, Any]]) -> None:
    found = found_every_way(EVERY_FEATURE, request_rows)
    named = [(request_rows[house]["Id"], field) for house, field, _ in found]
    assert named == [
        (2218, "BsmtQual"),
        (2219, "BsmtQual"),
        (2421, "PoolQC"),
        (2504, "PoolQC"),
        (2600, "PoolQC"),
    ]


def test_the_batch_and_its_columns_agree_on_sampled_houses(
    request_rows: list[dict[str, Any]],
) -> None:
    houses = sampled_houses(request_rows, 2000, seed=7)
    found = found_every_way(EVERY_FEATURE, houses)
    assert len({field for _, field, _ in found}) >= 6  # both ways, several features


def test_the_input_ranges_warn_of_it_after_their_own() -> None:
    codes = SeenCodes({"PoolQC": ("Ex", "Fa", "Gd")})
    ranges = InputRanges((), codes, EVERY_FEATURE)
    house = {**REQUIRED_HOUSE, "PoolArea": 0, "PoolQC": "TA"}  # a code unseen, and no pool
    batch = validate_batch([REQUIRED_HOUSE, house])
    warnings = ranges.check(batch, {}, lambda name: np.zeros(2, dtype=bool))
    assert warnings[0] == []
    assert [warning.message for warning in warnings[1]] == [
        "PoolQC TA was not seen in training",
        "PoolArea 0 says the house has no pool, and PoolQC TA that it has one: "
        "no training house said both",
    ]


def test_input_ranges_pickled_before_0_3_2_check_no_records() -> None:
    state = InputRanges((), None, EVERY_FEATURE).__getstate__()
    del state["contradictions"]  # as an artifact before 0.3.2 holds them
    old = InputRanges.__new__(InputRanges)
    old.__dict__.update(state)  # what unpickling does with a dataclass's state
    batch = validate_batch([{**REQUIRED_HOUSE, "PoolArea": 368, "PoolQC": None}])
    assert old.contradictions is None
    assert old.check(batch, {}, lambda name: np.zeros(1, dtype=bool)) == [[]]


def test_it_pickles_without_what_it_derives() -> None:
    check = Contradictions(("PoolArea",))
    check.found(validate_batch([REQUIRED_HOUSE]))  # derives its layout and mask
    copy = pickle.loads(pickle.dumps(check))
    assert set(vars(copy)) == {"sizes"}
    assert copy.describe() == ["PoolArea"]
