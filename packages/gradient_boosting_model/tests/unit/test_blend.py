"""The basis Lasso and its blend with the boosted trees: sums of one term per column, exactly."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.exceptions import NotFittedError

from gradient_boosting_model.basis_lasso import BasisLasso
from gradient_boosting_model.blend import (
    BlendedRegressor,
    additive_terms,
    boosted_part,
    log_price_predictor,
)
from gradient_boosting_model.blend_terms import BlendPredictor, BlendTerms
from gradient_boosting_model.explanation import FieldExplainer
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.linear_terms import SplineCurves
from gradient_boosting_model.tree_arrays import BLOCK_ROWS, MAX_DEPTH, TreeArrays
from gradient_boosting_model.tree_paths import TreePaths

#: area, quality (a rating, one-hot), second floor (an area, often 0), lot (an area, splined)
FEATURES = ["GrLivArea", "OverallQual", "2ndFlrSF", "LotArea"]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rows = 400
    area = rng.uniform(500, 3000, rows)
    quality = rng.integers(1, 11, rows).astype(float)
    second = np.where(rng.random(rows) < 0.4, rng.uniform(300, 1200, rows), 0.0)
    lot = rng.uniform(2000, 20000, rows)
    log_price = (
        10
        + 0.6 * np.log1p(area)
        + 0.1 * quality
        + 0.05 * (second > 0)
        + 0.1 * np.sin(lot / 4000)
        + 0.05 * rng.normal(size=rows)
    )
    return np.column_stack([area, quality, second, lot]), log_price


def _lasso(**changes: Any) -> BasisLasso:
    settings: dict[str, Any] = {
        "alpha": 0.001,
        "max_iter": 50_000,
        "tol": 1e-6,
        "log_columns": (0, 2, 3),
        "one_hot_columns": (1,),
        "spline_columns": (0, 3),
        **changes,
    }
    return BasisLasso(**settings)


def _blend(weight: float = 0.6, max_depth: int = 3) -> BlendedRegressor:
    boosted = GradientBoostingRegressor(
        n_estimators=40,
        max_depth=max_depth,
        init=LinearStart(alpha=10.0, log_columns=(0,)),
        random_state=0,
    )
    return BlendedRegressor(boosted=boosted, linear=_lasso(), weight=weight)


#: Batches priced in one call: one house, a few, and around ``tree_arrays``'s blocks.
BATCHES = (1, 2, 3, BLOCK_ROWS - 1, BLOCK_ROWS, BLOCK_ROWS + 1, 400)


def _assert_priced_as_predict(predict: Any, regressor: Any, X: np.ndarray) -> None:
    """``predict`` gives ``regressor.predict``'s numbers to the last bit, batch by batch."""
    for rows in BATCHES:
        np.testing.assert_array_equal(predict(X[:rows]), regressor.predict(X[:rows]))


def test_the_lasso_fits_log_areas_codes_and_curves(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    lasso = _lasso().fit(X, y)
    assert np.sqrt(np.mean((lasso.predict(X) - y) ** 2)) < 0.06
    assert lasso.hot_values_.tolist() == list(range(1, 11))
    assert lasso.indicator_columns_.tolist() == [2]  # the lot and the area are never 0


def test_codes_seen_too_rarely_get_no_indicator(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    X = X.copy()
    X[:2, 1] = 42.0  # a code seen twice
    lasso = _lasso(min_count=3).fit(X, y)
    assert 42.0 not in lasso.hot_values_.tolist()


def test_its_terms_add_up_to_its_compiled_prediction(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    lasso = _lasso().fit(X, y)
    total = lasso.intercept_ + lasso.contributions(X).sum(axis=1)
    np.testing.assert_allclose(total, lasso.predict(X), rtol=0, atol=1e-12)


def test_its_compiled_terms_are_the_standardised_basis_terms(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    lasso = _lasso().fit(X, y)
    beyond = X[:5] * [2.0, 1.0, 1.0, 0.5]  # clipped, and a code never seen
    beyond[0, 1] = 42.0
    for rows in (X, beyond):
        np.testing.assert_allclose(
            lasso.contributions(rows), lasso.basis_contributions(rows), rtol=0, atol=1e-12
        )


def test_its_spline_pieces_are_scipys_curves_on_knots_between_and_beyond(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    lasso = _lasso().fit(X, y)
    curves = SplineCurves.from_splines(lasso.curves_)
    assert curves.columns.tolist() == [column for column, _ in lasso.curves_]
    for k, (column, curve) in enumerate(lasso.curves_):
        # The curves take transformed values (log areas here): every knot, just either side
        # of it, midway between knots, and beyond the outer ones.
        knots = np.unique(curve.t)
        between = (knots[:-1] + knots[1:]) / 2
        edges = np.nextafter(knots, np.inf), np.nextafter(knots, -np.inf)
        points = np.concatenate([knots, between, *edges, [knots[0] - 0.5, knots[-1] + 0.5]])
        values = np.tile(lasso._clipped(X[:1]), (points.size, 1))
        values[:, column] = points
        found = curves.values(values)[:, k]
        np.testing.assert_allclose(found, curve(points), rtol=0, atol=1e-12)


def _unpickled(lasso: BasisLasso) -> BasisLasso:
    return pickle.loads(pickle.dumps(lasso))  # type: ignore[no-any-return]


def _saved_before_its_terms(lasso: BasisLasso) -> BasisLasso:
    """As a BasisLasso pickled before ``terms_`` was kept (model 0.3.0's first artifacts)."""
    state = dict(vars(lasso))  # what pickling it would save, in a dict of its own
    del state["terms_"]
    loaded = BasisLasso.__new__(BasisLasso)
    loaded.__setstate__(state)
    return loaded


@pytest.mark.parametrize("load", [_unpickled, _saved_before_its_terms])
def test_a_loaded_lasso_has_its_terms_and_prices_as_fitted(
    data: tuple[np.ndarray, np.ndarray], load: Callable[[BasisLasso], BasisLasso]
) -> None:
    X, y = data
    lasso = _lasso().fit(X, y)
    loaded = load(lasso)
    assert loaded.terms_.curves is not None  # the spline pieces, with no scipy at run time
    np.testing.assert_array_equal(loaded.predict(X), lasso.predict(X))
    np.testing.assert_array_equal(loaded.contributions(X), lasso.contributions(X))


def test_the_lasso_never_extrapolates_beyond_the_training_range(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    lasso = _lasso().fit(X, y)
    largest = X[np.argmax(X[:, 3])].copy()
    twice = largest * [1.0, 1.0, 1.0, 2.0]
    assert lasso.predict(twice[None, :]) == pytest.approx(lasso.predict(largest[None, :]))


def test_the_blend_weighs_its_halves(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    blend = _blend(0.6).fit(X, y)
    expected = 0.6 * blend.boosted_.predict(X) + 0.4 * blend.linear_.predict(X)
    np.testing.assert_allclose(blend.predict(X), expected, rtol=0, atol=1e-12)
    assert boosted_part(blend) is blend.boosted_


def test_the_blend_is_explained_exactly(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    blend = _blend().fit(X, y)
    terms = additive_terms(blend)
    assert isinstance(terms, BlendTerms)
    for rows in (X[:3], X):  # the trees' small-batch and large-batch paths
        total = terms.base_value + terms.contributions(rows).sum(axis=1)
        np.testing.assert_allclose(total, blend.predict(rows), rtol=0, atol=1e-12)
    explainer = FieldExplainer.build(terms, FEATURES, {})
    explained = explainer.explain(X, np.zeros((len(X), len(FEATURES)), dtype=bool))
    total = explained.base_log_price + explained.log_factors.sum(axis=1)
    np.testing.assert_allclose(total, blend.predict(X), rtol=0, atol=1e-12)


def test_a_boosted_model_alone_is_explained_by_its_trees(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """Model 0.2.0's regressor: no blend, the trees' paths as before."""
    X, y = data
    boosted = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, y)
    assert boosted_part(boosted) is boosted
    assert isinstance(additive_terms(boosted), TreePaths)


def test_the_blend_prices_its_trees_in_arrays_and_its_lasso_as_it_is(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    blend = _blend().fit(X, y)
    predict = log_price_predictor(blend)
    kept = getattr(predict, "__self__", None)
    assert isinstance(kept, BlendPredictor) and kept.weight == blend.weight
    assert getattr(kept.linear, "__self__", None) is blend.linear_.terms_
    assert isinstance(getattr(kept.trees, "__self__", None), TreeArrays)
    beyond = X * [1.5, 1.0, 1.0, 2.0]  # the Lasso's clipping, the trees' outer leaves
    beyond[:5, 1] = 42.0  # a code the Lasso never saw
    for rows in (X, beyond):
        _assert_priced_as_predict(predict, blend, rows)


def test_a_boosted_model_alone_prices_its_trees_in_arrays(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """Model 0.2.0's regressor: its trees in arrays, nothing blended in."""
    X, y = data
    boosted = GradientBoostingRegressor(
        n_estimators=40, max_depth=3, init=LinearStart(alpha=10.0, log_columns=(0,)), random_state=0
    ).fit(X, y)
    predict = log_price_predictor(boosted)
    assert isinstance(getattr(predict, "__self__", None), TreeArrays)
    _assert_priced_as_predict(predict, boosted, X)


def test_a_blend_of_deep_trees_keeps_their_own_predict(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    blend = _blend(max_depth=MAX_DEPTH + 1).fit(X, y)
    kept = getattr(log_price_predictor(blend), "__self__", None)
    assert isinstance(kept, BlendPredictor) and kept.trees == blend.boosted_.predict
    _assert_priced_as_predict(log_price_predictor(blend), blend, X)


def test_an_unfitted_blend_has_no_predictor() -> None:
    with pytest.raises(NotFittedError):
        log_price_predictor(_blend())


def test_the_boosted_half_gets_the_fit_parameters(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    stages: list[int] = []

    def monitor(stage: int, estimator: Any, local_vars: Any) -> bool:
        stages.append(stage)
        return False

    _blend().fit(X, y, monitor=monitor)
    assert len(stages) == 40


def test_the_blend_clones_with_its_parameters() -> None:
    blend = _blend(0.7)
    copy = clone(blend)
    assert copy.weight == 0.7
    assert copy.get_params()["linear__spline_columns"] == (0, 3)
    assert copy.get_params()["boosted__n_estimators"] == 40


def test_a_blend_without_halves_refuses_to_fit(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="both"):
        BlendedRegressor(boosted=None, linear=_lasso()).fit(X, y)
