"""Since 0.3.5 a better grade never prices a house lower (``blend.monotone_grades``): the trees
never split on a grade, and the linear start's and the Lasso's grade slopes are at or above 0."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import Lasso, Ridge

from gradient_boosting_model.basis_lasso import BasisLasso
from gradient_boosting_model.blend import BlendedRegressor, additive_terms
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.linear_terms import LassoTerms

GRADE = 1  # the matrix column of a quality grade's score: 0 none, 1 Po ... 5 Ex
#: The price of each score, by the data below: none 0.05 up, then a dip at Fa (2) below Po (1),
#: as rare grades make in Ames (GarageCond Fa, priced below Po by model 0.3.4's Lasso).
SCORE_EFFECT = {0: 0.05, 1: 0.0, 2: -0.08, 3: 0.04, 4: 0.09, 5: 0.2}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    rows = 600
    area = rng.uniform(500, 3000, rows)
    score = rng.choice([0, 1, 2, 3, 4, 5], size=rows, p=[0.1, 0.08, 0.12, 0.4, 0.2, 0.1])
    lot = rng.uniform(2000, 20000, rows)
    log_price = (
        11
        + 0.5 * np.log1p(area)
        + np.vectorize(SCORE_EFFECT.__getitem__)(score)
        + 0.05 * np.log1p(lot)
        + 0.03 * rng.normal(size=rows)
    )
    return np.column_stack([area, score.astype(float), lot]), log_price


def _lasso(**changes: Any) -> BasisLasso:
    settings: dict[str, Any] = {
        "alpha": 0.0005,
        "max_iter": 50_000,
        "tol": 1e-7,
        "log_columns": (0, 2),
        "one_hot_columns": (GRADE,),
        **changes,
    }
    return BasisLasso(**settings)


def _term_by_score(predict: Any, X: np.ndarray) -> np.ndarray:
    """Mean log price of ``X``'s houses given each score 0 to 5, (scores,)."""
    return np.array(
        [
            np.mean(predict(np.column_stack([X[:, 0], np.full(len(X), s), X[:, 2]])))
            for s in range(6)
        ]
    )


def test_the_lasso_prices_a_dip_in_a_grade_unless_it_is_monotone(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    free = _term_by_score(_lasso().fit(X, y).predict, X)
    assert free[2] < free[1] - 0.03  # the data's dip at Fa, as a one-hot per grade fits it
    monotone = _lasso(monotone_columns=(GRADE,)).fit(X, y)
    rising = _term_by_score(monotone.predict, X)
    assert np.all(np.diff(rising[1:]) >= 0)  # Po to Ex: never lower
    assert rising[5] - rising[1] > 0.15  # and the grade still counts
    assert monotone.hot_values_.tolist() == [0.0]  # "none" keeps its own indicator ...
    assert monotone.indicator_thresholds_.tolist() == [1.0, 2.0, 3.0, 4.0]  # ... steps up
    assert free[0] > free[1]  # none above Po in the data: its indicator takes either sign
    assert rising[0] > rising[1]


def test_a_grade_never_seen_is_priced_in_order_too(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    seen = X[:, GRADE] != 4  # no Gd in training: Gd between TA and Ex all the same
    X, y = X[seen], y[seen]
    rising = _term_by_score(_lasso(monotone_columns=(GRADE,)).fit(X, y).predict, X)
    assert np.all(np.diff(rising[1:]) >= 0)


def test_the_monotone_lassos_terms_add_up_and_are_its_basis_terms(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    lasso = _lasso(monotone_columns=(GRADE,)).fit(X, y)
    total = lasso.intercept_ + lasso.contributions(X).sum(axis=1)
    np.testing.assert_allclose(total, lasso.predict(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        lasso.contributions(X), lasso.basis_contributions(X), rtol=0, atol=1e-12
    )


def test_bounding_some_slopes_is_the_plain_lasso_where_they_come_out_positive(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """The doubled design bounds only the rising slopes: a slope the plain Lasso fits above 0
    anyway (the area's) is the same either way."""
    X, y = data
    basis = np.column_stack([np.log1p(X[:, 0]), np.log1p(X[:, 2])])
    basis = (basis - basis.mean(axis=0)) / basis.std(axis=0)
    plain = Lasso(alpha=0.001, tol=1e-10, max_iter=100_000).fit(basis, y)
    from gradient_boosting_model.basis_lasso import _lasso as bounded_lasso

    rising = np.array([1, 0], dtype=np.int8)
    coef, intercept = bounded_lasso(basis, y, rising, alpha=0.001, max_iter=100_000, tol=1e-10)
    np.testing.assert_allclose(coef, plain.coef_, rtol=0, atol=1e-8)
    assert intercept == pytest.approx(plain.intercept_, abs=1e-8)
    flipped, _ = bounded_lasso(-basis, y, rising, alpha=0.001, max_iter=100_000, tol=1e-10)
    assert flipped[0] == 0.0  # the area negated falls with price: bounded at 0
    assert flipped[1] != 0.0
    # Held to fall instead (since 0.3.6), the negated area is the plain Lasso's, the area not.
    falling = np.array([-1, 0], dtype=np.int8)
    negated, _ = bounded_lasso(-basis, y, falling, alpha=0.001, max_iter=100_000, tol=1e-10)
    np.testing.assert_allclose(negated, -plain.coef_, rtol=0, atol=1e-8)
    held, _ = bounded_lasso(basis, y, falling, alpha=0.001, max_iter=100_000, tol=1e-10)
    assert held[0] == 0.0 and held[1] != 0.0


def test_the_start_bounds_a_grades_slope_only_where_it_falls(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    plain = LinearStart(alpha=10.0, log_columns=(0, 2)).fit(X, y)
    assert plain.coef_[GRADE] > 0
    same = LinearStart(alpha=10.0, log_columns=(0, 2), rising_columns=(GRADE,)).fit(X, y)
    np.testing.assert_array_equal(same.coef_, plain.coef_)  # not refitted: the same bits
    falling = X.copy()
    falling[:, GRADE] = 5 - X[:, GRADE]  # the grade's order reversed: its slope would be < 0
    assert LinearStart(alpha=10.0, log_columns=(0, 2)).fit(falling, y).coef_[GRADE] < 0
    bounded = LinearStart(alpha=10.0, log_columns=(0, 2), rising_columns=(GRADE,))
    bounded.fit(falling, y)
    assert bounded.coef_[GRADE] == pytest.approx(0.0, abs=1e-9)
    assert bounded.coef_[0] > 0


def test_the_bounded_ridge_is_the_ridge_where_the_bound_does_not_bind(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    from gradient_boosting_model.linear_start import _bounded_ridge

    X, y = data
    standardised = (X - X.mean(axis=0)) / X.std(axis=0)
    rising = np.array([0, 1, 0], dtype=np.int8)
    coef, intercept = _bounded_ridge(standardised, y, rising, 10.0, None)
    plain = Ridge(alpha=10.0).fit(standardised, y)
    np.testing.assert_allclose(coef, plain.coef_, rtol=0, atol=1e-7)
    assert intercept == pytest.approx(plain.intercept_, abs=1e-7)


def _blend(hidden: tuple[int, ...]) -> BlendedRegressor:
    boosted = GradientBoostingRegressor(
        n_estimators=60,
        max_depth=3,
        loss="huber",
        init=LinearStart(alpha=10.0, log_columns=(0, 2), rising_columns=hidden),
        random_state=0,
    )
    return BlendedRegressor(
        boosted=boosted,
        linear=_lasso(monotone_columns=hidden),
        weight=0.6,
        tree_hidden_columns=hidden,
    )


def test_the_trees_never_split_on_a_hidden_column(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    seen = _blend(()).fit(X, y).boosted_
    split_on = {int(f) for tree in seen.estimators_[:, 0] for f in tree.tree_.feature if f >= 0}
    assert GRADE in split_on  # the dip is there to split on
    hidden = _blend((GRADE,)).fit(X, y)
    split_on = {
        int(f) for tree in hidden.boosted_.estimators_[:, 0] for f in tree.tree_.feature if f >= 0
    }
    assert GRADE not in split_on
    assert split_on  # the other columns are split on
    rising = _term_by_score(hidden.predict, X)
    assert np.all(np.diff(rising[1:]) >= 0)
    seen_prices = _term_by_score(_blend(()).fit(X, y).predict, X)
    assert seen_prices[2] < seen_prices[1]  # without: the dip comes back


def test_the_hidden_trees_start_from_the_fitted_start(data: tuple[np.ndarray, np.ndarray]) -> None:
    """Fingerprint of scikit-learn's ``GradientBoostingRegressor``: its ``predict`` is its
    ``init_``'s prediction plus the learning rate times the trees' (``_fit_boosted`` sets
    ``init_`` after fitting the trees from zero), the start reading the matrix in single
    precision, as the trees do; if a release of scikit-learn stops reading ``init_`` so, this
    fails."""
    X, y = data
    boosted = _blend((GRADE,)).fit(X, y).boosted_
    start = boosted.init_
    assert isinstance(start, LinearStart) and boosted.init is start
    trees = sum(tree.predict(X) for tree in boosted.estimators_[:, 0])
    np.testing.assert_allclose(
        boosted.predict(X),
        start.predict(X.astype(np.float32)) + boosted.learning_rate * trees,
        rtol=0,
        atol=1e-12,
    )
    residual = y - start.predict(X)
    assert np.sqrt(np.mean((boosted.predict(X) - y) ** 2)) < np.sqrt(np.mean(residual**2))


def test_the_blend_stays_exactly_additive_with_hidden_columns(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    blend = _blend((GRADE,)).fit(X, y)
    terms = additive_terms(blend)
    total = terms.base_value + terms.contributions(X).sum(axis=1)
    np.testing.assert_allclose(total, blend.predict(X), rtol=0, atol=1e-9)


def test_a_model_saved_before_monotone_grades_loads_with_none(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """Artifacts before 0.3.5 have no such settings, no thresholds: they price as they did."""
    X, y = data
    blend = _blend(()).fit(X, y)
    expected = blend.predict(X)
    for estimator, name in (
        (blend, "tree_hidden_columns"),
        (blend.linear_, "monotone_columns"),
        (blend.boosted_.init_, "rising_columns"),
    ):
        del estimator.__dict__[name]
    del blend.linear_.__dict__["indicator_thresholds_"]
    object.__delattr__(blend.linear_.terms_, "indicator_thresholds")
    loaded = pickle.loads(pickle.dumps(blend))
    assert loaded.get_params()["tree_hidden_columns"] == ()
    assert loaded.linear_.get_params()["monotone_columns"] == ()
    assert loaded.boosted_.init_.get_params()["rising_columns"] == ()
    terms = loaded.linear_.terms_
    assert terms.indicator_thresholds.tolist() == [0.0] * terms.indicator_columns.size
    np.testing.assert_array_equal(loaded.predict(X), expected)
    assert isinstance(loaded.linear_.terms_, LassoTerms)


def test_hiding_columns_needs_a_start(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    blend = BlendedRegressor(
        boosted=GradientBoostingRegressor(n_estimators=5),
        linear=_lasso(),
        tree_hidden_columns=(GRADE,),
    )
    with pytest.raises(ValueError, match="start model"):
        blend.fit(X, y)


def test_a_monotone_column_cannot_be_splined(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="cannot be splined"):
        _lasso(monotone_columns=(GRADE,), spline_columns=(GRADE,)).fit(X, y)


AGE = 2  # a column whose larger value should never raise a price (a remodel's age)


def test_the_start_and_the_lasso_hold_a_falling_columns_slope_at_or_below_0(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """Since 0.3.6 (``blend.later_never_lower``): the lot's slope here rises; held to fall,
    it is 0, in the start (refitted bounded) and in the Lasso (its value alone)."""
    X, y = data
    assert LinearStart(alpha=10.0, log_columns=(0,)).fit(X, y).coef_[AGE] > 0
    start = LinearStart(alpha=10.0, log_columns=(0,), falling_columns=(AGE,)).fit(X, y)
    assert start.coef_[AGE] == pytest.approx(0.0, abs=1e-9)
    assert start.coef_[0] > 0
    free = _lasso(log_columns=(0,)).fit(X, y)
    assert free.terms_.number_coef[AGE] > 0
    held = _lasso(log_columns=(0,), falling_columns=(AGE,)).fit(X, y)
    assert held.terms_.number_coef[AGE] == 0.0
    ages = X.copy()
    for low, high in ((2000.0, 5000.0), (5000.0, 20000.0)):
        ages[:, AGE] = low
        cheaper = held.predict(ages)
        ages[:, AGE] = high
        assert np.all(held.predict(ages) <= cheaper)


def test_a_falling_column_is_its_value_alone(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(ValueError, match="no indicators"):
        _lasso(falling_columns=(AGE,)).fit(X, y)  # logged: it would get a "> 0" indicator
    with pytest.raises(ValueError, match="cannot be splined"):
        _lasso(log_columns=(0,), falling_columns=(AGE,), spline_columns=(AGE,)).fit(X, y)
