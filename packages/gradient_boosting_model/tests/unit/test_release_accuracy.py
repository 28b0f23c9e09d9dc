"""The differential test's accuracy section, on made-up holdout answers whose figures are known."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from gradient_boosting_model.bootstrap import BOOTSTRAP_CONFIDENCE
from gradient_boosting_model.holdout_identity import HoldoutIdentity, HoldoutMismatchError
from gradient_boosting_model.release.accuracy import accuracy_lines, compare_accuracy
from gradient_boosting_model.release.holdout_answers import HoldoutAnswers

HOUSES = 200
PRICES = np.linspace(100_000, 300_000, HOUSES)
IDENTITY = HoldoutIdentity(
    training_file="houseprice.csv",
    holdout_fraction=0.2,
    split_seed=42,
    max_living_area=4000,
    houses=HOUSES,
    ids_sha256="a" * 64,
    rows_sha256="b" * 64,
)


def _answers(
    version: str,
    ratio: npt.ArrayLike,
    *,
    width: npt.ArrayLike,
    calibrated: npt.ArrayLike,
    answered_by: str | None = None,
) -> HoldoutAnswers:
    """Each house priced at ``ratio`` times its sale price, its range ``width`` of the price
    either side, by the model of ``version`` (or of ``answered_by``)."""
    predicted = PRICES * np.asarray(ratio, dtype=np.float64)
    half = predicted * np.asarray(width, dtype=np.float64)
    return HoldoutAnswers(
        model_version=version,
        answered_by=answered_by or version,
        identity=IDENTITY,
        ids=np.arange(1, HOUSES + 1, dtype=np.int64),
        predicted=predicted,
        lower=predicted - half,
        upper=predicted + half,
        calibrated=np.asarray(calibrated, dtype=bool),
    )


# The baseline: every house 10% high, its range +-5% (holding none of the prices); the new
# version: 5% high alternately above and below, its range +-8% (holding every price), the
# first 10 houses' ranges not calibrated.
BASELINE = _answers("0.3.3", 1.10, width=0.05, calibrated=np.ones(HOUSES))
CURRENT = _answers(
    "0.3.4",
    np.where(np.arange(HOUSES) % 2, 1.05, 1 / 1.05),
    width=0.08,
    calibrated=np.arange(HOUSES) >= 10,
)


def test_each_versions_figures_are_its_cards() -> None:
    compared = compare_accuracy(CURRENT, BASELINE, PRICES)
    assert compared.baseline is not None
    assert compared.baseline.rmsle == pytest.approx(math.log(1.10), rel=1e-12)
    assert compared.current.rmsle == pytest.approx(math.log(1.05), rel=1e-12)
    assert compared.baseline.coverage == 0.0 and compared.current.coverage == 1.0
    assert compared.current.calibrated_houses == HOUSES - 10
    difference = compared.rmsle_difference
    assert difference is not None
    assert difference.estimate == pytest.approx(math.log(1.05) - math.log(1.10), rel=1e-12)
    # Every house moved alike: the interval has no room on either side.
    assert difference.low == pytest.approx(difference.estimate, rel=1e-9)
    assert difference.high == pytest.approx(difference.estimate, rel=1e-9)
    assert compared.coverage_difference is not None
    assert compared.coverage_difference.estimate == 1.0


def test_the_interval_is_paired_and_the_same_each_run() -> None:
    """Half the houses better, half worse: a real spread, around the estimate, every run the
    same (a fixed seed)."""
    rng = np.random.default_rng(0)
    noisy = _answers(
        "0.3.4", np.exp(rng.normal(0, 0.1, HOUSES)), width=0.1, calibrated=[1] * HOUSES
    )
    other = _answers(
        "0.3.3", np.exp(rng.normal(0, 0.1, HOUSES)), width=0.1, calibrated=[1] * HOUSES
    )
    first = compare_accuracy(noisy, other, PRICES)
    again = compare_accuracy(noisy, other, PRICES)
    assert first == again
    for difference in (first.rmsle_difference, first.coverage_difference):
        assert difference is not None
        assert difference.low < difference.estimate < difference.high
    same = compare_accuracy(noisy, noisy, PRICES)
    assert same.rmsle_difference is not None
    assert (same.rmsle_difference.low, same.rmsle_difference.high) == (0.0, 0.0)


def test_the_report_shows_both_versions_and_the_differences() -> None:
    lines = accuracy_lines(
        compare_accuracy(CURRENT, BASELINE, PRICES), level=0.9, holdout=str(IDENTITY)
    )
    text = "\n".join(lines)
    assert lines[0] == f"accuracy on the holdout: {IDENTITY}"
    assert f"baseline 0.3.3      {math.log(1.10):.5f}   0.000 of 200 houses" in text
    assert f"model 0.3.4         {math.log(1.05):.5f}   1.000 of 190 houses" in text
    assert f"new - baseline     {math.log(1.05) - math.log(1.10):+.5f} (" in text
    assert f"{BOOTSTRAP_CONFIDENCE:.0%} intervals, a paired bootstrap" in text


def test_a_baseline_without_holdout_answers_is_said_so() -> None:
    compared = compare_accuracy(CURRENT, None, PRICES)
    assert compared.baseline is None and compared.rmsle_difference is None
    text = "\n".join(accuracy_lines(compared, level=0.9, holdout=str(IDENTITY)))
    assert "baseline            not recorded" in text
    assert "model 0.3.4" in text and "new - baseline" not in text


def test_answers_of_other_houses_are_not_compared() -> None:
    shifted = _answers("0.3.3", 1.0, width=0.1, calibrated=[1] * HOUSES)
    reordered = HoldoutAnswers(**{**shifted.__dict__, "ids": shifted.ids[::-1].copy()})
    with pytest.raises(HoldoutMismatchError, match="other houses"):
        compare_accuracy(CURRENT, reordered, PRICES)


def test_answers_another_model_gave_are_said_to_be_its_for_either_version() -> None:
    """A baseline made of a model fitted on the holdout too holds its twin's answers (0.4.0's
    were 0.4.0+twin's and said 0.4.0); they are recorded as the twin's, kept through the file,
    and the report says whose they are, for the baseline as for the model."""
    twin_answered = _answers(
        "0.4.0", 1.10, width=0.05, calibrated=np.ones(HOUSES), answered_by="0.4.0+twin"
    )
    written = twin_answered.to_json()
    assert (written["model_version"], written["answered_by"]) == ("0.4.0", "0.4.0+twin")
    read = HoldoutAnswers.from_json(written)
    assert (read.model_version, read.answered_by) == ("0.4.0", "0.4.0+twin")
    current = _answers("0.4.1", 1.05, width=0.08, calibrated=np.ones(HOUSES))
    lines = accuracy_lines(compare_accuracy(current, read, PRICES), level=0.9, holdout="h")
    twin_lines = [line for line in lines if "its twin's" in line]
    assert twin_lines == [
        "  (baseline 0.4.0's are its twin's, 0.4.0+twin: the same procedure fitted on the "
        "training split alone; the model itself was fitted on the holdout too)"
    ]
    # The model's own, where a twin answered for it; a version that answered itself has none.
    twinned = _answers(
        "0.4.1", 1.05, width=0.08, calibrated=np.ones(HOUSES), answered_by="0.4.1+twin"
    )
    lines = accuracy_lines(compare_accuracy(twinned, BASELINE, PRICES), level=0.9, holdout="h")
    assert [line for line in lines if "its twin's" in line] == [
        "  (model 0.4.1's are its twin's, 0.4.1+twin: the same procedure fitted on the "
        "training split alone; the model itself was fitted on the holdout too)"
    ]


def test_answers_recorded_before_the_answering_model_was_are_their_versions() -> None:
    """A baseline file written before ``answered_by`` was recorded reads as before: the
    version's own answers, not said to be another model's."""
    written = BASELINE.to_json()
    del written["answered_by"]
    read = HoldoutAnswers.from_json(written)
    assert read.to_json() == BASELINE.to_json()
    assert read.answered_by == read.model_version == "0.3.3"
    lines = accuracy_lines(compare_accuracy(CURRENT, read, PRICES), level=0.9, holdout="h")
    assert not [line for line in lines if "its twin's" in line]
