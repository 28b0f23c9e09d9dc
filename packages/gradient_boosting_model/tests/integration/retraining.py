"""What the integration tests share beside their fixtures: where the committed baseline lives,
and the type of the ``refit`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gradient_boosting_model.config import Config
from gradient_boosting_model.trained_model import TrainedModel

#: The committed baseline of the released version, beside the package (``make baseline``).
BASELINE_DIR = Path(__file__).resolve().parents[2] / "baseline"

#: Trains a model as ``train.train_model`` does with a config's settings, but for the price
#: ranges' calibration (see the ``refit`` fixture).
Refit = Callable[[Config], TrainedModel]
