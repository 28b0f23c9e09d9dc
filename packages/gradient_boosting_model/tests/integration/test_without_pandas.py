"""pandas is an optional extra: reading the data, training and predicting work without it.

A service that predicts from JSON lists then saves pandas' 40 MB in every worker.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

WITHOUT_PANDAS = """
import sys

class NoPandas:  # as if pandas were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            raise ImportError("pandas is not installed")

sys.meta_path.insert(0, NoPandas())

from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import read_dataset, split_holdout
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.train import train_model, training_metadata

config = load_config()
small = config.model_copy(update={"model": config.model.model_copy(update={"n_estimators": 5})})
split = split_holdout(small)
model = train_model(split, small)
metadata = training_metadata(model, split, small, fitted_on="training_split")
assert "pandas" not in metadata["library_versions"]
rows = read_dataset(config.data.requests_file)
prices = make_prediction(rows, explain=True).predictions
assert len(prices) == len(rows) == 1459, len(prices)
assert "pandas" not in sys.modules
"""


def test_train_and_predict_without_pandas() -> None:
    subprocess.run([sys.executable, "-c", WITHOUT_PANDAS], check=True)
