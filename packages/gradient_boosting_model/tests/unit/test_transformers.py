from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from gradient_boosting_model.transformers import (
    AbsentCategoryFiller,
    ColumnStacker,
    GradeScorer,
    MissingValueImputer,
    TargetOrderedEncoder,
    WeightedSums,
    YearsElapsed,
)


def _codes(*values: str | None) -> np.ndarray[Any, Any]:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _numbers(*values: float) -> np.ndarray[Any, Any]:
    return np.array(values, dtype=np.float64)


ALL = [
    AbsentCategoryFiller(variables=["Alley"], fill_value="NA"),
    GradeScorer(variables=["KitchenQual"], scores={"Ex": 5.0}),
    YearsElapsed(variables=["YearBuilt"], reference="YrSold"),
    WeightedSums(sums={"Total": {"A": 1.0}}),
    TargetOrderedEncoder(variables=["Neighborhood"]),
    MissingValueImputer(strategy="median"),
    ColumnStacker(),
]


@pytest.mark.parametrize("transformer", ALL, ids=lambda t: type(t).__name__)
def test_follows_the_estimator_contract(transformer: BaseEstimator) -> None:
    params = transformer.get_params()
    copy = clone(transformer)
    assert copy.get_params() == params  # __init__ stores arguments unchanged
    assert not [name for name in vars(copy) if name.endswith("_")]  # nothing fitted yet
    with pytest.raises(NotFittedError):
        copy.transform({})


@pytest.mark.parametrize("transformer", ALL[:5], ids=lambda t: type(t).__name__)
def test_fit_refuses_frames_without_its_columns(transformer: BaseEstimator) -> None:
    with pytest.raises(KeyError, match="needs columns"):
        clone(transformer).fit({"Other": _numbers(1.0)}, _numbers(1.0))


def test_absent_category_filler_fills_only_its_columns() -> None:
    X = {"Alley": _codes("Pave", None), "MSZoning": _codes(None, "RL")}
    out = AbsentCategoryFiller(variables=["Alley"], fill_value="NA").fit(X).transform(X)
    assert out["Alley"].tolist() == ["Pave", "NA"]
    assert out["MSZoning"].tolist() == [None, "RL"]
    assert X["Alley"].tolist() == ["Pave", None]  # the input is not changed in place


def test_grade_scorer_scores_known_codes_and_leaves_missing_as_nan() -> None:
    X = {"KitchenQual": _codes("Ex", "TA", None, "NA")}
    scorer = GradeScorer(variables=["KitchenQual"], scores={"Ex": 5.0, "TA": 3.0, "NA": 0.0})
    out = scorer.fit(X).transform(X)["KitchenQual"]
    np.testing.assert_array_equal(out, [5.0, 3.0, np.nan, 0.0])


def test_years_elapsed_measures_to_the_sale_and_never_goes_below_zero() -> None:
    X = {
        "YearBuilt": _numbers(2000, 2009, np.nan),
        "YrSold": _numbers(2010, 2008, 2010),
    }
    out = YearsElapsed(variables=["YearBuilt"], reference="YrSold").fit(X).transform(X)
    np.testing.assert_array_equal(out["YearBuilt"], [10.0, 0.0, np.nan])
    np.testing.assert_array_equal(out["YrSold"], X["YrSold"])


def test_weighted_sums_are_unknown_when_a_part_is() -> None:
    X = {"FullBath": _numbers(2, 1), "HalfBath": _numbers(1, np.nan)}
    sums = {"Baths": {"FullBath": 1.0, "HalfBath": 0.5}}
    out = WeightedSums(sums=sums).fit(X).transform(X)
    np.testing.assert_array_equal(out["Baths"], [2.5, np.nan])


def test_missing_value_imputer_fills_training_medians() -> None:
    X = {"a": _numbers(1, 2, 10, np.nan), "b": _numbers(5, 5, 5, 5)}
    imputer = MissingValueImputer(strategy="median").fit(X)
    assert imputer.statistics_ == {"a": 2.0, "b": 5.0}
    out = imputer.transform({"a": _numbers(np.nan, 7), "b": _numbers(np.nan, 1)})
    np.testing.assert_array_equal(out["a"], [2.0, 7.0])
    np.testing.assert_array_equal(out["b"], [5.0, 1.0])
    mean = MissingValueImputer(strategy="mean").fit(X)
    assert mean.statistics_["a"] == pytest.approx(13 / 3)


def test_missing_value_imputer_refuses_an_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="strategy"):
        MissingValueImputer(strategy="mode").fit({"a": _numbers(1)})


def test_target_ordered_encoder_ranks_by_mean_target() -> None:
    X = {"Neighborhood": _codes("A", "B", "B", "C", "A")}
    y = _numbers(300, 100, 120, 200, 310)
    encoder = TargetOrderedEncoder(variables=["Neighborhood"]).fit(X, y)
    assert encoder.categories_ == {"Neighborhood": {"B": 0.0, "C": 1.0, "A": 2.0}}
    new = {"Neighborhood": _codes("C", "unseen", None)}
    np.testing.assert_array_equal(encoder.transform(new)["Neighborhood"], [1.0, np.nan, np.nan])


def test_target_ordered_encoder_needs_the_target() -> None:
    with pytest.raises(ValueError, match="needs the target"):
        TargetOrderedEncoder(variables=["A"]).fit({"A": _codes("x")})


def test_column_stacker_keeps_the_fitted_order() -> None:
    X = {"b": _numbers(1, np.nan), "a": _numbers(3, 4)}
    stacker = ColumnStacker().fit(X)
    reordered = {"a": X["a"], "b": X["b"]}
    np.testing.assert_array_equal(stacker.transform(reordered), [[1.0, 3.0], [np.nan, 4.0]])
    with pytest.raises(KeyError, match="lacks"):
        stacker.transform({"a": X["a"]})


def test_transform_refuses_columns_lost_since_fit() -> None:
    X = {"YearBuilt": _numbers(2000), "YrSold": _numbers(2010)}
    elapsed = YearsElapsed(variables=["YearBuilt"], reference="YrSold").fit(X)
    with pytest.raises(KeyError, match="YrSold"):
        elapsed.transform({"YearBuilt": _numbers(2000)})
