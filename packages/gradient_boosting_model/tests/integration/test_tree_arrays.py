"""The packaged model (0.3.0: a blend) prices every house as scikit-learn's ``predict`` does,
to the last bit, its boosted half's trees evaluated in flat arrays and its Lasso half as it is:
test.csv through ``make_prediction``, and 100,000 sampled houses and every threshold's edges
through the trees. Model 0.2.0's bare regressor: ``test_previous_version``."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import pytest

from gradient_boosting_model.blend import BlendedRegressor, boosted_part
from gradient_boosting_model.blend_terms import BlendPredictor, BlendTerms
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.tree_arrays import TreeArrays
from gradient_boosting_model.validation import validate_inputs

pytestmark = pytest.mark.integration

FloatArray = npt.NDArray[np.float64]
#: Sampled houses, and the rows scikit-learn is given at a time (it slows down on huge inputs).
SAMPLED = 100_000
CHUNK = 2_000


def with_scikit_learns_predict(model: TrainedModel) -> TrainedModel:
    """The same model, its log prices from the regressor's own ``predict`` (the path before)."""
    today = dataclasses.replace(model)
    today.__dict__["log_price_predictor"] = regressor_of(model).predict
    return today


def regressor_of(model: TrainedModel) -> Any:
    return model.pipeline.named_steps["regressor"].regressor_


def kept_predictor(model: TrainedModel) -> BlendPredictor:
    kept = getattr(model.log_price_predictor, "__self__", None)
    assert isinstance(kept, BlendPredictor)
    return kept


def dumped(model: TrainedModel) -> bytes:
    """The bytes of ``model`` saved as an artifact is (``persistence``: joblib, compress=3)."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def test_the_blend_prices_its_trees_in_arrays(packaged_model: TrainedModel) -> None:
    blend = regressor_of(packaged_model)
    assert isinstance(blend, BlendedRegressor)
    kept = kept_predictor(packaged_model)
    assert kept.weight == blend.weight
    assert isinstance(getattr(kept.trees, "__self__", None), TreeArrays)


def test_pricing_stores_no_shortcut_to_the_predictor(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    fresh = dataclasses.replace(packaged_model)  # nothing built yet
    before = dumped(fresh)
    fresh.stages(validate_inputs(request_rows[:1]))
    assert "log_price_predictor" in fresh.__dict__
    assert "log_price_predictor" not in fresh.__getstate__()
    assert dumped(fresh) == before


def test_test_csv_is_priced_as_before_to_the_last_bit(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    before = with_scikit_learns_predict(packaged_model)
    fast, slow = (
        make_prediction(request_rows, model=packaged_model, explain=True),
        make_prediction(request_rows, model=before, explain=True),
    )
    assert fast.predictions == slow.predictions
    assert fast.intervals == slow.intervals
    assert fast.warnings == slow.warnings
    assert fast.explanations is not None and slow.explanations is not None
    np.testing.assert_allclose(
        fast.explanations.log_factors, slow.explanations.log_factors, rtol=0, atol=1e-9
    )
    columns = validate_inputs(request_rows)
    np.testing.assert_array_equal(
        packaged_model.stages(columns).log_price, before.stages(columns).log_price
    )
    for row in request_rows[:100]:  # one house at a time, as the API prices them
        one = validate_inputs([row])
        np.testing.assert_array_equal(
            packaged_model.stages(one).log_price, before.stages(one).log_price
        )


def sampled_houses(matrix: FloatArray, rows: int, seed: int) -> FloatArray:
    """Houses whose every feature is drawn on its own from test.csv's: combinations no house
    had, so the trees' paths mix more than test.csv's do."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.choice(column, rows) for column in matrix.T])


def threshold_edges(regressor: Any, matrix: FloatArray) -> FloatArray:
    """Per split of the ensemble, a house of test.csv with that feature on the threshold, and
    at the float32 values on either side of it."""
    rows = []
    for number, estimator in enumerate(regressor.estimators_[:, 0]):
        tree = estimator.tree_
        for node in np.flatnonzero(tree.children_left >= 0):
            nearest = np.float32(tree.threshold[node])
            for value in (
                tree.threshold[node],
                np.nextafter(nearest, np.float32(np.inf)),
                np.nextafter(nearest, np.float32(-np.inf)),
            ):
                row = matrix[(number * 7 + node) % len(matrix)].copy()
                row[tree.feature[node]] = value
                rows.append(row)
    return np.array(rows)


def test_sampled_houses_and_threshold_edges_are_priced_as_before(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    matrix = packaged_model.stages(validate_inputs(request_rows)).matrix
    blend = regressor_of(packaged_model)
    boosted = boosted_part(blend)
    houses = np.vstack([sampled_houses(matrix, SAMPLED, seed=25), threshold_edges(boosted, matrix)])
    # The trees alone, all houses in one call (blocks of 128) against scikit-learn's in chunks.
    trees = kept_predictor(packaged_model).trees(houses)
    chunks = [houses[first : first + CHUNK] for first in range(0, len(houses), CHUNK)]
    np.testing.assert_array_equal(trees, np.concatenate([boosted.predict(X) for X in chunks]))
    # With the Lasso half, chunk by chunk as the blend's predict is given them.
    for X in chunks[::10] + chunks[-1:]:
        np.testing.assert_array_equal(packaged_model.log_price_predictor(X), blend.predict(X))


def test_prices_and_explanations_share_one_packing_of_the_trees(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    packed = packaged_model.packed_trees
    assert packed is not None
    assert kept_predictor(packaged_model).trees == packed.predict
    terms = packaged_model.explainer.paths
    assert isinstance(terms, BlendTerms)
    assert terms.trees.packed is packed
    # One house's explanation finds its leaves by those trees' codes, as the walk finds them.
    matrix = packaged_model.stages(validate_inputs(request_rows[:1])).matrix
    np.testing.assert_array_equal(terms.trees.leaves(matrix), terms.trees.walked_leaves(matrix))
