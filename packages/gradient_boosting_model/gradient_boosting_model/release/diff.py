"""The differential test: a model prices every house of ``test.csv``; its answers are compared
with the baseline's, judged by the kind of release, and reported, with both versions' accuracy
on the labelled holdout (``accuracy``; reported, not judged)."""

from __future__ import annotations

from dataclasses import dataclass

from gradient_boosting_model.config import Config
from gradient_boosting_model.data import LabelledSplit, features_and_target, read_dataset
from gradient_boosting_model.holdout_identity import HoldoutIdentity
from gradient_boosting_model.release.accuracy import (
    AccuracyComparison,
    accuracy_lines,
    compare_accuracy,
)
from gradient_boosting_model.release.comparison import Comparison, compare
from gradient_boosting_model.release.gate import judge
from gradient_boosting_model.release.holdout_answers import HoldoutAnswers, answer_holdout
from gradient_boosting_model.release.report import format_report
from gradient_boosting_model.release.snapshot import Snapshot, take_snapshot
from gradient_boosting_model.trained_model import TrainedModel


@dataclass(frozen=True)
class DiffResult:
    """The comparison, why it failed (empty when it passed), both versions' accuracy on the
    holdout, and the report."""

    comparison: Comparison
    failures: list[str]
    accuracy: AccuracyComparison
    report: str

    @property
    def passed(self) -> bool:
        return not self.failures


def price_requests(model: TrainedModel, *, model_version: str, config: Config) -> Snapshot:
    """``model``'s answers for every house of the config's requests file (``test.csv``)."""
    return take_snapshot(
        model, read_dataset(config.data.requests_file), model_version=model_version
    )


def diff_test(
    model: TrainedModel,
    *,
    holdout_model: TrainedModel | None = None,
    model_version: str,
    baseline: Snapshot,
    config: Config,
    split: LabelledSplit,
    holdout: HoldoutIdentity,
    baseline_holdout: HoldoutAnswers | None = None,
) -> DiffResult:
    """Price every house with ``model`` (of ``model_version``) and judge its moves from
    ``baseline`` by ``config.release``'s tolerances; measure it on ``split``'s holdout (whose
    identity is ``holdout``: ``holdout_identity(split, config)``, made once by the caller)
    beside the baseline's answers for it (``baseline_holdout``, when the baseline has them:
    their holdout must be ``split``'s, which ``holdout_identity.check_holdout`` checks), by
    ``holdout_model`` in ``model``'s place where given (its twin, for a model fitted on the
    holdout too: the answers record its version, ``HoldoutAnswers.answered_by``, and the
    report says whose they are)."""
    current = price_requests(model, model_version=model_version, config=config)
    comparison = compare(baseline, current)
    tolerances = config.release.new_version
    failures = judge(comparison, tolerances)
    answers = answer_holdout(
        holdout_model or model, split, config, model_version=model_version, identity=holdout
    )
    _, prices = features_and_target(split.holdout, config)
    accuracy = compare_accuracy(answers, baseline_holdout, prices)
    report = format_report(
        comparison,
        failures,
        tolerances,
        houses_file=config.data.requests_file,
        accuracy=accuracy_lines(accuracy, level=config.calibration.level, holdout=str(holdout)),
    )
    return DiffResult(comparison=comparison, failures=failures, accuracy=accuracy, report=report)
