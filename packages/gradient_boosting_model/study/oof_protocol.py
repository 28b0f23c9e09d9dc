"""The out-of-fold protocol rounds 9 and 11 measure a candidate by (round 8's): the package's
``out_of_fold`` on the training split, the holdout left out, with a candidate's fit in place of
``fitting.fit_pipeline`` (made of that function's first and last steps, ``prepared`` and
``fitted_blend``, around the candidate's own parts); and the accuracy and range figures every
round's table reports.

One copy, where each round's script had its own: a round's candidates, its step effects and its
tables stay in its script.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from joblib import parallel_config
from sklearn.pipeline import Pipeline

from gradient_boosting_model import fitting
from gradient_boosting_model.config import Config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import OutOfFold, cross_validated_metrics, out_of_fold
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.pipeline import build_pipeline
from gradient_boosting_model.validation import validate_inputs

House = dict[str, Any]


def prepared(
    columns: Columns, prices: npt.NDArray[np.float64], config: Config
) -> tuple[Pipeline, npt.NDArray[np.float64], list[str]]:
    """``fitting.fit_pipeline``'s first step: a fresh pipeline with its preprocessing fitted,
    the matrix it makes of ``columns``, and the matrix's column names (a candidate's parts
    take columns by place)."""
    pipeline = build_pipeline(config)
    matrix = pipeline[:-1].fit_transform(columns, prices)
    return pipeline, matrix, pipeline.named_steps["matrix"].feature_names_in_.tolist()


def fitted_blend(
    pipeline: Pipeline,
    matrix: npt.NDArray[np.float64],
    prices: npt.NDArray[np.float64],
    *,
    start: Any,
    linear: Any,
    hidden: tuple[int, ...],
) -> Pipeline:
    """``fitting.fit_pipeline``'s last step with a candidate's parts: the blend's linear start,
    its Lasso and the columns its trees never split on set, then the blend fitted on
    ``matrix`` (``prepared``'s)."""
    regressor = pipeline.steps[-1][1]
    regressor.set_params(
        regressor__boosted__init=start,
        regressor__tree_hidden_columns=hidden,
        regressor__linear=linear,
    )
    regressor.fit(matrix, prices)
    return pipeline


@contextlib.contextmanager
def fitted_with(fit: Callable[..., Pipeline] | None) -> Iterator[None]:
    """``out_of_fold`` fitting with ``fit`` in place of ``fitting.fit_pipeline``, in threads
    (the swap is this process's alone); ``None``: the package's own, in loky's processes."""
    if fit is None:
        yield
        return
    original = fitting.fit_pipeline
    fitting.fit_pipeline = fit
    try:
        with parallel_config(backend="threading"):
            yield
    finally:
        fitting.fit_pipeline = original


def training_out_of_fold(
    config: Config, settings: Config, fit: Callable[..., Pipeline] | None
) -> tuple[OutOfFold, list[House], float]:
    """The training split's houses priced out of fold under ``settings`` (the holdout split
    off by ``config``'s seed, the same every time; the houses too big to train on priced as
    excluded), those houses, and the seconds it took."""
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    tick = time.perf_counter()
    with fitted_with(fit):
        out = out_of_fold(
            validate_inputs(houses), prices, settings, excluded=(validate_inputs(big), big_prices)
        )
    return out, houses, time.perf_counter() - tick


def accuracy(out: OutOfFold, settings: Config) -> dict[str, Any]:
    """RMSLE of the training houses, all and unwarned, and the card's figures: its unwarned
    RMSLE, the ranges' coverage and median width."""
    cv = cross_validated_metrics(out, settings)
    train = ~out.excluded
    residuals = (out.log_actual - out.log_predicted)[train]
    unwarned = ~out.warned[train]
    return {
        "rmsle": float(np.sqrt(np.mean(residuals**2))),
        "rmsle_unwarned": float(np.sqrt(np.mean(residuals[unwarned] ** 2))),
        "card_rmsle_unwarned": cv["rmsle_unwarned"],
        "coverage": cv["intervals"]["coverage"],
        "width": cv["intervals"]["median_relative_width"],
    }


def drop(worst: float) -> str:
    """A largest drop, or "none" where every house was priced higher or the same."""
    return f"{worst:.2%}" if worst > 0 else "none"
