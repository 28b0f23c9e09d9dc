"""shap's TreeExplainer as the reference for the explanations (shap is a test-only dependency).

shap explains the trees only (it refuses an ensemble whose start is not a constant), so the
linear start's terms, which are its exact Shapley values (a linear model's, centred on the
training means), are added to shap's values of the trees. In a blend (model 0.3.0) the Lasso's
per-column terms are likewise its exact Shapley values (each a function of one column, centred
on the training means), weighted as the blend weighs it.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.dummy import DummyRegressor

from gradient_boosting_model.blend import BlendedRegressor, boosted_part
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.validation import validate_inputs


def shap_by_field(model: TrainedModel, houses: list[dict[str, Any]]) -> npt.NDArray[np.float64]:
    """shap's contributions to each house's log price, by client field (houses x fields)."""
    import shap

    stages = model.stages(validate_inputs(houses))
    regressor = model.pipeline.named_steps["regressor"].regressor_
    boosted = boosted_part(regressor)
    trees = copy.copy(boosted)
    trees.init_ = DummyRegressor(strategy="constant", constant=0.0).fit([[0.0]], [0.0])
    values = shap.TreeExplainer(trees).shap_values(stages.matrix)
    if isinstance(boosted.init_, LinearStart):
        values = values + boosted.init_.contributions(stages.matrix.astype(np.float32))
    if isinstance(regressor, BlendedRegressor):
        weight = regressor.weight
        values = weight * values + (1 - weight) * regressor.linear_.contributions(stages.matrix)
    return model.explainer.to_fields(np.asarray(values, dtype=np.float64), stages.matrix)


def same_top_field(model: TrainedModel, houses: list[dict[str, Any]]) -> float:
    """Share of houses whose largest-effect field is the same by shap and by our explanation."""
    from gradient_boosting_model.predict import make_prediction

    ours = make_prediction(houses, model=model, explain=True).explanations
    assert ours is not None
    reference = shap_by_field(model, houses)
    same = np.argmax(np.abs(reference), axis=1) == np.argmax(np.abs(ours.log_factors), axis=1)
    return float(same.mean())
