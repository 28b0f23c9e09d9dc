"""Accuracy on the labelled holdout, in-process speed and where it goes, and the wheel's size.

Run with ``make bench``. Figures are medians of repeated runs in one process; compare the rows
of one run with each other rather than across machines.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradient_boosting_model import __version__
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import (
    features_and_target,
    read_dataset,
    split_holdout,
)
from gradient_boosting_model.evaluation import regression_metrics
from gradient_boosting_model.predict import default_pipeline, make_prediction
from gradient_boosting_model.validation import validate_inputs

WHEEL = (
    Path(__file__).resolve().parent.parent
    / "dist"
    / f"gradient_boosting_model-{__version__}-py3-none-any.whl"
)


def median_ms(action: Callable[[Any], Any], argument: Any, *, repeats: int) -> float:
    """Median wall time of ``action(argument)`` in milliseconds."""
    action(argument)  # warm up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action(argument)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    config = load_config()
    houses, prices = features_and_target(split_holdout(config).holdout, config)
    metrics = regression_metrics(prices, make_prediction(houses).predictions)
    print(f"model {config.artifacts.name} v{__version__}")
    print(
        f"holdout ({metrics['rows']} houses): RMSLE {metrics['rmsle']:.4f} (target <= 0.12), "
        f"R^2 {metrics['r2']:.4f} (target >= 0.88), R^2 of log price {metrics['r2_log']:.4f}, "
        f"MAE ${metrics['mae_dollars']:,.0f}"
    )

    rows = read_dataset(config.data.requests_file)
    pipeline = default_pipeline()
    print(f"\n{'in-process, median ms':<34}{'1 row':>10}{f'{len(rows)} rows':>12}")
    for label, batch_action, repeats in (
        ("make_prediction", make_prediction, (2000, 50)),
        ("  validation", validate_inputs, (2000, 50)),
    ):
        one = median_ms(batch_action, rows[:1], repeats=repeats[0])
        every = median_ms(batch_action, rows, repeats=repeats[1])
        print(f"{label:<34}{one:>10.3f}{every:>12.2f}")
    one_columns, all_columns = validate_inputs(rows[:1]), validate_inputs(rows)
    preprocess = pipeline[:-1]
    one_matrix, all_matrix = preprocess.transform(one_columns), preprocess.transform(all_columns)
    regressor = pipeline[-1]
    for label, action, data in (
        ("  preprocessing (transformers)", preprocess.transform, (one_columns, all_columns)),
        ("  tree ensemble (regressor)", regressor.predict, (one_matrix, all_matrix)),
    ):
        one = median_ms(action, data[0], repeats=2000)
        every = median_ms(action, data[1], repeats=50)
        print(f"{label:<34}{one:>10.3f}{every:>12.2f}")
    print("targets: make_prediction 1 row <= 1 ms, 1459 rows <= 50 ms")

    if WHEEL.is_file():
        print(f"\nwheel {WHEEL.name}: {WHEEL.stat().st_size / 1e6:.2f} MB (target < 20 MB)")
    else:
        print(f"\nwheel not built: {WHEEL}")


if __name__ == "__main__":
    main()
