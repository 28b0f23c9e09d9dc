"""The persisted model: the fitted pipeline with what it knows about itself.

Besides the pipeline, the artifact holds the conformal calibration of its price ranges, the
training ranges of its most important inputs and the training distributions of the monitored
ones (``drift``), all computed once at training time. Running the
pipeline step by step (instead of ``pipeline.predict``) keeps the stages a price range, a warning
and an explanation need: the columns before imputation (what was assumed), the features by name,
the matrix, and the log price. ``stages`` runs the fitted steps themselves (the reference, and
what training uses); ``compiled_stages``, what ``make_prediction`` uses, makes the same stages to
the last bit from a validated batch through the steps compiled (``compiled_pipeline``).

What prices and explains is ``Pricing``: the compiled steps, the trees packed in arrays
(``tree_arrays``, ``tree_paths``) and the linear parts' terms (``linear_terms``), built from the
pipeline once and kept in the artifact beside it. The pipeline itself is kept as a pickle within
the pickle and loaded on first use, so a process that loads the model to price with it (every
service worker, every score-houses worker) never imports scikit-learn or scipy: about 2 s and
100 MB a process (``tests/integration/test_pricing_imports.py``).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.calibration import ConformalIntervals
from gradient_boosting_model.compiled_pipeline import CompiledPipeline
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.drift import InputDistributions
from gradient_boosting_model.explanation import Explanations, FieldExplainer
from gradient_boosting_model.house_batch import Columns, HouseBatch, text_column
from gradient_boosting_model.input_ranges import InputRanges, RangeWarning
from gradient_boosting_model.matrix_columns import MatrixColumns, stacked
from gradient_boosting_model.tree_arrays import Predict, TreeArrays, pack_trees

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: Columns by name, read only: a dict of them, or views of a matrix or a batch.
ColumnMapping = Mapping[str, npt.NDArray[Any]]

#: The pipeline's steps (``pipeline.build_pipeline``) whose output the evidence needs.
IMPUTE_STEP = "impute"
TOTALS_STEP = "totals"
#: Where a loaded model keeps its pipeline's pickle until the pipeline is first asked for.
_PICKLED_PIPELINE = "_pickled_pipeline"
#: Marks an unpickled ``Pricing`` compiled for fields coded otherwise than by this package.
_OTHER_LAYOUT = "_for_other_layout"


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

    def any_assumed(self) -> bool:
        """Whether any value of any house was assumed: one test of the whole matrix where the
        stages are compiled (most houses the service prices have nothing assumed), else yes
        (the caller looks field by field)."""
        before = self.before_impute
        if isinstance(before, MatrixColumns):
            # NaN where anything is: the rest are validated finite numbers, their sum finite.
            return math.isnan(before.matrix.sum())
        return True


@dataclass(frozen=True)
class Evidence:
    """A batch's prices in log space, with their ranges, warnings and explanations."""

    log_price: npt.NDArray[np.float64]
    log_lower: npt.NDArray[np.float64]
    log_upper: npt.NDArray[np.float64]
    warnings: list[list[RangeWarning]]
    explanations: Explanations | None
    #: Per house, whether its range is calibrated: no warning, and either nothing assumed for
    #: it that was assumed for no calibration house (``ConformalIntervals.beyond_calibration``) or
    #: its range scaled for what was (``ConformalIntervals.partial``, since 0.3.4).
    calibrated: npt.NDArray[np.bool_]
    #: Per house, whether its range was scaled for details assumed beyond the calibration
    #: houses' (a partial house, since 0.3.4): its price was not one like the training
    #: houses', so accuracy measured on those (the service's live checks) leaves it out.
    partial: npt.NDArray[np.bool_]


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


def _empty(warnings: list[RangeWarning]) -> bool:
    return not warnings


def _run_compiled(
    compiled_pipeline: CompiledPipeline, log_price: Predict, batch: HouseBatch
) -> Stages:
    """A validated batch's stages through ``compiled_pipeline``'s steps, priced by
    ``log_price`` (``run_stages``' to the last bit)."""
    compiled = compiled_pipeline.run(batch)
    return Stages(
        raw=batch,
        before_impute=compiled.before_impute,
        features=compiled.features,
        matrix=compiled.matrix,
        log_price=np.asarray(log_price(compiled.matrix), dtype=np.float64),
    )


@dataclass(frozen=True, eq=False)
class Pricing:
    """A fitted pipeline in the forms that price and explain it: arrays, tables and numpy
    arithmetic, which load and run without scikit-learn (see the module).

    Built from the pipeline as it is: a change to it afterwards (the trees' learning rate, say)
    is not seen, so build it again (a new ``TrainedModel`` of the changed pipeline). A regressor
    whose trees ``tree_arrays`` does not pack keeps its own ``predict``, and scikit-learn with it.
    """

    #: The preprocessing, for validated batches (``compiled_pipeline``).
    compiled_pipeline: CompiledPipeline
    #: The regressor's ``predict`` in log space, its trees evaluated as ``tree_arrays`` packs
    #: them (the blend's boosted half, or model 0.2.0's regressor): the same numbers to the last
    #: bit.
    log_price: Predict
    #: The boosted trees packed (``tree_arrays.pack_trees``), for the prices and the
    #: explanations alike.
    packed_trees: TreeArrays | None
    explainer: FieldExplainer

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline) -> Pricing:
        """Build every form from a fitted pipeline (``pipeline.build_pipeline``); about 0.1 s."""
        # Reading fitted estimators, whose modules have loaded scikit-learn already.
        from gradient_boosting_model.blend import (
            additive_terms,
            boosted_part,
            log_price_predictor,
        )

        steps = pipeline.named_steps
        regressor = steps["regressor"].regressor_
        packed = pack_trees(boosted_part(regressor))
        return cls(
            compiled_pipeline=CompiledPipeline.from_pipeline(pipeline, layout=batch_layout()),
            log_price=log_price_predictor(regressor, packed),
            packed_trees=packed,
            explainer=FieldExplainer.build(
                additive_terms(regressor, packed),
                feature_names=steps["matrix"].feature_names_in_.tolist(),
                sums=steps[TOTALS_STEP].sums or {},
            ),
        )

    def stages(self, batch: HouseBatch) -> Stages:
        """A validated batch's stages through the compiled steps (``TrainedModel.stages``'s to
        the last bit)."""
        return _run_compiled(self.compiled_pipeline, self.log_price, batch)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Batches are checked against the plan's layout by identity (``CompiledPipeline.run``):
        # the unpickled plan takes this process's layout, if the two are equal. If not (an
        # artifact compiled by an earlier release of the package, whose fields were coded
        # otherwise), the model that holds it compiles its pipeline again (``TrainedModel``).
        compiled: CompiledPipeline = state["compiled_pipeline"]
        layout = batch_layout()
        if vars(compiled.layout) == vars(layout):  # a BatchLayout is equal only to itself
            state["compiled_pipeline"] = replace(compiled, layout=layout)
        else:
            state[_OTHER_LAYOUT] = True
        self.__dict__.update(state)

    @property
    def for_other_layout(self) -> bool:
        """Whether it was compiled for fields coded otherwise than by this package."""
        return bool(self.__dict__.get(_OTHER_LAYOUT))


@dataclass
class TrainedModel:
    """A fitted pipeline with its calibrated price ranges, its inputs' training ranges and
    the training distributions of the inputs drift is measured on.

    Its ``pricing`` is built from the pipeline once: to price with a changed pipeline, make a
    new model of it (``dataclasses.replace(model, pipeline=changed)``)."""

    pipeline: Pipeline
    intervals: ConformalIntervals
    ranges: InputRanges
    #: The training distributions of the monitored inputs, to measure drift against.
    distributions: InputDistributions
    #: What the pipeline was trained with and measured at (metrics, coverage), for the card.
    summary: dict[str, Any] = field(default_factory=dict)
    #: The version its metadata JSON names, set by ``load_model`` (an artifact pickled before
    #: this field reads the default); None for a model not loaded from a file, whose answers
    #: name this package's version. ``make_prediction`` said the package's version for any
    #: model, so a released file loaded to compare (``released/``, a ``+challenger`` copy)
    #: answered as the packaged one.
    version: str | None = None

    def stages(self, columns: Columns) -> Stages:
        """Run the pipeline's fitted steps on validated ``columns``, keeping the stages."""
        return run_stages(self.pipeline, columns, predict_log_price=self.log_price_predictor)

    def compiled_stages(self, batch: HouseBatch) -> Stages:
        """``stages`` of a validated batch, to the last bit, through the compiled steps (as
        ``Pricing.stages``, read through this model's shortcuts to its pricing)."""
        return _run_compiled(self.compiled_pipeline, self.log_price_predictor, batch)

    def evidence(self, stages: Stages, *, explain: bool = False) -> Evidence:
        """Log prices, their ranges and warnings, and with ``explain`` their explanations."""
        groups, raw = self.intervals.groups, stages.raw
        conditions = None  # a field not given at all: the scale of all sales
        if groups is not None and groups.field in raw:
            conditions = text_column(raw, groups.field)
        intervals, log_price = self.intervals, stages.log_price
        lower, upper = intervals.bounds(log_price, conditions)
        warnings = self.ranges.check(raw, stages.features, stages.assumed)
        calibrated = np.fromiter(map(_empty, warnings), dtype=bool, count=len(warnings))
        partial = np.zeros(len(warnings), dtype=bool)
        # The fields assumed beyond the calibration houses', looked up once for both uses.
        beyond = None
        if stages.any_assumed():
            beyond = intervals.beyond_calibration(stages.assumed_matrix)
        if beyond is not None:
            partial = np.asarray(beyond.any(axis=1))
            if intervals.partial is None:  # before 0.3.4: partial houses not calibrated
                calibrated &= ~partial
            elif partial.any():
                # A partial house: its range scaled about its price, and calibrated so (its
                # warnings still decide); a complete one's left as it is, to the bit.
                scales = intervals.partial_scales(beyond)
                assert scales is not None  # the artifact has a curve
                scale = scales[partial]
                lower[partial] = log_price[partial] - (log_price - lower)[partial] * scale
                upper[partial] = log_price[partial] + (upper - log_price)[partial] * scale
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
            calibrated=calibrated,
            partial=partial,
        )

    @cached_property
    def pricing(self) -> Pricing:
        """The pipeline's pricing forms: built on first use, kept in the artifact."""
        return Pricing.from_pipeline(self.pipeline)

    @cached_property
    def explainer(self) -> FieldExplainer:
        return self.pricing.explainer

    @cached_property
    def compiled_pipeline(self) -> CompiledPipeline:
        return self.pricing.compiled_pipeline

    @cached_property
    def log_price_predictor(self) -> Predict:
        return self.pricing.log_price

    @cached_property
    def packed_trees(self) -> TreeArrays | None:
        return self.pricing.packed_trees

    def __getstate__(self) -> dict[str, Any]:
        # The pricing forms are stored, built if they are not yet; the shortcuts to them are
        # not. The pipeline goes in as its own pickle (the one it was loaded from while it was
        # never asked for), which unpickling the model leaves as bytes.
        state = trained(
            self.__dict__,
            "explainer",
            "log_price_predictor",
            "compiled_pipeline",
            "packed_trees",
            _PICKLED_PIPELINE,
        )
        state["pricing"] = self.pricing
        pipeline = self.__dict__.get("pipeline")
        state["pipeline"] = (
            self.__dict__[_PICKLED_PIPELINE]
            if pipeline is None
            else pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        pipeline = state.pop("pipeline")
        pricing: Pricing | None = state.get("pricing")
        stale = pricing is not None and pricing.for_other_layout
        if stale:
            del state["pricing"]
        self.__dict__.update(state)
        if isinstance(pipeline, bytes):
            self.__dict__[_PICKLED_PIPELINE] = pipeline
        else:  # an artifact saved before the pricing was stored: its pricing is built anew
            self.__dict__["pipeline"] = pipeline
        if stale:
            # Compiled by an earlier release, for fields coded otherwise: compiled again now
            # from its pipeline (scikit-learn loaded, about 2 s), rather than at a first price.
            try:
                self.__dict__["pricing"] = Pricing.from_pipeline(self.pipeline)
            except (KeyError, TypeError) as error:
                raise ValueError(
                    "the model was compiled for other house fields than this package's, and "
                    f"its pipeline cannot be compiled for them: {error}"
                ) from error

    if not TYPE_CHECKING:  # to type checkers ``pipeline`` is the field it is

        def __getattr__(self, name: str) -> Any:
            """``pipeline``, unpickled on first use (which imports scikit-learn)."""
            pickled = self.__dict__.get(_PICKLED_PIPELINE)
            if name != "pipeline" or pickled is None:
                # Python calls this too when a property raises AttributeError: look again,
                # so that the property's own error is the one raised.
                return object.__getattribute__(self, name)
            # Two threads may both unpickle it: each gets the one kept first.
            return self.__dict__.setdefault("pipeline", pickle.loads(pickled))
