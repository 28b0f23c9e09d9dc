"""The trees in flat arrays give scikit-learn's raw predictions to the last bit, on small
ensembles fitted here: every depth, loss and start, odd shapes, and values on thresholds."""

from __future__ import annotations

import pickle

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor

from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.tree_arrays import (
    BLOCK_ROWS,
    CODED_DEPTH,
    DEEPEST,
    MAX_DEPTH,
    TreeArrays,
    _floor_float32,
    raw_predictor,
)

FloatArray = npt.NDArray[np.float64]
#: Batch sizes around the block size, and one house.
SIZES = (1, 2, 3, BLOCK_ROWS - 1, BLOCK_ROWS, BLOCK_ROWS + 1, 2 * BLOCK_ROWS + 5)


def houses(rows: int, seed: int) -> FloatArray:
    """Five features: continuous, whole numbers (many ties, thresholds at halves), and wide."""
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [
            rng.normal(size=rows),
            rng.integers(0, 10, rows).astype(np.float64),
            rng.uniform(300, 5000, rows),
            rng.normal(size=rows) * 1e-3,
            rng.integers(1870, 2011, rows).astype(np.float64),
        ]
    )


def target(X: FloatArray) -> FloatArray:
    noise = np.random.default_rng(1).normal(size=X.shape[0])
    return 11 + X[:, 0] + 0.1 * X[:, 1] + 0.3 * np.log(X[:, 2]) + 0.1 * noise


def fitted(**settings: object) -> GradientBoostingRegressor:
    X = houses(400, seed=0)
    options: dict[str, object] = {"n_estimators": 40, "learning_rate": 0.1, "random_state": 0}
    options.update(settings)
    return GradientBoostingRegressor(**options).fit(X, target(X))


def assert_same_as_scikit_learn(regressor: GradientBoostingRegressor, X: FloatArray) -> None:
    trees = TreeArrays.from_regressor(regressor)
    for rows in SIZES:
        np.testing.assert_array_equal(trees.predict(X[:rows]), regressor.predict(X[:rows]))


@pytest.mark.parametrize("depth", [1, 2, 3, 4, MAX_DEPTH, DEEPEST])
def test_every_depth_gives_scikit_learns_predictions_to_the_bit(depth: int) -> None:
    assert_same_as_scikit_learn(fitted(max_depth=depth), houses(600, seed=2))


def test_one_house_is_priced_by_pattern_codes_up_to_their_depth() -> None:
    for depth in (1, 2, CODED_DEPTH):
        assert TreeArrays.from_regressor(fitted(max_depth=depth)).one_house is not None
    assert TreeArrays.from_regressor(fitted(max_depth=CODED_DEPTH + 1)).one_house is None


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "quantile"])
@pytest.mark.parametrize(
    "start",
    [None, "zero", DummyRegressor(strategy="median"), LinearStart(alpha=10.0, log_columns=(2,))],
    ids=["default", "zero", "dummy", "linear"],
)
def test_every_loss_and_start_gives_scikit_learns_predictions(loss: str, start: object) -> None:
    regressor = fitted(max_depth=3, loss=loss, init=start, subsample=0.8, max_features="sqrt")
    assert_same_as_scikit_learn(regressor, houses(300, seed=3))


def test_uneven_trees_and_lone_leaves_are_padded_without_effect() -> None:
    # Large leaves end most branches early; a tree that cannot split at all is a lone leaf.
    uneven = fitted(max_depth=5, min_samples_leaf=60)
    assert len({estimator.tree_.node_count for estimator in uneven.estimators_[:, 0]}) > 1
    assert_same_as_scikit_learn(uneven, houses(300, seed=4))
    stumps = fitted(max_depth=3, min_samples_split=10_000)
    assert TreeArrays.from_regressor(stumps).depth == 1
    assert_same_as_scikit_learn(stumps, houses(20, seed=5))


def thresholds_and_neighbours(regressor: GradientBoostingRegressor) -> FloatArray:
    """Rows whose every feature sits on a threshold of the ensemble, or just either side of it
    in float32, or between the threshold and its nearest float32."""
    rows = []
    for estimator in regressor.estimators_[:, 0]:
        tree = estimator.tree_
        for node in np.flatnonzero(tree.children_left >= 0):
            threshold = tree.threshold[node]
            nearest = np.float32(threshold)
            candidates = [
                threshold,
                float(nearest),
                float(np.nextafter(nearest, np.float32(np.inf))),
                float(np.nextafter(nearest, np.float32(-np.inf))),
                (threshold + float(nearest)) / 2,
            ]
            for value in candidates:
                row = houses(1, seed=int(node))[0]
                row[tree.feature[node]] = value
                rows.append(row)
    return np.array(rows)


def test_values_on_and_around_thresholds_go_where_scikit_learn_sends_them() -> None:
    regressor = fitted(max_depth=3)
    on_edges = thresholds_and_neighbours(regressor)
    # Continuous features' thresholds are midpoints that float32 cannot hold.
    thresholds = np.concatenate([e.tree_.threshold for e in regressor.estimators_[:, 0]])
    assert np.any(thresholds.astype(np.float32).astype(np.float64) != thresholds)
    trees = TreeArrays.from_regressor(regressor)
    np.testing.assert_array_equal(trees.predict(on_edges), regressor.predict(on_edges))
    for row in on_edges[:200]:  # one house at a time, as the API sends them
        np.testing.assert_array_equal(trees.predict(row[None, :]), regressor.predict(row[None, :]))


def test_a_float32_floor_orders_every_float32_as_its_threshold_does() -> None:
    rng = np.random.default_rng(6)
    thresholds = np.concatenate(
        [rng.normal(size=500), rng.integers(0, 100, 500) + 0.5, [np.inf, 3.5e38, -3.5e38]]
    )
    floors = _floor_float32(thresholds)
    assert floors.dtype == np.float32
    with np.errstate(over="ignore"):  # beyond float32's range: infinite
        nearest = thresholds.astype(np.float32)
    for step in (-np.inf, np.inf):
        for values in (nearest, np.nextafter(nearest, np.float32(step))):
            np.testing.assert_array_equal(values <= thresholds, values <= floors)


def test_a_value_scikit_learn_refuses_is_refused() -> None:
    regressor = fitted(max_depth=2)
    trees = TreeArrays.from_regressor(regressor)
    X = houses(3, seed=7)
    for bad in (np.nan, np.inf, -np.inf):
        broken = X.copy()
        broken[1, 2] = bad
        with pytest.raises(ValueError, match="NaN or infinity"):
            trees.predict(broken)
        with pytest.raises(ValueError):
            regressor.predict(broken)
    with pytest.raises(ValueError, match="features"):
        trees.predict(X[:, :4])


def test_the_blocks_arrays_are_kept_and_lent_to_one_call_at_a_time() -> None:
    regressor = fitted(max_depth=3)
    trees = TreeArrays.from_regressor(regressor)
    # The second as another thread's call, made while the first holds the kept arrays.
    with trees.scratch.lent(BLOCK_ROWS) as first, trees.scratch.lent(BLOCK_ROWS) as meanwhile:
        assert meanwhile is not first
    with trees.scratch.lent(2) as again:
        assert again is first
    # Kept arrays hold the last call's numbers: the next call, smaller, is not misled by them.
    X = houses(2 * BLOCK_ROWS + 5, seed=9)
    for rows in (2 * BLOCK_ROWS + 5, 3, BLOCK_ROWS, 2):
        np.testing.assert_array_equal(trees.predict(X[:rows]), regressor.predict(X[:rows]))


def test_trees_pickle_without_their_kept_arrays() -> None:
    regressor = fitted(max_depth=3)
    trees = TreeArrays.from_regressor(regressor)
    X = houses(BLOCK_ROWS + 1, seed=10)
    trees.predict(X)  # its arrays made, and kept
    state = trees.__getstate__()
    assert "scratch" not in state
    copy = pickle.loads(pickle.dumps(trees))
    np.testing.assert_array_equal(copy.predict(X), regressor.predict(X))


def test_deeper_trees_are_refused() -> None:
    with pytest.raises(ValueError, match=f"at most {DEEPEST} deep"):
        TreeArrays.from_regressor(fitted(max_depth=DEEPEST + 1, n_estimators=3))


def test_deep_ensembles_and_other_models_keep_their_own_predict() -> None:
    shallow = fitted(max_depth=MAX_DEPTH)
    assert isinstance(getattr(raw_predictor(shallow), "__self__", None), TreeArrays)
    deep = fitted(max_depth=MAX_DEPTH + 1)
    assert raw_predictor(deep) == deep.predict
    X = houses(100, seed=8)
    histogram = HistGradientBoostingRegressor(max_iter=5).fit(X, target(X))
    assert raw_predictor(histogram) == histogram.predict
