"""Train the model, calibrate and score it, save the versioned artifact.

Run as ``python -m gradient_boosting_model.train`` (``make train``). The pipeline is fitted on
the houses ``data.served_fit`` names: the training split, or every labelled house kept (since
0.4.0). K-fold cross-validation of the same procedure on those houses gives the residuals that
calibrate the price ranges. The holdout measures a model that never saw it: the model itself,
or, for one fitted on every labelled house, its twin, the same procedure fitted on the training
split alone and saved beside it (``persistence.twin_path``).
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from gradient_boosting_model import __version__
from gradient_boosting_model.config import (
    ALL_LABELLED,
    PACKAGE_ROOT,
    TRAINING_SPLIT,
    Config,
    FittedOn,
    load_config,
)
from gradient_boosting_model.data import (
    LabelledSplit,
    features_and_target,
    fitted_split,
    served_split,
    split_holdout,
)
from gradient_boosting_model.errors import DatasetError
from gradient_boosting_model.evaluation import holdout_metrics, regression_metrics
from gradient_boosting_model.fitting import (
    assumed_fields,
    calibrate,
    cross_validated_metrics,
    fit_pipeline,
    out_of_fold,
    training_distributions,
    training_ranges,
)
from gradient_boosting_model.holdout_identity import holdout_identity
from gradient_boosting_model.partial_fitting import fit_partial_ranges
from gradient_boosting_model.persistence import save_model, twin_version
from gradient_boosting_model.release.baseline import DECLARATION
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from gradient_boosting_model.tolerances import floating_point_fingerprint
from gradient_boosting_model.trained_model import TrainedModel, run_stages
from gradient_boosting_model.validation import validate_inputs
from gradient_boosting_model.versions import VersionError, is_after, release_number

logger = logging.getLogger(__name__)

#: What the model runs on (pandas is optional: only for DataFrame input).
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "marshmallow", "joblib")
#: The last released version's declaration (README: "Releasing a new version"), beside the
#: package in the source tree (not in an installed one), which ``make train`` trains from.
BASELINE_DECLARATION = PACKAGE_ROOT.parent / "baseline" / DECLARATION


def check_version(version: str, *, baseline_declaration: Path) -> None:
    """Refuse, before training, a ``version`` that training must not save: saving removes the
    artifacts of every other version from ``trained_models/``, so a version before the
    released one (``baseline/VERSION``, where that file exists) would remove the newer files.
    The released version itself may be trained again (it must answer as its baseline does).

    Raises
    ------
    VersionError
        If ``version``, or the declared one, is no release number, or ``version`` is before
        the declared one, saying so in one sentence.
    """
    release_number(version)
    if not baseline_declaration.is_file():
        return
    released = baseline_declaration.read_text(encoding="utf-8").strip()
    try:
        release_number(released)
    except VersionError as error:
        raise VersionError(f"{error} ({baseline_declaration})") from error
    if is_after(released, version):
        raise VersionError(
            f"version {version} is before the released {released} ({baseline_declaration}): "
            f"training it would remove {released}'s artifact from trained_models/; number the "
            f"new model after {released}"
        )


def train_model(split: LabelledSplit, config: Config, *, progress: bool = False) -> TrainedModel:
    """Fit on ``split.train``; calibrate the ranges on its out-of-fold residuals; store the
    training ranges of the most important inputs and the distributions of the monitored ones.
    The holdout is not touched."""
    houses, prices = features_and_target(split.train, config)
    columns = validate_inputs(houses)
    big_houses, big_prices = features_and_target(split.excluded, config)
    excluded = (validate_inputs(big_houses), big_prices) if big_houses else None
    out = out_of_fold(columns, prices, config, excluded=excluded, progress=progress)
    calibrating = out.calibration
    pipeline = fit_pipeline(columns, prices, config, progress=progress)
    stages = run_stages(pipeline, columns)  # for the ranges and what calibration assumed
    ranges = training_ranges(pipeline, columns, config, stages=stages)
    intervals = calibrate(
        out.log_predicted[calibrating],
        out.log_actual[calibrating],
        out.sale_conditions[calibrating],
        config,
    )
    model = TrainedModel(
        pipeline=pipeline,
        intervals=replace(intervals, assumed_fields=assumed_fields(stages)),
        ranges=ranges,
        distributions=training_distributions(columns, ranges, config),
        summary={"cross_validation": cross_validated_metrics(out, config)},
    )
    # Since 0.3.4: the ranges of houses with details left out (partial_ranges.py), from the
    # fold models the cross-validation kept (a few seconds).
    partial = fit_partial_ranges(model.pricing, houses, prices, out, model.intervals, config)
    model.intervals = replace(model.intervals, partial=partial)
    return model


def training_metadata(
    model: TrainedModel,
    split: LabelledSplit,
    config: Config,
    *,
    fitted_on: FittedOn | None = None,
    twin: TrainedModel | None = None,
    model_version: str = __version__,
) -> dict[str, Any]:
    """Metrics on the rows ``model`` was fitted on and in cross-validation, the holdout's, the
    price ranges' calibration, the inputs' training ranges and distributions, library versions,
    and the model's inputs. ``model`` was fitted on ``fitted_on`` (``data.served_fit`` by
    default): on the training split, ``split.train``, the holdout measuring it; or on every
    labelled house kept, the holdout's figures then being its ``twin``'s (fitted on
    ``split.train`` alone).

    Raises
    ------
    ValueError
        If a model fitted on every labelled house comes without its twin, or one fitted on the
        training split with one: the metadata would have the holdout measure a model fitted on
        it, or name the wrong houses.
    """
    fitted_on = fitted_on or config.data.served_fit
    if (fitted_on == ALL_LABELLED) != (twin is not None):
        raise ValueError(
            f"a model fitted on {fitted_on} has {'no twin' if twin is None else 'a twin'}: "
            f"the holdout measures a model fitted on {ALL_LABELLED} by its twin, and only it"
        )
    rows = fitted_split(split, fitted_on).train
    houses, prices = features_and_target(rows, config)
    train = regression_metrics(prices, model.pipeline.predict(validate_inputs(houses)))
    return {
        "model_name": config.artifacts.name,
        "model_version": model_version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        # Since 0.4.0: the houses the model was fitted on; one fitted on all_labelled has its
        # holdout figures from its twin (persistence.twin_path), fitted on the training split.
        "fitted_on": fitted_on,
        "houses_fitted": len(rows),
        "python_version": platform.python_version(),
        "library_versions": {name: version(name) for name in _LIBRARIES},
        # Where its floats' last bits came from: retraining with the same fingerprint gives
        # the same bits (tolerances.py).
        "machine": floating_point_fingerprint(),
        "metrics": {
            "train": train,
            "holdout": holdout_metrics(twin or model, split, config),
            **model.summary,
        },
        # Which houses the holdout figures are of: the diff-test and the replay refuse another.
        "holdout_split": holdout_identity(split, config).to_json(),
        "intervals": model.intervals.describe(),
        "input_ranges": model.ranges.describe(),
        "codes_seen": model.ranges.codes.describe() if model.ranges.codes else None,
        "presence_checked": (
            model.ranges.contradictions.describe() if model.ranges.contradictions else None
        ),
        "rules_checked": (
            model.ranges.record_rules.describe() if model.ranges.record_rules else None
        ),
        "input_distributions": model.distributions.describe(),
        # Since 0.3.5: the grades a better value of which never prices a house lower.
        "monotone_grades": (
            {"fields": list(config.rising_fields), "order": config.features.grades_in_order}
            if config.rising_fields
            else None
        ),
        # Since 0.3.6: the years a later value of which never prices a house lower.
        "later_never_lower": list(config.blend.later_never_lower),
        # Since 0.3.8: the counts and areas more of which never prices a house lower.
        "more_never_lower": list(config.blend.more_never_lower),
        "input_fields": list(HOUSE_FIELDS),
        "required_fields": list(REQUIRED_FIELDS),
        "model_params": config.model.model_dump(),
        # Since 0.3.0 the boosted model is blended with a Lasso (blend.py): its share, and the
        # Lasso's settings.
        "blend_params": config.blend.model_dump(),
    }


def _sizes(split: LabelledSplit) -> tuple[int, int]:
    return len(split.train), len(split.holdout)


def main(argv: Sequence[str] = ()) -> int:
    """Train, save and say what was measured; exit status 2 if the version or data refuse it.
    ``argv``: the command's arguments, of which there are none: ``--help`` says what it does
    and trains nothing, an unknown one is refused (both trained, and rewrote the artifacts)."""
    argparse.ArgumentParser(
        prog="python -m gradient_boosting_model.train",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=(
            "It trains the version gradient_boosting_model/VERSION names, from config.yml, "
            "into trained_models/ (moving other versions' files to released/). Exit status: 0 "
            "saved; 2 refused (the version, or the data)."
        ),
    ).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:  # before training, which removes the artifacts of other versions
        check_version(__version__, baseline_declaration=BASELINE_DECLARATION)
    except VersionError as error:
        logger.error("%s (gradient_boosting_model/VERSION: %s)", error, __version__)
        return 2
    config = load_config()
    try:
        split = split_holdout(config)
    except DatasetError as error:
        logger.error("%s", error)
        return 2
    twin = None
    if config.data.served_fit == ALL_LABELLED:
        logger.info("the twin: training on %d houses, holding out %d", *_sizes(split))
        fitted_twin = train_model(split, config, progress=True)
        twin_metadata = training_metadata(
            fitted_twin,
            split,
            config,
            fitted_on=TRAINING_SPLIT,
            model_version=twin_version(__version__),
        )
        twin = (fitted_twin, twin_metadata)
    fitted = served_split(split, config)
    logger.info("training on %d houses, holding out %d", *_sizes(fitted))
    model = train_model(fitted, config, progress=True)
    metadata = training_metadata(model, split, config, twin=twin[0] if twin else None)
    path = save_model(model, metadata, config, twin=twin)
    holdout, cv = metadata["metrics"]["holdout"], metadata["metrics"]["cross_validation"]
    measured = "the twin's " if twin else ""
    logger.info(
        "saved %s: %sholdout RMSLE %.4f, R^2 %.4f (log %.4f), MAE $%.0f, range coverage %.3f; "
        "cross-validated RMSLE %.4f (%.4f without the %d warned), range coverage %.3f",
        path.name,
        measured,
        holdout["rmsle"],
        holdout["r2"],
        holdout["r2_log"],
        holdout["mae_dollars"],
        holdout["intervals"]["coverage"],
        cv["rmsle"],
        cv["rmsle_unwarned"],
        cv["warned_houses"],
        cv["intervals"]["coverage"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
