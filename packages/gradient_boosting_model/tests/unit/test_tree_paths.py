"""Path contributions from packed trees, on a small ensemble fitted here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor

from gradient_boosting_model.tree_arrays import TreeArrays
from gradient_boosting_model.tree_paths import TreePaths


def scikit_learns_leaves(
    regressor: GradientBoostingRegressor, paths: TreePaths, X: np.ndarray
) -> np.ndarray:
    """The leaf each row reaches in each tree by scikit-learn's ``apply``, in ``paths``'
    numbering (each tree's nodes after the previous tree's)."""
    found = regressor.apply(X.astype(np.float32)).reshape(X.shape[0], -1)
    return np.asarray(found + paths.roots, dtype=np.intp)


@pytest.fixture(scope="module")
def fitted() -> tuple[GradientBoostingRegressor, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = 2 * X[:, 0] + np.where(X[:, 1] > 0, 1.0, -1.0) + 0.1 * rng.normal(size=300)
    regressor = GradientBoostingRegressor(
        n_estimators=60, max_depth=3, learning_rate=0.1, loss="huber", random_state=0
    )
    return regressor.fit(X, y), rng.normal(size=(200, 6))


def test_contributions_add_up_to_the_prediction(
    fitted: tuple[GradientBoostingRegressor, np.ndarray],
) -> None:
    regressor, X = fitted
    paths = TreePaths.from_regressor(regressor)
    packed = TreePaths.from_regressor(regressor, packed=TreeArrays.from_regressor(regressor))
    # Walked; then found by the packed trees (one house by codes, more in blocks of houses).
    for found_by in (paths, packed):
        for rows in (X[:1], X[:10], X):
            total = found_by.base_value + found_by.contributions(rows).sum(axis=1)
            np.testing.assert_allclose(total, regressor.predict(rows), rtol=0, atol=1e-12)


def test_every_way_of_finding_leaves_is_scikit_learns(
    fitted: tuple[GradientBoostingRegressor, np.ndarray],
) -> None:
    regressor, X = fitted
    paths = TreePaths.from_regressor(regressor, packed=TreeArrays.from_regressor(regressor))
    # A value on a threshold goes left, compared as float32 as scikit-learn does.
    on_threshold = X[:1].copy()
    root = regressor.estimators_[0, 0].tree_
    on_threshold[0, root.feature[0]] = root.threshold[0]
    for rows in (X, on_threshold, np.vstack([X, on_threshold])):
        expected = scikit_learns_leaves(regressor, paths, rows)
        np.testing.assert_array_equal(paths.walked_leaves(rows), expected)
        np.testing.assert_array_equal(paths.leaves(rows), expected)  # the packed trees' blocks


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_one_house_leaves_by_pattern_codes_are_the_walks(depth: int) -> None:
    rng = np.random.default_rng(depth)
    X = rng.normal(size=(300, 5))
    regressor = GradientBoostingRegressor(n_estimators=40, max_depth=depth, random_state=0)
    regressor.fit(X, X[:, 0] * X[:, 1] + X[:, 2])
    paths = TreePaths.from_regressor(regressor, packed=TreeArrays.from_regressor(regressor))
    houses = rng.normal(size=(100, 5))
    # On, and a float32 step either side of, every threshold of the first trees.
    for tree in regressor.estimators_[:5, 0]:
        for feature, threshold in zip(tree.tree_.feature, tree.tree_.threshold, strict=True):
            if feature >= 0:
                for value in (threshold, *np.nextafter(np.float32(threshold), [-np.inf, np.inf])):
                    house = houses[:1].copy()
                    house[0, feature] = value
                    houses = np.vstack([houses, house])
    for house in houses:
        coded = paths.leaves(house[None, :])
        np.testing.assert_array_equal(coded, paths.walked_leaves(house[None, :]))
        np.testing.assert_array_equal(coded, scikit_learns_leaves(regressor, paths, house[None, :]))


def test_one_house_that_is_not_finite_is_walked(
    fitted: tuple[GradientBoostingRegressor, np.ndarray],
) -> None:
    regressor, X = fitted
    paths = TreePaths.from_regressor(regressor, packed=TreeArrays.from_regressor(regressor))
    house = X[:1].copy()
    house[0, 0] = np.nan
    np.testing.assert_array_equal(paths.leaves(house), paths.walked_leaves(house))
    # In a batch too: the packed trees take finite features only.
    houses = X.copy()
    houses[5, 1] = np.nan
    np.testing.assert_array_equal(paths.leaves(houses), paths.walked_leaves(houses))
    np.testing.assert_array_equal(
        paths.leaves(houses[6:]), scikit_learns_leaves(regressor, paths, houses[6:])
    )


def test_the_features_that_matter_get_the_credit(
    fitted: tuple[GradientBoostingRegressor, np.ndarray],
) -> None:
    regressor, X = fitted
    contributions = TreePaths.from_regressor(regressor).contributions(X)
    size = np.abs(contributions).mean(axis=0)
    assert size[0] > size[1] > 5 * size[2:].max()
    # Feature 0's credit follows its value: y rises by 2 per unit of it.
    assert np.corrcoef(X[:, 0], contributions[:, 0])[0, 1] > 0.95
