"""Mapping the trees' contributions back to client fields, on a small model fitted here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from gradient_boosting_model.explanation import Explanations, FieldExplainer
from gradient_boosting_model.tree_paths import TreePaths

FEATURES = ["TotalBsmtSF", "1stFlrSF", "2ndFlrSF", "OverallQual", "TotalSF"]
SUMS = {"TotalSF": {"TotalBsmtSF": 1.0, "1stFlrSF": 1.0, "2ndFlrSF": 1.0}}


def _matrix(parts: np.ndarray, quality: np.ndarray) -> np.ndarray:
    return np.column_stack([parts, quality, parts.sum(axis=1)])


@pytest.fixture(scope="module")
def explainer() -> FieldExplainer:
    rng = np.random.default_rng(0)
    parts = rng.uniform(0, 1500, size=(400, 3))
    quality = rng.integers(1, 11, size=400).astype(float)
    log_price = 11 + parts.sum(axis=1) / 3000 + 0.1 * quality + 0.02 * rng.normal(size=400)
    regressor = GradientBoostingRegressor(n_estimators=80, max_depth=3, random_state=0)
    regressor.fit(_matrix(parts, quality), log_price)
    return FieldExplainer.build(TreePaths.from_regressor(regressor), FEATURES, SUMS)


def _explain(
    explainer: FieldExplainer, parts: list[list[float]], quality: list[float]
) -> tuple[np.ndarray, Explanations]:
    part_array = np.array(parts, dtype=np.float64)
    matrix = _matrix(part_array, np.array(quality))
    assumed = np.zeros((len(parts), len(explainer.fields)), dtype=bool)
    assumed[:, explainer.fields.index("2ndFlrSF")] = True  # as if it had been left out
    return matrix, explainer.explain(matrix, assumed)


def test_one_factor_per_field_and_the_product_is_the_prediction(
    explainer: FieldExplainer,
) -> None:
    matrix, explained = _explain(explainer, [[800, 900, 0], [0, 400, 300]], [5, 8])
    # The client's fields, in the schema's order; no field for the derived total.
    assert explained.fields == ("OverallQual", "TotalBsmtSF", "1stFlrSF", "2ndFlrSF")
    predicted = explainer.paths.base_value + explainer.paths.contributions(matrix).sum(axis=1)
    total = explained.base_log_price + explained.log_factors.sum(axis=1)
    np.testing.assert_allclose(total, predicted, rtol=0, atol=1e-12)


def test_a_total_is_split_in_proportion_to_what_each_part_put_in(
    explainer: FieldExplainer,
) -> None:
    matrix, explained = _explain(explainer, [[600, 1200, 0]], [5])
    by_feature = explainer.paths.contributions(matrix)[0]
    total = by_feature[FEATURES.index("TotalSF")]
    logs = dict(zip(explained.fields, explained.log_factors[0], strict=True))
    assert logs["TotalBsmtSF"] == pytest.approx(by_feature[0] + total / 3)
    assert logs["1stFlrSF"] == pytest.approx(by_feature[1] + 2 * total / 3)
    assert logs["2ndFlrSF"] == pytest.approx(by_feature[2])  # put nothing in: no share


def test_an_empty_total_is_shared_equally(explainer: FieldExplainer) -> None:
    matrix, explained = _explain(explainer, [[0, 0, 0]], [5])
    by_feature = explainer.paths.contributions(matrix)[0]
    share = by_feature[FEATURES.index("TotalSF")] / 3
    logs = dict(zip(explained.fields, explained.log_factors[0], strict=True))
    for index, name in enumerate(FEATURES[:3]):
        assert logs[name] == pytest.approx(by_feature[index] + share)


def test_factors_come_largest_effect_first_with_the_assumed_mark(
    explainer: FieldExplainer,
) -> None:
    _, explained = _explain(explainer, [[800, 900, 0]], [10])
    factors = explained.factors(0)
    effects = [abs(np.log(f.factor)) for f in factors]
    assert effects == sorted(effects, reverse=True)
    assert {f.field: f.assumed for f in factors}["2ndFlrSF"] is True
    assert sum(f.assumed for f in factors) == 1
    [record] = explained.records()
    assert record["base_price"] == pytest.approx(np.exp(explained.base_log_price))
    assert [f["field"] for f in record["factors"]] == [f.field for f in factors]
    assert np.prod([f["factor"] for f in record["factors"]]) * record["base_price"] == (
        pytest.approx(np.exp(explained.base_log_price + explained.log_factors[0].sum()))
    )
