"""The persisted model: the fitted pipeline with what it knows about itself.

Besides the pipeline, the artifact holds the conformal calibration of its price ranges, the
training ranges of its most important inputs and the training distributions of the monitored
ones (``drift``), all computed once at training time. Running the
pipeline step by step (instead of ``pipeline.predict``) keeps the stages a price range, a warning
and an explanation need: the columns before imputation (what was assumed), the features by name,
the matrix, and the log price. ``stages`` runs the fitted steps themselves (the reference, and
what training uses); ``compiled_stages``, what ``make_prediction`` uses, makes the same stages to
the last bit from a validated batch through the steps compiled (``compiled_pipeline``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.pipeline import Pipeline

from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.blend import additive_terms, boosted_part, log_price_predictor
from gradient_boosting_model.calibration import ConformalIntervals
from gradient_boosting_model.compiled_pipeline import CompiledPipeline
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.drift import InputDistributions
from gradient_boosting_model.explanation import Explanations, FieldExplainer
from gradient_boosting_model.house_batch import Columns, HouseBatch
from gradient_boosting_model.input_ranges import InputRanges, RangeWarning
from gradient_boosting_model.matrix_columns import stacked
from gradient_boosting_model.tree_arrays import Predict, TreeArrays, pack_trees

#: Columns by name, read only: a dict of them, or views of a matrix or a batch.
ColumnMapping = Mapping[str, npt.NDArray[Any]]

#: The pipeline's steps (``pipeline.build_pipeline``) whose output the evidence needs.
IMPUTE_STEP = "impute"
TOTALS_STEP = "totals"


@dataclass(frozen=True)
class Stages:
    """What one batch looked like at each stage of the pipeline."""

    #: Validated columns, as sent.
    raw: ColumnMapping
    #: Columns just before imputation: NaN where a typical value is about to be assumed.
    before_impute: ColumnMapping
    #: The model's features by name (imputed columns and derived totals).
    features: ColumnMapping
    matrix: npt.NDArray[np.float64]
    log_price: npt.NDArray[np.float64]

    def assumed(self, name: str) -> npt.NDArray[np.bool_]:
        """Where field ``name``'s value was not given, so a typical one was used."""
        return np.isnan(np.asarray(self.before_impute[name], dtype=np.float64))

    def assumed_matrix(self, names: Sequence[str]) -> npt.NDArray[np.bool_]:
        """``assumed`` for every field of ``names`` at once, (houses x names)."""
        assumed: npt.NDArray[np.bool_] = np.isnan(stacked(self.before_impute, names))
        return assumed


@dataclass(frozen=True)
class Evidence:
    """A batch's prices in log space, with their ranges, warnings and explanations."""

    log_price: npt.NDArray[np.float64]
    log_lower: npt.NDArray[np.float64]
    log_upper: npt.NDArray[np.float64]
    warnings: list[list[RangeWarning]]
    explanations: Explanations | None


def run_stages(
    pipeline: Pipeline,
    columns: ColumnMapping,
    *,
    predict_log_price: Predict | None = None,
) -> Stages:
    """Run a fitted pipeline (``pipeline.build_pipeline``) on validated ``columns``, keeping
    the stages; ``predict_log_price`` stands in for its regressor's ``predict`` (the same
    numbers, faster: ``tree_arrays``)."""
    data: Any = columns
    kept: dict[str, Any] = {}
    for name, step in pipeline.steps[:-1]:
        if name == IMPUTE_STEP:
            kept["before_impute"] = data
        data = step.transform(data)
        if name == TOTALS_STEP:
            kept["features"] = data
    predict = predict_log_price or pipeline.steps[-1][1].regressor_.predict
    log_price = predict(data)
    return Stages(
        raw=columns,
        before_impute=kept["before_impute"],
        features=kept["features"],
        matrix=data,
        log_price=np.asarray(log_price, dtype=np.float64),
    )


@dataclass
class TrainedModel:
    """A fitted pipeline with its calibrated price ranges, its inputs' training ranges and
    the training distributions of the inputs drift is measured on."""

    pipeline: Pipeline
    intervals: ConformalIntervals
    ranges: InputRanges
    #: The training distributions of the monitored inputs, to measure drift against.
    distributions: InputDistributions
    #: What the pipeline was trained with and measured at (metrics, coverage), for the card.
    summary: dict[str, Any] = field(default_factory=dict)

    def stages(self, columns: Columns) -> Stages:
        """Run the pipeline's fitted steps on validated ``columns``, keeping the stages."""
        return run_stages(self.pipeline, columns, predict_log_price=self.log_price_predictor)

    def compiled_stages(self, batch: HouseBatch) -> Stages:
        """``stages`` of a validated batch, to the last bit, through the compiled steps."""
        compiled = self.compiled_pipeline.run(batch)
        return Stages(
            raw=batch,
            before_impute=compiled.before_impute,
            features=compiled.features,
            matrix=compiled.matrix,
            log_price=np.asarray(self.log_price_predictor(compiled.matrix), dtype=np.float64),
        )

    def evidence(self, stages: Stages, *, explain: bool = False) -> Evidence:
        """Log prices, their ranges and warnings, and with ``explain`` their explanations."""
        groups = self.intervals.groups
        lower, upper = self.intervals.bounds(
            stages.log_price, stages.raw.get(groups.field) if groups is not None else None
        )
        warnings = self.ranges.check(stages.raw, stages.features, stages.assumed)
        explanations = None
        if explain:
            explainer = self.explainer
            assumed = stages.assumed_matrix(explainer.fields)
            explanations = explainer.explain(stages.matrix, assumed)
        return Evidence(
            log_price=stages.log_price,
            log_lower=lower,
            log_upper=upper,
            warnings=warnings,
            explanations=explanations,
        )

    @cached_property
    def explainer(self) -> FieldExplainer:
        """Built from the trees (and the blend's Lasso) on first use (about 0.1 s), never
        stored in the artifact."""
        steps = self.pipeline.named_steps
        return FieldExplainer.build(
            additive_terms(steps["regressor"].regressor_, self.packed_trees),
            feature_names=steps["matrix"].feature_names_in_.tolist(),
            sums=steps[TOTALS_STEP].sums or {},
        )

    @cached_property
    def compiled_pipeline(self) -> CompiledPipeline:
        """The pipeline's fitted steps compiled for validated batches (``compiled_pipeline``),
        on first use (about a millisecond), never stored in the artifact."""
        return CompiledPipeline.from_pipeline(self.pipeline, layout=batch_layout())

    @cached_property
    def log_price_predictor(self) -> Predict:
        """The regressor's ``predict`` in log space, its trees (the blend's boosted half, or
        model 0.2.0's regressor) evaluated as ``tree_arrays`` packs them: the same numbers to the
        last bit. Built from them on first use (about 20 ms), never stored in the artifact."""
        return log_price_predictor(
            self.pipeline.named_steps["regressor"].regressor_, self.packed_trees
        )

    @cached_property
    def packed_trees(self) -> TreeArrays | None:
        """The boosted trees packed once (``tree_arrays.pack_trees``), for the prices and the
        explanations alike; never stored in the artifact."""
        return pack_trees(boosted_part(self.pipeline.named_steps["regressor"].regressor_))

    def __getstate__(self) -> dict[str, Any]:
        # Derived from the pipeline: rebuilt after loading.
        return trained(
            self.__dict__, "explainer", "log_price_predictor", "compiled_pipeline", "packed_trees"
        )
