"""Fitting the pipeline, and the K-fold cross-validation that calibrates and judges it.

Every residual used here comes from a house the model that priced it did not see: the price
ranges are calibrated on them, and the cross-validated figures (accuracy with and without
warnings, coverage of the ranges) are measured on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from joblib import Parallel, delayed
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from gradient_boosting_model.blend import boosted_part
from gradient_boosting_model.calibration import (
    ConformalIntervals,
    fit_intervals,
    fit_sale_groups,
)
from gradient_boosting_model.config import Config
from gradient_boosting_model.drift import InputDistributions, fit_distributions
from gradient_boosting_model.evaluation import interval_groups, interval_metrics
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.input_ranges import InputRanges, fit_ranges
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.pipeline import build_pipeline, fields_of_kind
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from gradient_boosting_model.trained_model import Pricing, Stages, run_stages
from gradient_boosting_model.tree_paths import TreePaths

FloatArray = npt.NDArray[np.float64]


def take(columns: Columns, rows: npt.NDArray[np.intp]) -> Columns:
    """The given rows of every column."""
    return {name: column[rows] for name, column in columns.items()}


def fit_pipeline(
    columns: Columns, prices: FloatArray, config: Config, *, progress: bool = False
) -> Pipeline:
    """Fit a fresh pipeline on validated ``columns``, optionally showing boosting stages.

    The preprocessing is fitted first: the linear start and the blend's Lasso need to know
    which of the matrix's columns are areas (and codes, and curves), and the matrix's columns
    are known only once it is made.
    """
    pipeline = build_pipeline(config)
    matrix = pipeline[:-1].fit_transform(columns, prices)
    names = pipeline.named_steps["matrix"].feature_names_in_.tolist()
    log_columns = tuple(names.index(name) for name in config.linear_start.log_features)
    # Since 0.3.5: a better grade never prices a house lower (blend.monotone_grades); since
    # 0.3.8 more of a count or an area of blend.more_never_lower neither, nor the totals that
    # grow with them.
    rising = tuple(
        names.index(name) for name in (*config.rising_fields, *config.more_never_lower_columns)
    )
    # Since 0.3.6: a later year (a smaller age) never prices lower (blend.later_never_lower).
    falling = tuple(names.index(name) for name in config.blend.later_never_lower)
    start = LinearStart(
        alpha=config.linear_start.alpha,
        log_columns=log_columns,
        rising_columns=rising,
        falling_columns=falling,
    )
    lasso = config.blend.lasso
    one_hot = [*fields_of_kind("category"), *fields_of_kind("grade"), *lasso.one_hot_features]
    regressor = pipeline.steps[-1][1]
    regressor.set_params(
        regressor__boosted__init=start,
        regressor__tree_hidden_columns=(*rising, *falling),
        regressor__linear__monotone_columns=rising,
        regressor__linear__falling_columns=falling,
        regressor__linear__log_columns=log_columns,
        regressor__linear__one_hot_columns=tuple(names.index(n) for n in one_hot if n in names),
        regressor__linear__spline_columns=tuple(
            names.index(n) for n in lasso.spline_features if n in names
        ),
    )
    with tqdm(
        total=config.model.n_estimators, desc="boosting", unit="tree", disable=not progress
    ) as bar:

        def monitor(stage: int, estimator: Any, local_vars: Any) -> bool:
            bar.update(1)
            return False  # never stop early

        regressor.fit(matrix, prices, monitor=monitor)
    return pipeline


def feature_importances(pipeline: Pipeline, matrix: FloatArray) -> FloatArray:
    """Each feature's share of the boosted model's mean absolute contribution to log price
    over the rows of ``matrix`` (the linear start's terms and the trees' together).

    The trees' impurity importances would miss what the linear start does: with it, the trees
    lean on what the line leaves over, not on quality and size. In a blend only the boosted
    half counts: the warnings are about houses outside the training range of the features the
    trees lean on, where trees cannot extrapolate; the Lasso clips every input to its training
    range, so it cannot either, and it leans on the same sizes, quality and ages. Keeping the
    boosted model's importances keeps the warnings model 0.2.0 gave (its boosted model is
    trained the same way), which the 0.3.0 study scored every candidate on.
    """
    boosted = boosted_part(pipeline.named_steps["regressor"].regressor_)
    sizes = np.abs(TreePaths.from_regressor(boosted).contributions(matrix)).mean(axis=0)
    shares: FloatArray = sizes / sizes.sum()
    return shares


def assumed_fields(stages: Stages) -> tuple[str, ...]:
    """The client fields whose value was assumed (imputed) for at least one house of
    ``stages``, in the schema's order (``ConformalIntervals.assumed_fields``)."""
    assumed = np.any(stages.assumed_matrix(list(HOUSE_FIELDS)), axis=0)
    return tuple(np.asarray(list(HOUSE_FIELDS))[assumed].tolist())


def training_ranges(
    pipeline: Pipeline, columns: Columns, config: Config, *, stages: Stages | None = None
) -> InputRanges:
    """The ranges of ``pipeline``'s most important features over its training ``columns``
    (``stages``: theirs through the pipeline, if run already)."""
    stages = stages or run_stages(pipeline, columns)
    steps = pipeline.named_steps
    return fit_ranges(
        feature_names=steps["matrix"].feature_names_in_.tolist(),
        importances=feature_importances(pipeline, stages.matrix),
        features=stages.features,
        raw=columns,
        top=config.warnings.top_features,
        also=config.warnings.also_checked,
        every_code=config.warnings.every_code,
        contradictions=config.warnings.contradictions,
        record_rules=config.warnings.record_rules,
        sums=config.features.sums,
        ages=config.features.elapsed_years.variables,
        age_reference=config.features.elapsed_years.reference,
        grade_scores=config.features.grade_scale,
    )


def training_distributions(
    columns: Columns, ranges: InputRanges, config: Config
) -> InputDistributions:
    """The distributions over the training ``columns`` of the inputs drift is measured on: the
    required fields, the fields of the features ``ranges`` warns about, and
    ``config.drift.extra_fields``; each once, in that order."""
    warned = [name for feature_range in ranges.ranges for name in feature_range.fields]
    settings = config.drift
    return fit_distributions(
        columns,
        fields=list(dict.fromkeys([*REQUIRED_FIELDS, *warned, *settings.extra_fields])),
        bins=settings.bins,
        floor=settings.floor,
        watch=settings.watch,
        alert=settings.alert,
    )


def calibrate(
    log_predicted: FloatArray,
    log_actual: FloatArray,
    sale_conditions: npt.NDArray[np.object_],
    config: Config,
) -> ConformalIntervals:
    """The price ranges of ``config.calibration``, calibrated on out-of-fold predictions (and
    the houses' ``sale_conditions``, for the groups' scales)."""
    settings = config.calibration
    shape = fit_intervals(
        log_predicted,
        log_actual,
        level=settings.level,
        knots=settings.knots,
        bandwidth=settings.bandwidth,
        group_quantiles=settings.group_quantiles,
        lower_levels=settings.lower_levels,
        upper_levels=settings.upper_levels,
    )
    groups = settings.sale_groups
    return fit_sale_groups(
        shape,
        log_predicted,
        log_actual,
        sale_conditions,
        field=groups.field,
        groups={name: list(values) for name, values in groups.groups.items()},
        min_houses=groups.min_houses,
    )


@dataclass(frozen=True)
class OutOfFold:
    """Each house priced by the fold model that did not see it."""

    log_predicted: FloatArray
    log_actual: FloatArray
    fold: npt.NDArray[np.intp]
    #: Whether the fold model's training ranges warned about the house.
    warned: npt.NDArray[np.bool_]
    #: Houses that no model trains on (priced, but left out of the calibration).
    excluded: npt.NDArray[np.bool_]
    #: Each house's sale condition as sent (``None``: not given): its range's group.
    sale_conditions: npt.NDArray[np.object_]
    #: Each fold's model in its pricing forms (fold ``i`` priced the houses of ``fold == i``):
    #: kept so that houses cut to masks are priced again in seconds (``partial_fitting``).
    pricings: tuple[Pricing, ...] = ()

    @property
    def calibration(self) -> npt.NDArray[np.bool_]:
        """The houses the price ranges are calibrated on."""
        return ~self.excluded


def out_of_fold(
    columns: Columns,
    prices: FloatArray,
    config: Config,
    *,
    excluded: tuple[Columns, FloatArray] | None = None,
    progress: bool = False,
) -> OutOfFold:
    """K-fold cross-validation of the whole training procedure on validated ``columns``.

    ``excluded`` houses (columns and prices) are never trained on; each fold prices its share.
    """
    folds = KFold(config.calibration.folds, shuffle=True, random_state=config.data.split_seed)
    extra_columns, extra_prices = excluded or ({}, np.zeros(0))
    everything = {
        name: np.concatenate([column, extra_columns[name]]) if extra_columns else column
        for name, column in columns.items()
    }
    size = prices.size + extra_prices.size
    log_predicted, fold = np.zeros(size), np.zeros(size, dtype=np.intp)
    warned = np.zeros(size, dtype=bool)
    pricings = []
    splits = list(folds.split(prices))
    priced_by_fold = [
        np.concatenate([test_rows, prices.size + np.arange(index, extra_prices.size, len(splits))])
        for index, (_, test_rows) in enumerate(splits)
    ]
    # The folds are fitted side by side, one process a core (each fit is single-threaded
    # Python and Cython): the same numbers as one after another, in about half the time here.
    answers = Parallel(n_jobs=-1, return_as="generator")(
        delayed(_fold_answer)(
            take(columns, fit_rows), prices[fit_rows], take(everything, priced), config
        )
        for (fit_rows, _), priced in zip(splits, priced_by_fold, strict=True)
    )
    for index, (priced, (log_price, warned_here, pricing)) in enumerate(
        tqdm(
            zip(priced_by_fold, answers, strict=True),
            total=len(splits),
            desc="folds",
            disable=not progress,
        )
    ):
        log_predicted[priced] = log_price
        fold[priced] = index
        warned[priced] = warned_here
        pricings.append(pricing)
    return OutOfFold(
        log_predicted=log_predicted,
        log_actual=np.log(np.concatenate([prices, extra_prices])),
        fold=fold,
        warned=warned,
        excluded=np.arange(size) >= prices.size,
        sale_conditions=np.asarray(everything[config.calibration.sale_groups.field], dtype=object),
        pricings=tuple(pricings),
    )


def _fold_answer(
    fitted: Columns, fitted_prices: FloatArray, priced: Columns, config: Config
) -> tuple[FloatArray, list[bool], Pricing]:
    """One fold: the pipeline fitted on ``fitted``, then ``priced``'s log prices, whether its
    training ranges warn about each, and the fold model's pricing forms."""
    pipeline = fit_pipeline(fitted, fitted_prices, config)
    stages = run_stages(pipeline, priced)
    checks = training_ranges(pipeline, fitted, config).check(
        stages.raw, stages.features, stages.assumed
    )
    return stages.log_price, [bool(found) for found in checks], Pricing.from_pipeline(pipeline)


def fold_calibrations(out: OutOfFold, config: Config) -> list[ConformalIntervals]:
    """Per fold, the ranges calibrated without its houses (on the other folds' residuals):
    what the fold's houses are measured with."""
    calibrations = []
    for index in range(int(out.fold.max()) + 1):
        calibrating = (out.fold != index) & out.calibration
        calibrations.append(
            calibrate(
                out.log_predicted[calibrating],
                out.log_actual[calibrating],
                out.sale_conditions[calibrating],
                config,
            )
        )
    return calibrations


def cross_validated_metrics(out: OutOfFold, config: Config) -> dict[str, Any]:
    """Accuracy with and without warnings, and the coverage of ranges calibrated without the
    houses they are measured on (each fold's ranges from the other folds' residuals), over the
    houses whose ranges are marked calibrated."""
    lower = np.empty_like(out.log_predicted)
    upper = np.empty_like(out.log_predicted)
    for index, intervals in enumerate(fold_calibrations(out, config)):
        held = out.fold == index
        lower[held], upper[held] = intervals.bounds(
            out.log_predicted[held], out.sale_conditions[held]
        )
    covered_rows = out.calibration & ~out.warned  # the houses the ranges claim to cover
    residuals = out.log_actual - out.log_predicted

    def rmsle(rows: npt.NDArray[np.bool_]) -> float | None:
        return float(np.sqrt(np.mean(residuals[rows] ** 2))) if rows.any() else None

    prices, predicted = np.exp(out.log_actual), np.exp(out.log_predicted)
    return {
        "folds": int(np.unique(out.fold).size),
        "rmsle": rmsle(np.ones_like(out.warned)),
        "rmsle_unwarned": rmsle(~out.warned),
        "rmsle_warned": rmsle(out.warned),
        "warned_houses": int(out.warned.sum()),
        "houses": int(out.warned.size),
        "intervals": interval_metrics(
            prices[covered_rows],
            predicted[covered_rows],
            np.exp(lower[covered_rows]),
            np.exp(upper[covered_rows]),
            groups=interval_groups(out.sale_conditions[covered_rows], config),
        ),
    }
