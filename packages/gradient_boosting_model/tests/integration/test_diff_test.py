"""The differential test against the committed baseline: the baseline answers for every house of
test.csv; a planted change of the model (another learning rate) fails, naming houses, where a
model differing only by its random seed passes as a new version; the command's exit status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradient_boosting_model import __version__
from gradient_boosting_model.config import Config
from gradient_boosting_model.release.baseline import declared_version, read_baseline
from gradient_boosting_model.release.cli import main
from gradient_boosting_model.release.diff import diff_test, price_requests
from gradient_boosting_model.release.snapshot import Snapshot
from gradient_boosting_model.trained_model import TrainedModel
from integration.retraining import BASELINE_DIR, Refit

pytestmark = pytest.mark.integration

#: The planted fault: scikit-learn's default learning rate, for the model's 0.03.
PLANTED_LEARNING_RATE = 0.1


@pytest.fixture(scope="module")
def baseline() -> Snapshot:
    return read_baseline(BASELINE_DIR)


def _with_model(config: Config, **settings: Any) -> Config:
    return config.model_copy(update={"model": config.model.model_copy(update=settings)})


def test_the_baseline_answers_for_every_house_of_test_csv(
    baseline: Snapshot, request_rows: list[dict[str, Any]]
) -> None:
    assert baseline.model_version == declared_version(BASELINE_DIR)
    assert baseline.ids.tolist() == [row["Id"] for row in request_rows]
    assert np.all((baseline.lower < baseline.prices) & (baseline.prices < baseline.upper))
    prices = baseline.base_price * np.prod(baseline.factors, axis=1)
    np.testing.assert_allclose(prices, baseline.prices, rtol=1e-9, atol=0.005)


def test_a_planted_learning_rate_fails_as_a_retraining_and_as_a_new_version(
    config: Config, refit: Refit, baseline: Snapshot
) -> None:
    planted = refit(_with_model(config, learning_rate=PLANTED_LEARNING_RATE))
    version = baseline.model_version
    retraining = diff_test(planted, model_version=version, baseline=baseline, config=config)
    assert [failure.split(" (")[0] for failure in retraining.failures] == [
        f"version {version} retrained does not answer as its baseline did"
    ]
    new = diff_test(planted, model_version=f"{version}+planted", baseline=baseline, config=config)
    assert not new.passed, new.report
    reasons = {failure.split(",")[0].split(" is ")[0] for failure in new.failures}
    assert "the median move" in reasons, new.report
    assert all(re.search(r"Id \d+ \([+-]\d+\.\d%\)", failure) for failure in new.failures)
    assert "FAILED:" in new.report and "the 10 houses moving most" in new.report


def test_a_new_version_differing_by_its_seed_alone_passes(
    config: Config, refit: Refit, packaged_model: TrainedModel
) -> None:
    """The tolerances are not tighter than an equally good retraining's noise: the model being
    built, reseeded, against its own answers (not the committed baseline, which is the last
    release's: while a new version is being built, it differs by more than a seed)."""
    reseeded = refit(_with_model(config, random_state=1))
    own = price_requests(packaged_model, model_version=__version__, config=config)
    new = diff_test(reseeded, model_version=f"{__version__}+reseeded", baseline=own, config=config)
    assert new.passed, new.report
    assert new.comparison.median_move > 0.003  # it did move (0.46% for 0.3.0, 0.74% for 0.2.0)


def test_the_command_writes_a_baseline_and_diffs_against_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--baseline", str(tmp_path)]) == 2
    assert "no baseline declared" in capsys.readouterr().err
    assert main(["baseline", "--baseline", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("*.json.gz")
    first = written.read_bytes()
    (tmp_path / "0.0.1.json.gz").write_bytes(b"an older release")
    assert main(["baseline", "--baseline", str(tmp_path)]) == 0
    assert {path.name for path in tmp_path.iterdir()} == {"VERSION", written.name}
    assert written.read_bytes() == first  # the same answers, the same bytes
    capsys.readouterr()
    assert main(["diff", "--baseline", str(tmp_path)]) == 0
    report = capsys.readouterr().out
    assert "kind: the same version retrained" in report
    assert "identical to the last bit: yes" in report
    assert report.rstrip().endswith("passed")
