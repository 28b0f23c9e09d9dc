"""The paired bootstrap that the diff-test's accuracy and the service's challenger share: its
intervals are, to the bit, the ones each drew before they shared it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from gradient_boosting_model.bootstrap import (
    BOOTSTRAP_CONFIDENCE,
    BOOTSTRAP_RESAMPLES,
    Positions,
    paired_interval,
)
from gradient_boosting_model.evaluation import rmsle
from gradient_boosting_model.holdout_identity import HoldoutIdentity
from gradient_boosting_model.release.accuracy import SEED, compare_accuracy
from gradient_boosting_model.release.holdout_answers import HoldoutAnswers

FloatArray = npt.NDArray[np.float64]


def _one_resample_at_a_time(
    statistic: Callable[[Positions], float], houses: int, seed: int
) -> tuple[float, float]:
    """How ``release.accuracy`` drew its interval before it shared the function: a call of the
    generator a resample, the percentiles of a list of floats."""
    generator = np.random.default_rng(seed)
    values = [
        statistic(generator.integers(0, houses, size=houses)) for _ in range(BOOTSTRAP_RESAMPLES)
    ]
    tail = (1 - BOOTSTRAP_CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def _answers(version: str, prices: FloatArray, seed: int) -> HoldoutAnswers:
    """Prices off by a log-normal error, ranges of 5 to 20% either side, a tenth not
    calibrated."""
    rng = np.random.default_rng(seed)
    predicted = prices * np.exp(rng.normal(0, 0.1, prices.size))
    half = predicted * rng.uniform(0.05, 0.2, prices.size)
    return HoldoutAnswers(
        model_version=version,
        answered_by=version,
        identity=HoldoutIdentity("houseprice.csv", 0.2, 42, 4000, prices.size, "a" * 64, "b" * 64),
        ids=np.arange(prices.size, dtype=np.int64),
        predicted=predicted,
        lower=predicted - half,
        upper=predicted + half,
        calibrated=rng.uniform(size=prices.size) > 0.1,
    )


@pytest.mark.parametrize("houses", [2, 3, 61, 263, 1001])
def test_resamples_drawn_together_are_those_drawn_one_at_a_time(houses: int) -> None:
    """The generator gives the same positions in chunks as one resample a call: the chunk
    sets the memory used, not the interval (a planted change of the draws fails here)."""
    rng = np.random.default_rng(houses)
    first, second = rng.lognormal(-5, 1.5, size=(2, houses))

    def moved(picks: Positions) -> float:
        return float(np.sqrt(second[picks].mean()) - np.sqrt(first[picks].mean()))

    def each(resamples: Positions) -> FloatArray:
        return np.array([moved(picks) for picks in resamples])

    assert paired_interval(each, houses, seed=7) == _one_resample_at_a_time(moved, houses, 7)


@pytest.mark.parametrize("houses", [61, 263])
def test_the_diff_tests_intervals_are_those_it_drew_on_its_own(houses: int) -> None:
    prices = np.random.default_rng(houses).uniform(50_000, 500_000, size=houses)
    current, baseline = _answers("0.3.5", prices, 1), _answers("0.3.4", prices, 2)
    compared = compare_accuracy(current, baseline, prices)

    def rmsle_moved(picks: Positions) -> float:
        return rmsle(prices[picks], current.predicted[picks]) - rmsle(
            prices[picks], baseline.predicted[picks]
        )

    def coverage_moved(picks: Positions) -> float:
        def covered(answers: HoldoutAnswers) -> float:
            inside = (answers.lower <= prices) & (prices <= answers.upper)
            return float(inside[picks][answers.calibrated[picks]].mean())

        return covered(current) - covered(baseline)

    assert compared.rmsle_difference is not None and compared.coverage_difference is not None
    rmsle_interval = (compared.rmsle_difference.low, compared.rmsle_difference.high)
    assert rmsle_interval == _one_resample_at_a_time(rmsle_moved, houses, SEED)
    coverage_interval = (compared.coverage_difference.low, compared.coverage_difference.high)
    assert coverage_interval == _one_resample_at_a_time(coverage_moved, houses, SEED)
