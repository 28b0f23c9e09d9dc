"""The differential test's comparison, verdict and report, on a few made-up houses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from gradient_boosting_model.config import NewVersionConfig
from gradient_boosting_model.release.comparison import compare
from gradient_boosting_model.release.gate import judge
from gradient_boosting_model.release.report import format_report
from gradient_boosting_model.release.snapshot import Snapshot
from gradient_boosting_model.versions import VersionError, release_number

BASE = 100_000.0
FIELDS = ("GrLivArea", "OverallQual", "Neighborhood")
TOLERANCES = NewVersionConfig(
    max_median_move=0.012,
    max_share_moving_more_than={0.02: 0.20, 0.05: 0.02, 0.10: 0.005},
    max_largest_move=0.25,
    max_share_warnings_changed=0.01,
    max_median_width_change=0.10,
)
WARNING = ("GrLivArea", "GrLivArea 6000 is outside the training range 334 to 3627")


def _snapshot(
    version: str,
    prices: npt.ArrayLike,
    *,
    quality: npt.ArrayLike | None = None,
    warned: Sequence[int] = (),
    width: float = 0.3,
) -> Snapshot:
    """Houses Id 1, 2 ...: each price is the base price times its living area's factor and
    its quality's (1 unless given); the neighbourhood's factor is 1."""
    price = np.asarray(prices, dtype=np.float64).round(2)
    quality_factor = np.ones_like(price) if quality is None else np.asarray(quality, np.float64)
    area_factor = price / BASE / quality_factor
    return Snapshot(
        model_version=version,
        ids=np.arange(1, price.size + 1, dtype=np.int64),
        prices=price,
        lower=np.round(price * (1 - width / 2), 2),
        upper=np.round(price * (1 + width / 2), 2),
        warnings=tuple((WARNING,) if house in warned else () for house in range(price.size)),
        base_price=BASE,
        fields=FIELDS,
        factors=np.column_stack([area_factor, quality_factor, np.ones_like(price)]),
    )


PRICES = np.linspace(100_000, 300_000, 200)


def test_the_same_answers_pass_to_the_last_bit() -> None:
    comparison = compare(_snapshot("0.2.0", PRICES), _snapshot("0.2.0", PRICES))
    assert comparison.same_version and comparison.bit_identical
    assert comparison.median_move == 0 and comparison.movers[0].move == 0
    assert judge(comparison, TOLERANCES) == []


def test_a_retraining_may_round_a_price_a_cent_the_other_way() -> None:
    """Another machine's last bits: within the rule, not to the last bit."""
    baseline = _snapshot("0.2.0", PRICES)
    moved = baseline.prices.copy()
    moved[3] += 0.01
    comparison = compare(baseline, replace(baseline, prices=moved))
    assert judge(comparison, TOLERANCES) == []
    assert not comparison.bit_identical and comparison.unequal_values > 0
    report = format_report(comparison, [], TOLERANCES, houses_file="test.csv")
    assert "identical by the rule (cent, 1e-9): yes" in report
    assert "identical to the last bit: no" in report


def test_a_retraining_that_moves_a_price_two_cents_fails_naming_the_house() -> None:
    moved = PRICES.copy()
    moved[41] += 0.02
    comparison = compare(_snapshot("0.2.0", PRICES), _snapshot("0.2.0", moved))
    (failure,) = judge(comparison, TOLERANCES)
    assert "version 0.2.0 retrained does not answer as its baseline did" in failure
    assert "Id 42.price:" in failure
    assert "a changed model needs a new version" in failure


def test_a_retraining_that_changes_a_warning_fails() -> None:
    comparison = compare(_snapshot("0.2.0", PRICES), _snapshot("0.2.0", PRICES, warned=[7]))
    assert comparison.gained_warning.tolist() == [8]
    assert comparison.lost_warning.size == 0
    (failure,) = judge(comparison, TOLERANCES)
    assert "Id 8.warnings" in failure


def test_the_report_names_the_warnings_gained_and_lost_the_first_ten_each_way() -> None:
    """A releaser reads which houses are warned anew, and of what, not a count alone."""
    gained = list(range(12))
    comparison = compare(
        _snapshot("0.2.0", PRICES, warned=[20]), _snapshot("0.3.0", PRICES, warned=gained)
    )
    assert comparison.gained_messages[:2] == ((1, WARNING[1]), (2, WARNING[1]))
    assert comparison.lost_messages == ((21, WARNING[1]),)
    report = format_report(comparison, [], TOLERANCES, houses_file="test.csv")
    assert "warnings: 12 houses gained one, 1 lost one" in report
    assert f"  + Id 10     {WARNING[1]}" in report and "  + Id 11 " not in report
    assert "  + ... and 2 more" in report
    assert f"  - Id 21     {WARNING[1]}" in report


def test_a_new_version_may_move_prices_a_little() -> None:
    moved = PRICES * np.where(np.arange(PRICES.size) % 2, 1.005, 0.995)
    comparison = compare(_snapshot("0.2.0", PRICES), _snapshot("0.3.0", moved))
    assert not comparison.same_version
    assert comparison.median_move == pytest.approx(0.005, abs=1e-4)
    assert comparison.share_moving_more_than(0.02) == 0
    assert judge(comparison, TOLERANCES) == []


def test_the_movers_and_the_factors_that_moved_them_are_named() -> None:
    quality = np.ones_like(PRICES)
    quality[[10, 20]] = [1.3, 0.8]  # the quality's effect changed for two houses
    moved = PRICES * quality
    comparison = compare(_snapshot("0.2.0", PRICES), _snapshot("0.3.0", moved, quality=quality))
    first, second = comparison.movers[:2]
    assert (first.id, second.id) == (11, 21)
    assert first.move == pytest.approx(0.3, abs=1e-6)
    assert first.changes[0].field == "OverallQual"
    assert first.changes[0].before == 1.0
    assert first.changes[0].after == pytest.approx(1.3)
    largest: Any = comparison.largest_move
    assert largest == (11, pytest.approx(0.3, abs=1e-6))
    failures = judge(comparison, TOLERANCES)
    assert any("1 houses move by more than 25%: Id 11 (+30.0%)" in f for f in failures)
    assert any(
        "move by more than 10%, at most 0.5% may: Id 11 (+30.0%), Id 21" in f for f in failures
    )
    report = format_report(comparison, failures, TOLERANCES, houses_file="test.csv")
    assert "Id 11 " in report and "OverallQual 1.000->1.300" in report
    assert "FAILED:" in report


def test_a_new_version_moving_many_houses_fails_on_each_tolerance() -> None:
    moved = PRICES * np.where(np.arange(PRICES.size) % 4 == 0, 1.06, 1.005)
    comparison = compare(_snapshot("0.2.0", PRICES), _snapshot("0.3.0", moved))
    failures = judge(comparison, TOLERANCES)
    assert len(failures) == 2
    assert failures[0].startswith("50 houses (25.0%) move by more than 2%, at most 20.0% may")
    assert failures[1].startswith("50 houses (25.0%) move by more than 5%, at most 2.0% may")
    assert failures[1].count("(+6.0%)") == 10 and failures[1].endswith(" and 40 more")
    steady = PRICES * 1.015
    median = judge(compare(_snapshot("0.2.0", PRICES), _snapshot("0.3.0", steady)), TOLERANCES)
    assert [failure.split(";")[0] for failure in median] == [
        "the median move is 1.50%, at most 1.20% may be"
    ]


def test_a_failing_report_neither_reads_as_a_pass_nor_ends_on_a_reason() -> None:
    """A failing new version's report began "kind: a new version: moves within config.yml's
    release.new_version", which reads as a pass, and ended on its last reason; the verdict is
    its own last line, naming both versions."""
    moved = PRICES * np.where(np.arange(PRICES.size) % 4 == 0, 1.06, 1.005)
    comparison = compare(_snapshot("0.3.3", PRICES), _snapshot("0.3.4", moved))
    failures = judge(comparison, TOLERANCES)
    lines = format_report(comparison, failures, TOLERANCES, houses_file="test.csv").splitlines()
    assert lines[1] == (
        "kind: a new version, judged by the limits of config.yml's release.new_version (in "
        "brackets below) and by its number, which must be after the baseline's"
    )
    assert not any("within" in line for line in lines[:2])
    assert lines[-1] == "FAILED: model 0.3.4 against the baseline of 0.3.3, for the 2 reasons above"
    assert lines[-5:-2] == ["why it fails:", f"- {failures[0]}", f"- {failures[1]}"]
    retrained = compare(_snapshot("0.3.3", PRICES), _snapshot("0.3.3", moved))
    lines = format_report(
        retrained, judge(retrained, TOLERANCES), TOLERANCES, houses_file="test.csv"
    ).splitlines()
    assert lines[1].startswith("kind: the same version retrained, judged by the rule that its")
    assert lines[-1] == "FAILED: model 0.3.3 against the baseline of 0.3.3, for the reason above"
    passing = compare(_snapshot("0.3.3", PRICES), _snapshot("0.3.4", PRICES * 1.001))
    report = format_report(passing, [], TOLERANCES, houses_file="test.csv")
    assert report.splitlines()[-1] == "passed" and "FAILED" not in report


def test_a_new_version_changing_warnings_or_ranges_fails() -> None:
    warned = _snapshot("0.3.0", PRICES, warned=[1, 2, 4])
    (failure,) = judge(compare(_snapshot("0.2.0", PRICES, warned=[3]), warned), TOLERANCES)
    assert failure == (
        "4 houses (2.0%) gain or lose a warning, at most 1.0% may: "
        "gained Id 2, Id 3, Id 5; lost Id 4"
    )
    wider = _snapshot("0.3.0", PRICES, width=0.36)
    (failure,) = judge(compare(_snapshot("0.2.0", PRICES), wider), TOLERANCES)
    assert failure.startswith("the ranges' median width moves by x1.200, at most 10%")


def test_snapshots_of_other_houses_are_not_compared() -> None:
    with pytest.raises(ValueError, match=r"missing now \[200\], new \[\]"):
        compare(_snapshot("0.2.0", PRICES), _snapshot("0.2.0", PRICES[:-1]))


def test_a_snapshot_survives_its_json_form() -> None:
    snapshot = _snapshot("0.2.0", PRICES, warned=[5])
    back = Snapshot.from_json(snapshot.to_json())
    assert compare(snapshot, back).bit_identical
    assert back.warned_fields(5) == {"GrLivArea"}


def test_a_new_version_is_numbered_after_the_baseline() -> None:
    """0.3.2 after 0.3.3 passed as "a new version", though 0.3.2 named another model (a
    probe's); numbers are compared as numbers (0.3.10 after 0.3.9)."""
    moved = PRICES * 1.001
    for earlier in ("0.3.2", "0.2.9", "0.3.2.9"):
        failures = judge(compare(_snapshot("0.3.3", PRICES), _snapshot(earlier, moved)), TOLERANCES)
        assert len(failures) == 1 and "is not after the baseline's 0.3.3" in failures[0]
    for later in ("0.3.4", "0.3.10", "0.4", "1.0.0", "0.3.3+planted"):
        assert judge(compare(_snapshot("0.3.3", PRICES), _snapshot(later, moved)), TOLERANCES) == []
    assert judge(compare(_snapshot("0.3.9", PRICES), _snapshot("0.3.10", moved)), TOLERANCES) == []


@pytest.mark.parametrize(
    "version", ["0.3.6-rc1", "0.3.6rc1", "v0.3.4", "0.03.4", "0.3.4 ", "", "0.3.4+Trial", "0.3+"]
)
def test_a_version_is_a_release_number(version: str) -> None:
    """``0.3.6-rc1`` was trained, the artifact before it removed, and then pip's ``0.3.6rc1``
    broke the wheel's build (a probe's)."""
    with pytest.raises(VersionError, match="is not a release number"):
        release_number(version)
    assert release_number("0.3") == ((0, 3), "")
    assert release_number("10.0.12+challenger") == ((10, 0, 12), "challenger")


@pytest.mark.parametrize(("argv", "status"), [(["--help"], 0), (["--version"], 2)])
def test_training_asked_for_help_or_given_an_argument_trains_nothing(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], status: int
) -> None:
    """``python -m gradient_boosting_model.train --help`` trained for half a minute and
    rewrote the artifacts (a new user's): it took no argument and read none."""
    from gradient_boosting_model import train

    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("trained")

    monkeypatch.setattr(train, "check_version", no_training)
    monkeypatch.setattr(train, "load_config", no_training)
    with pytest.raises(SystemExit) as ended:
        train.main(argv)
    assert ended.value.code == status


def test_training_refuses_a_version_that_is_no_release_number_before_it_trains(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Training replaces the artifact of the version before: a VERSION pip cannot build a
    wheel of is refused first."""
    from gradient_boosting_model import train

    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("trained")

    monkeypatch.setattr(train, "__version__", "0.3.6-rc1")
    monkeypatch.setattr(train, "load_config", no_training)
    assert train.main() == 2
    assert "'0.3.6-rc1' is not a release number" in caplog.text


def test_training_refuses_a_version_before_the_released_one_before_it_removes_anything(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Saving a model removes every other version's artifact: VERSION 0.3.2 trained beside a
    0.3.3 baseline removed 0.3.3's files (a colleague's release). The released version itself
    may be retrained; with no baseline beside the package (an installed one) nothing is read."""
    from gradient_boosting_model import train

    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("trained")

    declaration = tmp_path / "baseline" / "VERSION"
    train.check_version("0.3.2", baseline_declaration=declaration)  # no baseline: no order
    declaration.parent.mkdir()
    declaration.write_text("0.3.3\n", encoding="utf-8")
    for later in ("0.3.3", "0.3.4", "0.3.10", "0.3.3+trial", "1.0"):
        train.check_version(later, baseline_declaration=declaration)
    for earlier in ("0.3.2", "0.2.9", "0.3.2+trial"):
        with pytest.raises(VersionError, match=f"version {re.escape(earlier)} is before"):
            train.check_version(earlier, baseline_declaration=declaration)
    monkeypatch.setattr(train, "BASELINE_DECLARATION", declaration)
    monkeypatch.setattr(train, "__version__", "0.3.2")
    monkeypatch.setattr(train, "load_config", no_training)
    assert train.main() == 2
    (refused,) = caplog.records
    assert refused.getMessage() == (
        f"version 0.3.2 is before the released 0.3.3 ({declaration}): training it would remove "
        "0.3.3's artifact from trained_models/; number the new model after 0.3.3 "
        "(gradient_boosting_model/VERSION: 0.3.2)"
    )
    declaration.write_text("0.3.3-rc1\n", encoding="utf-8")
    with pytest.raises(VersionError, match=re.escape(f"no pre-release part ({declaration})")):
        train.check_version("0.3.4", baseline_declaration=declaration)


def test_the_release_commands_help_says_their_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's: the README documents 0 to 3, ``--help`` said none."""
    from gradient_boosting_model.release import cli

    with pytest.raises(SystemExit) as ended:
        cli.main(["--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert ended.value.code == 0
    assert said.endswith(
        "Exit status: 0 when the test passed or the baseline was written; 1 when the test "
        "failed (the report names the houses); 2 for a wrong command line, or a baseline or "
        "model that cannot be read; 3 when the holdout is not the one measured (the message "
        "names both)."
    )
