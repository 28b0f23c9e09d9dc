"""The differential test's accuracy: each version on the labelled holdout, as its card measures
it (``evaluation``: the RMSLE of every house, the coverage of the ranges marked calibrated), and
the new version's figure minus the baseline's with a paired bootstrap interval.

The interval is ``bootstrap.paired_interval``'s (both versions' answers for a house resampled
together, so that what they share, a hard house, cancels out), of a fixed seed: the same
answers give the same report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.bootstrap import (
    BOOTSTRAP_CONFIDENCE,
    BOOTSTRAP_RESAMPLES,
    Positions,
    paired_interval,
)
from gradient_boosting_model.evaluation import inside, interval_metrics, rmsle
from gradient_boosting_model.holdout_identity import HoldoutMismatchError
from gradient_boosting_model.release.holdout_answers import HoldoutAnswers

FloatArray = npt.NDArray[np.float64]
#: The paired bootstrap's seed.
SEED = 20261206


@dataclass(frozen=True)
class Accuracy:
    """One version's figures on the holdout."""

    version: str
    #: The version of the model that answered (``HoldoutAnswers.answered_by``).
    answered_by: str
    rmsle: float
    coverage: float
    #: The houses whose range is marked calibrated: those ``coverage`` is of.
    calibrated_houses: int


@dataclass(frozen=True)
class Difference:
    """The new version's figure minus the baseline's, and its ``BOOTSTRAP_CONFIDENCE``
    interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class AccuracyComparison:
    """Both versions on the same holdout; the baseline's figures are None when the baseline
    holds no answers for it (made before it did)."""

    houses: int
    current: Accuracy
    baseline: Accuracy | None
    rmsle_difference: Difference | None
    coverage_difference: Difference | None


def measure(answers: HoldoutAnswers, prices: FloatArray) -> Accuracy:
    """``answers``' figures against the sale ``prices`` (in the answers' order)."""
    kept = answers.calibrated
    return Accuracy(
        version=answers.model_version,
        answered_by=answers.answered_by,
        rmsle=rmsle(prices, answers.predicted),
        coverage=interval_metrics(
            prices[kept], answers.predicted[kept], answers.lower[kept], answers.upper[kept]
        )["coverage"],
        calibrated_houses=int(kept.sum()),
    )


def compare_accuracy(
    current: HoldoutAnswers, baseline: HoldoutAnswers | None, prices: FloatArray
) -> AccuracyComparison:
    """Both versions' figures on the holdout whose sale ``prices`` (in ``current``'s order)
    are given, and their differences.

    Raises
    ------
    HoldoutMismatchError
        If the baseline answered other houses, or in another order (the identities compare
        the houses, not their order; the diff-test then exits as for another holdout, in one
        line, not with a traceback).
    """
    now = measure(current, prices)
    if baseline is None:
        return AccuracyComparison(prices.size, now, None, None, None)
    if not np.array_equal(baseline.ids, current.ids):
        raise HoldoutMismatchError(
            "the baseline's holdout answers are of other houses, or in another order, than "
            "the holdout read now: make baseline again"
        )
    before = measure(baseline, prices)

    def rmsle_moved(resamples: Positions) -> FloatArray:
        return np.array(
            [
                rmsle(prices[picks], current.predicted[picks])
                - rmsle(prices[picks], baseline.predicted[picks])
                for picks in resamples
            ]
        )

    covered_now = inside(prices, current.lower, current.upper)
    covered_before = inside(prices, baseline.lower, baseline.upper)

    def coverage_moved(resamples: Positions) -> FloatArray:
        return np.array(
            [
                covered_now[picks][current.calibrated[picks]].mean()
                - covered_before[picks][baseline.calibrated[picks]].mean()
                for picks in resamples
            ]
        )

    return AccuracyComparison(
        houses=prices.size,
        current=now,
        baseline=before,
        rmsle_difference=Difference(
            now.rmsle - before.rmsle, *paired_interval(rmsle_moved, prices.size, seed=SEED)
        ),
        coverage_difference=Difference(
            now.coverage - before.coverage, *paired_interval(coverage_moved, prices.size, seed=SEED)
        ),
    )


def accuracy_lines(comparison: AccuracyComparison, *, level: float, holdout: str) -> list[str]:
    """The report's section: the holdout (``holdout``, its identity), a line a version (the RMSLE
    of every house, the coverage of the ``level`` ranges marked calibrated), then the
    differences, new minus baseline, and for each version whose answers another model gave
    (its twin), a line that says so."""
    lines = [
        f"accuracy on the holdout: {holdout}",
        f"                      RMSLE      coverage of the {level:.0%} ranges marked calibrated",
    ]
    before, now = comparison.baseline, comparison.current
    lines.append(
        _figures(f"baseline {before.version}", before)
        if before is not None
        else "  baseline            not recorded: the baseline holds no holdout answers "
        "(made before it did; make baseline records them)"
    )
    lines.append(_figures(f"model {now.version}", now))
    if comparison.rmsle_difference is not None and comparison.coverage_difference is not None:
        lines += [
            f"  new - baseline     {_difference(comparison.rmsle_difference, 5)}   "
            f"{_difference(comparison.coverage_difference, 3)}",
            f"  (in brackets: {BOOTSTRAP_CONFIDENCE:.0%} intervals, a paired bootstrap of "
            f"{BOOTSTRAP_RESAMPLES} resamples of the {comparison.houses} houses)",
        ]
    return lines + _twin_line("baseline", before) + _twin_line("model", now)


def _twin_line(name: str, figures: Accuracy | None) -> list[str]:
    """Whose answers the holdout's figures of ``name``'s version are, when another model's,
    of another version: its twin's (none for a version that answered itself)."""
    if figures is None or figures.answered_by == figures.version:
        return []
    return [
        f"  ({name} {figures.version}'s are its twin's, {figures.answered_by}: the same "
        "procedure fitted on the training split alone; the model itself was fitted on the "
        "holdout too)"
    ]


def _figures(name: str, figures: Accuracy) -> str:
    return (
        f"  {name:<18s} {figures.rmsle:8.5f}   {figures.coverage:.3f} of "
        f"{figures.calibrated_houses} houses"
    )


def _difference(difference: Difference, digits: int) -> str:
    return (
        f"{difference.estimate:+.{digits}f} ({difference.low:+.{digits}f} to "
        f"{difference.high:+.{digits}f})"
    )
