"""An artifact holds what was trained and the pricing forms built from it when it was trained
(``trained_model.Pricing``): what the model makes of them on first use is not pickled."""

from __future__ import annotations

import pickle
from typing import Any

from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.trained_model import TrainedModel

#: Made on first use (``functools.cached_property`` and the like), per object of the model.
DERIVED = {
    "model": ("explainer", "log_price_predictor", "compiled_pipeline"),
    "plan": ("order",),
    "intervals": ("_curve",),
    "groups": ("_scale_by_value",),
    "ranges": ("_bounds",),
}


def parts(model: TrainedModel) -> dict[str, Any]:
    return {
        "model": model,
        "plan": model.pricing.compiled_pipeline,
        "intervals": model.intervals,
        "groups": model.intervals.groups,
        "ranges": model.ranges,
    }


def test_what_is_made_on_first_use_is_not_pickled(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    before = make_prediction(request_rows[:50], model=packaged_model, explain=True)
    for name, part in parts(packaged_model).items():  # made by the prices above
        assert set(DERIVED[name]) <= set(vars(part)), name
    loaded = pickle.loads(pickle.dumps(packaged_model))
    for name, part in parts(loaded).items():
        assert not set(DERIVED[name]) & set(vars(part)), name
    after = make_prediction(request_rows[:50], model=loaded, explain=True)
    assert after.predictions == before.predictions and after.intervals == before.intervals
