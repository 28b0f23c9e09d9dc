"""A process that loads the model to price with it imports neither scikit-learn nor scipy: the
artifact keeps the pricing forms (``trained_model.Pricing``) and the pipeline as a pickle that is
loaded only when asked for. Each costs a process about 2 s and 100 MB (measured: the model loaded
in 0.54 s to 84 MB, against 1.6 s to 220 MB)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradient_boosting_model
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.trained_model import TrainedModel

pytestmark = pytest.mark.integration

#: Loads the packaged model, prices test.csv's first house with its explanation, then every
#: house, measures drift, and prints the heavy libraries loaded by then; then asks for the
#: pipeline.
PRICING = """
import sys
import gradient_boosting_model as model
from gradient_boosting_model.data import read_dataset

houses = read_dataset("test.csv")
trained = model.load_model()
one = model.make_prediction(houses[:1], explain=True)
every = model.make_prediction(houses, explain=True)
model.input_drift(trained, houses)
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"sklearn", "scipy", "pandas"})
print(model.__file__, len(every.predictions), ",".join(heavy) or "-")
trained.pipeline
print("sklearn" in sys.modules)
"""


def test_pricing_and_explaining_import_neither_scikit_learn_nor_scipy() -> None:
    package_root = Path(gradient_boosting_model.__file__).parent.parent
    # -P: not the current folder first (the source tree, when run from the package).
    env = {**os.environ, "PYTHONPATH": str(package_root)}
    result = subprocess.run(
        [sys.executable, "-P", "-c", PRICING], capture_output=True, text=True, env=env, check=True
    )
    priced, pipeline_loaded = result.stdout.splitlines()
    path, houses, heavy = priced.split()
    assert Path(path) == Path(gradient_boosting_model.__file__)  # this package, not another
    assert int(houses) == 1459
    assert heavy == "-"
    assert pipeline_loaded == "True"  # the pipeline is there, loaded when asked for


def test_a_loaded_model_prices_as_the_model_it_was_saved_from(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    loaded = pickle.loads(pickle.dumps(packaged_model))
    assert "pipeline" not in vars(loaded)  # not loaded yet
    before = make_prediction(request_rows, model=packaged_model, explain=True)
    after = make_prediction(request_rows, model=loaded, explain=True)
    assert after.predictions == before.predictions and after.intervals == before.intervals
    assert before.explanations is not None and after.explanations is not None
    np.testing.assert_array_equal(after.explanations.log_factors, before.explanations.log_factors)
    # Its pipeline, once asked for, is the one it was saved with: its own steps price the same.
    rebuilt = TrainedModel(
        pipeline=loaded.pipeline,
        intervals=loaded.intervals,
        ranges=loaded.ranges,
        distributions=loaded.distributions,
    )
    again = make_prediction(request_rows, model=rebuilt)
    assert again.predictions == before.predictions


def test_an_artifact_saved_without_its_pricing_builds_it_when_loaded(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    """As the artifacts saved before the pricing was kept (the pipeline itself, no pricing)."""
    state = packaged_model.__getstate__()
    del state["pricing"]
    state["pipeline"] = packaged_model.pipeline
    old = TrainedModel.__new__(TrainedModel)
    old.__setstate__(state)
    assert "pricing" not in vars(old)
    before = make_prediction(request_rows[:20], model=packaged_model, explain=True)
    after = make_prediction(request_rows[:20], model=old, explain=True)
    assert after.predictions == before.predictions and after.intervals == before.intervals
