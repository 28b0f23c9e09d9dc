"""Train the model on the training split, score it on the holdout, save the versioned artifact.

Run as ``python -m gradient_boosting_model.train`` (``make train``).
"""

from __future__ import annotations

import logging
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

from sklearn.pipeline import Pipeline
from tqdm import tqdm

from gradient_boosting_model import __version__
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import LabelledSplit, features_and_target, split_holdout
from gradient_boosting_model.evaluation import regression_metrics
from gradient_boosting_model.persistence import save_pipeline
from gradient_boosting_model.pipeline import build_pipeline
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from gradient_boosting_model.validation import validate_inputs

logger = logging.getLogger(__name__)

#: What the model runs on (pandas is optional: only for DataFrame input).
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "marshmallow", "joblib")


def fit_pipeline(split: LabelledSplit, config: Config, *, progress: bool = True) -> Pipeline:
    """Fit a fresh pipeline on ``split.train``, showing a progress bar over boosting stages."""
    houses, prices = features_and_target(split.train, config)
    pipeline = build_pipeline(config)
    with tqdm(
        total=config.model.n_estimators, desc="boosting", unit="tree", disable=not progress
    ) as bar:

        def monitor(stage: int, estimator: Any, local_vars: Any) -> bool:
            bar.update(1)
            return False  # never stop early

        pipeline.fit(validate_inputs(houses), prices, regressor__monitor=monitor)
    return pipeline


def training_metadata(pipeline: Pipeline, split: LabelledSplit, config: Config) -> dict[str, Any]:
    """Metrics on both splits, library versions, and the model's inputs."""
    metrics = {}
    for name, frame in (("train", split.train), ("holdout", split.holdout)):
        houses, prices = features_and_target(frame, config)
        metrics[name] = regression_metrics(prices, pipeline.predict(validate_inputs(houses)))
    return {
        "model_name": config.artifacts.name,
        "model_version": __version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python_version": platform.python_version(),
        "library_versions": {name: version(name) for name in _LIBRARIES},
        "metrics": metrics,
        "input_fields": list(HOUSE_FIELDS),
        "required_fields": list(REQUIRED_FIELDS),
        "model_params": config.model.model_dump(),
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_config()
    split = split_holdout(config)
    logger.info("training on %d houses, holding out %d", len(split.train), len(split.holdout))
    pipeline = fit_pipeline(split, config, progress=True)
    metadata = training_metadata(pipeline, split, config)
    path = save_pipeline(pipeline, metadata, config)
    holdout = metadata["metrics"]["holdout"]
    logger.info(
        "saved %s: holdout RMSLE %.4f, R^2 %.4f (log %.4f), MAE $%.0f",
        path.name,
        holdout["rmsle"],
        holdout["r2"],
        holdout["r2_log"],
        holdout["mae_dollars"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
