"""The linear start of the boosting: clipped, logged where asked, a sum of terms per feature."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.tree_paths import TreePaths


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    area = rng.uniform(500, 3000, 400)
    quality = rng.integers(1, 11, 400).astype(float)
    log_price = 10 + 0.6 * np.log1p(area) + 0.1 * quality + 0.05 * rng.normal(size=400)
    return np.column_stack([area, quality]), log_price


def test_it_fits_a_line_in_log_area(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    start = LinearStart(alpha=1.0, log_columns=(0,)).fit(X, y)
    assert np.sqrt(np.mean((start.predict(X) - y) ** 2)) < 0.06
    assert start.coef_[0] == pytest.approx(0.6, abs=0.05)


def test_it_never_extrapolates_beyond_the_training_range(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    start = LinearStart(alpha=1.0, log_columns=(0,)).fit(X, y)
    largest = X[np.argmax(X[:, 0])].copy()
    twice = largest * [2.0, 1.0]
    assert start.predict(twice[None, :]) == pytest.approx(start.predict(largest[None, :]))


def test_its_terms_add_up_to_its_prediction(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    start = LinearStart(alpha=10.0, log_columns=(0,)).fit(X, y)
    total = start.intercept_ + start.contributions(X).sum(axis=1)
    np.testing.assert_allclose(total, start.predict(X), rtol=0, atol=1e-12)


def test_an_ensemble_starting_from_it_is_explained_exactly(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = data
    regressor = GradientBoostingRegressor(
        n_estimators=50, max_depth=3, init=LinearStart(alpha=10.0, log_columns=(0,)), random_state=0
    ).fit(X, y)
    paths = TreePaths.from_regressor(regressor)
    for rows in (X[:3], X):
        total = paths.base_value + paths.contributions(rows).sum(axis=1)
        np.testing.assert_allclose(total, regressor.predict(rows), rtol=0, atol=1e-12)
