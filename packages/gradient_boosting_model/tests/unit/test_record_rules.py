"""Rules every training record keeps (an area is the sum of its parts, no year of remodel or
garage after the sale, no more bedrooms than rooms): a record breaking one is found in a
validated batch as in its columns and house by house, and named by the field that breaks it."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from house_samples import REQUIRED_HOUSE, found_every_way, sampled_houses

from gradient_boosting_model.config import Config
from gradient_boosting_model.contradictions import FEATURES, Contradictions
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.input_ranges import InputRanges
from gradient_boosting_model.record_rules import RULES, RecordRules, fit_record_rules
from gradient_boosting_model.validation import validate_batch, validate_inputs

EVERY_RULE = RecordRules(tuple(rule.name for rule in RULES))


def _none_assumed(houses: int) -> Any:
    """``InputRanges.check``'s ``assumed``: no field assumed for any of ``houses``."""
    return lambda _: np.zeros(houses, dtype=bool)


def test_every_training_record_keeps_every_rule(config: Config) -> None:
    houses, _ = features_and_target(split_holdout(config).train, config)
    assert fit_record_rules(validate_inputs(houses)).names == EVERY_RULE.names


def test_a_rule_some_training_record_breaks_is_not_checked() -> None:
    breaking = {**REQUIRED_HOUSE, "1stFlrSF": 500, "2ndFlrSF": 0, "LowQualFinSF": 0}
    fitted = fit_record_rules(validate_inputs([REQUIRED_HOUSE, breaking]))
    assert "GrLivArea = 1stFlrSF + 2ndFlrSF + LowQualFinSF" not in fitted.names
    assert len(fitted.names) == len(RULES) - 1
    assert fitted.found(validate_batch([breaking])) == []


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        (  # a second floor as large as the first beside the living area of one
            {"1stFlrSF": 800, "2ndFlrSF": 800},
            "GrLivArea",
            "GrLivArea 896 is less than the sum of its parts given, 1stFlrSF 800 + 2ndFlrSF "
            "800 = 1600: no training house's was",
        ),
        (
            {"1stFlrSF": 800, "2ndFlrSF": 0, "LowQualFinSF": 0},
            "GrLivArea",
            "GrLivArea 896 is not the sum of its parts, 1stFlrSF 800 + 2ndFlrSF 0 + "
            "LowQualFinSF 0 = 800: every training house's was",
        ),
        (
            {"TotalBsmtSF": 500, "BsmtFinSF1": 300, "BsmtUnfSF": 300},
            "TotalBsmtSF",
            "TotalBsmtSF 500 is less than the sum of its parts given, BsmtFinSF1 300 + "
            "BsmtUnfSF 300 = 600: no training house's was",
        ),
        (
            {"TotalBsmtSF": 500, "BsmtFinSF1": 200.5, "BsmtFinSF2": 0, "BsmtUnfSF": 297},
            "TotalBsmtSF",
            "TotalBsmtSF 500 is not the sum of its parts, BsmtFinSF1 200.5 + BsmtFinSF2 0 + "
            "BsmtUnfSF 297 = 497.5: every training house's was",
        ),
        (
            {"YearRemodAdd": 2012},
            "YearRemodAdd",
            "YearRemodAdd 2012 is more than a year after the sale (YrSold 2010): no training "
            "house's was",
        ),
        (
            {"GarageYrBlt": 2207},
            "GarageYrBlt",
            "GarageYrBlt 2207 is more than a year after the sale (YrSold 2010): no training "
            "house's was",
        ),
        (
            {"BedroomAbvGr": 5, "TotRmsAbvGrd": 4},
            "BedroomAbvGr",
            "BedroomAbvGr 5 is more than the rooms above grade (TotRmsAbvGrd 4): no training "
            "house's was",
        ),
    ],
)
def test_a_record_breaking_a_rule_is_named_by_its_field(
    details: dict[str, Any], field: str, message: str
) -> None:
    house = {**REQUIRED_HOUSE, **details}
    assert found_every_way(EVERY_RULE, [REQUIRED_HOUSE, house]) == [(1, field, message)]


@pytest.mark.parametrize(
    "details",
    [
        {},  # nothing but the living area: its floors are what it leaves
        {"1stFlrSF": 896},  # one part given, within the whole
        {"1stFlrSF": 500, "2ndFlrSF": 396, "LowQualFinSF": 0},
        {"1stFlrSF": 500, "2ndFlrSF": 395, "LowQualFinSF": 0},  # a foot short: the slack
        {"TotalBsmtSF": 0},  # no basement: its parts are 0
        {"TotalBsmtSF": 700, "BsmtFinSF1": 300, "BsmtFinSF2": 0, "BsmtUnfSF": 400},
        {"BsmtFinSF1": 300, "BsmtUnfSF": 400},  # no whole to add up to
        {"YearRemodAdd": 2010, "GarageYrBlt": 2011},  # a year after the sale: the slack
        {"BedroomAbvGr": 4, "TotRmsAbvGrd": 4},  # as many: one training house (Id 955)
        {"BedroomAbvGr": 8},  # no rooms given to count them against
    ],
)
def test_a_record_keeping_the_rules_or_leaving_out_is_not_warned(details: dict[str, Any]) -> None:
    assert found_every_way(EVERY_RULE, [{**REQUIRED_HOUSE, **details}]) == []


def test_test_csv_has_a_garage_and_a_remodel_after_their_sale(
    request_rows: list[dict[str, Any]],
) -> None:
    found = found_every_way(EVERY_RULE, request_rows)
    assert [(request_rows[house]["Id"], field) for house, field, _ in found] == [
        (2550, "YearRemodAdd"),
        (2593, "GarageYrBlt"),
    ]


def test_every_way_agrees_on_sampled_houses(request_rows: list[dict[str, Any]]) -> None:
    houses = sampled_houses(request_rows, 2000, seed=11)  # fields drawn apart: rarely agree
    found = found_every_way(EVERY_RULE, houses)
    assert {field for _, field, _ in found} == {rule.field for rule in RULES}
    assert any("not the sum" in message for _, _, message in found)
    assert any("less than the sum" in message for _, _, message in found)


def test_the_input_ranges_warn_of_it_last() -> None:
    ranges = InputRanges((), None, Contradictions(FEATURES), EVERY_RULE)
    house = {**REQUIRED_HOUSE, "1stFlrSF": 800, "2ndFlrSF": 800, "GarageType": None}
    house["GarageYrBlt"] = 2207  # says a garage, where the null kind says none; after the sale
    warnings = ranges.check(validate_batch([REQUIRED_HOUSE, house]), {}, _none_assumed(2))
    assert warnings[0] == []
    assert [warning.field for warning in warnings[1]] == ["GarageYrBlt", "GrLivArea", "GarageYrBlt"]
    assert "says the house has a garage" in warnings[1][0].message  # the contradiction first


@pytest.mark.parametrize(
    ("parts", "warned"),
    [
        ((500.3, 395.4, 0), False),  # 895.7: a square foot short, in floats a hair over
        ((500.1, 396, 0), False),  # 896.1 beside 897.1: a square foot short
        ((500.1, 395.9, 0.1), False),
        ((500.3, 395.3, 0), True),  # 895.6: past the square foot
    ],
)
def test_a_square_foot_either_way_is_kept_whatever_the_floats(
    parts: tuple[float, float, float], warned: bool
) -> None:
    whole = 897.1 if parts == (500.1, 396, 0) else 896.7
    floors = dict(zip(("1stFlrSF", "2ndFlrSF", "LowQualFinSF"), parts, strict=True))
    found = found_every_way(EVERY_RULE, [{**REQUIRED_HOUSE, "GrLivArea": whole, **floors}])
    assert bool(found) is warned


def test_a_sum_is_shown_as_a_person_adds_it() -> None:
    house = {**REQUIRED_HOUSE, "TotalBsmtSF": 5, "BsmtFinSF1": 0.1, "BsmtFinSF2": 0.2}
    (found,) = found_every_way(EVERY_RULE, [{**house, "BsmtUnfSF": 0}])
    assert found[2].startswith("TotalBsmtSF 5 is not the sum of its parts, BsmtFinSF1 0.1 + ")
    assert "= 0.3:" in found[2]  # not 0.30000000000000004


def test_a_rule_this_package_does_not_have_is_refused_not_skipped() -> None:
    check = RecordRules(("GarageYrBlt <= YrSold + 2",))  # an artifact's, since changed
    with pytest.raises(ModelError, match="does not have"):
        check.found(validate_batch([{**REQUIRED_HOUSE, "GarageYrBlt": 2207}]))
    with pytest.raises(ModelError):
        check.describe()


def test_input_ranges_pickled_before_0_3_3_check_no_rules() -> None:
    state = InputRanges((), None, None, EVERY_RULE).__getstate__()
    del state["record_rules"]  # as an artifact before 0.3.3 holds them
    old = InputRanges.__new__(InputRanges)
    old.__dict__.update(state)  # what unpickling does with a dataclass's state
    batch = validate_batch([{**REQUIRED_HOUSE, "YearRemodAdd": 2100}])
    assert old.record_rules is None
    assert old.check(batch, {}, _none_assumed(1)) == [[]]


def test_it_pickles_without_what_it_derives() -> None:
    check = RecordRules(EVERY_RULE.names[-1:])
    check.found(validate_batch([REQUIRED_HOUSE]))  # the one-house path's positions
    check.found(validate_batch([REQUIRED_HOUSE] * 2))  # the arrays
    copy = pickle.loads(pickle.dumps(check))
    assert set(vars(copy)) == {"names"}
    assert copy.describe() == ["BedroomAbvGr <= TotRmsAbvGrd + 0"]
