"""The release replay (tools/replay.py): its checks before it starts a server, and its exit
status and last line from the verdict."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from gradient_boosting_model import ModelError, __version__
from gradient_boosting_model.config import load_config
from gradient_boosting_model.holdout_identity import HoldoutMismatchError
from gradient_boosting_model.persistence import artifact_path, load_metadata

from tools.challengers import write_challenger
from tools.replay import HOLDOUT_MISMATCH, check_models, conclusion, holdout, main


def test_a_challenger_of_the_champions_version_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    """After a release's wheel is installed, the packaged model is the challenger itself: the
    replay's server refused to start, in an 87-line traceback that blamed the challenger (a
    probe's)."""
    packaged = artifact_path(load_config())
    with pytest.raises(ValueError, match=r"is version .*, as the packaged model .* is: give"):
        check_models(packaged, None)
    copy = tmp_path / packaged.name
    shutil.copy(packaged, copy)
    shutil.copy(packaged.with_suffix(".json"), copy.with_suffix(".json"))
    with pytest.raises(ValueError, match=re.escape(f"as --champion {copy} is")):
        check_models(packaged, copy)
    with pytest.raises(ModelError, match=re.escape("nope.json")):
        check_models(tmp_path / "nope.joblib", None)


@pytest.mark.integration
@pytest.mark.server
@pytest.mark.parametrize(
    ("learning_rate_scale", "status", "line"),
    [
        # Measured here: RMSLE +0.0040 (90% interval +0.0009 to +0.0070) on the 263 sales.
        (0.3, 1, r"^replay: WORSE, the release stops: .* interval \+0\.\d{4} to \+0\.\d{4}\)"),
        # Measured here: -0.0002 (90% interval -0.0006 to +0.0003): nothing to tell them apart.
        (
            1.1,
            0,
            r"^replay: no difference the holdout can detect: .*\(90% interval -0\.\d{4} to "
            r"\+0\.\d{4}\), an interval across zero; the whole holdout was replayed, no more "
            r"sales will come",
        ),
    ],
)
def test_a_worse_challenger_stops_the_release_and_one_no_better_says_what_that_means(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    learning_rate_scale: float,
    status: int,
    line: str,
) -> None:
    """The replay is a release's last check: a colleague's release went on past a ``worse``
    verdict, which exited 0 as every other did; and ``not yet known`` on the whole holdout read
    as if more sales would come."""
    challenger = write_challenger(
        tmp_path, version=f"{__version__}+replayed", learning_rate_scale=learning_rate_scale
    )
    assert main(["--challenger", str(challenger)]) == status
    out, err = capsys.readouterr()
    said = (err if status else out).strip().splitlines()[-1]
    assert re.search(line, said), said
    assert json.loads(out[: out.rindex("}") + 1])["sales"] == len(holdout()[0])


def test_a_challenger_before_the_champion_is_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two files swapped (``CHALLENGER=old CHAMPION=new``): a probe's worse release,
    replayed as the champion of the version before it, was judged ``better`` with exit status
    0 (RMSLE -0.0008, interval -0.0015 to -0.0002). Refused before a server starts."""
    older = _challenger(tmp_path, version="0.0.1", recorded=True)
    with pytest.raises(ValueError, match=r"is version 0\.0\.1, before \d"):
        check_models(older, None)
    assert main(["--challenger", str(older)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "--challenger" in error and "--champion" in error
    # A labelled build of the champion's number comes after it (tools/challengers.py's).
    labelled = _challenger(tmp_path, version=f"{__version__}+trial", recorded=True)
    assert check_models(labelled, None) == []


def _compared(verdict: str, sales: int = 263) -> dict[str, Any]:
    return {
        "model_version": "0.3.4",
        "champion_version": "0.3.3",
        "sales": sales,
        "rmsle_difference": {
            "estimate": -0.003,
            "interval": [-0.005, -0.001],
            "confidence": 0.9,
        },
        "ranges_would_alert": False,
        "verdict": verdict,
    }


def test_a_better_or_same_challenger_lets_the_release_go_and_a_short_replay_gives_none() -> None:
    status, line = conclusion(_compared("better"), 263)
    assert (status, line) == (
        0,
        "replay: better: challenger 0.3.4's RMSLE minus champion 0.3.3's on the holdout's 263 "
        "sales: -0.0030 (90% interval -0.0050 to -0.0010), the whole interval below zero",
    )
    assert conclusion(_compared("same"), 263)[0] == 0
    assert conclusion(_compared("worse"), 263)[0] == 1
    # The same prices, narrower ranges (a probe's recalibrated release): not "the same", and
    # the line gives the coverage that tells them apart.
    ranges_moved = {
        **_compared("not_yet_known"),
        "rmsle_difference": {"estimate": 0.0, "interval": [0.0, 0.0], "confidence": 0.9},
        "champion": {"rmsle": 0.1126, "coverage": 0.9111},
        "challenger": {"rmsle": 0.1126, "coverage": 0.9027},
    }
    status, line = conclusion(ranges_moved, 263)
    assert status == 0 and "the same" not in line
    assert line.endswith(
        "+0.0000 to +0.0000), an interval across zero; the whole holdout was replayed, no more "
        "sales will come: the release may go if its purpose is met, this interval quoted in its "
        "commit; ranges' coverage 0.903 against the champion's 0.911"
    )
    # Ranges that would alert where the champion's would not: worse, whatever the RMSLE.
    alerting = {
        **ranges_moved,
        "verdict": "worse",
        "ranges_would_alert": True,
        "challenger": {"rmsle": 0.1126, "coverage": 0.62},
    }
    status, line = conclusion(alerting, 263)
    assert status == 1
    assert line.endswith(
        "+0.0000 to +0.0000), its ranges would alert; ranges' coverage 0.620 against the "
        "champion's 0.911"
    )
    # Both reasons at once are both named (the line named the interval alone).
    both = {
        **alerting,
        "rmsle_difference": {"estimate": 0.004, "interval": [0.001, 0.007], "confidence": 0.9},
    }
    status, line = conclusion(both, 263)
    assert status == 1
    assert line.endswith(
        "+0.0010 to +0.0070), the whole interval above zero and its ranges would alert; ranges' "
        "coverage 0.620 against the champion's 0.911"
    )
    status, line = conclusion({**both, "ranges_would_alert": False}, 263)
    assert status == 1
    assert line.endswith("+0.0070), the whole interval above zero; ranges' coverage 0.620 "
                         "against the champion's 0.911")  # fmt: skip
    # Fewer sales counted than houses replayed: no verdict of the holdout at all, even "better".
    status, line = conclusion(_compared("better", sales=200), 263)
    assert status == 2
    assert line.startswith("replay: no verdict: 200 of the holdout's 263 sales were counted")


def _challenger(
    folder: Path, version: str = "0.9.9", *, recorded: bool = False, **holdout_split: Any
) -> Path:
    """The packaged artifact as another ``version``, its holdout record kept (``recorded``),
    changed by ``holdout_split``, or removed when none is given (a model trained before it
    was kept)."""
    config = load_config()
    path = folder / artifact_path(config, version=version).name
    shutil.copy(artifact_path(config), path)
    metadata = {**load_metadata(config), "model_version": version}
    if holdout_split:
        metadata["holdout_split"] = {**metadata["holdout_split"], **holdout_split}
    elif not recorded:
        del metadata["holdout_split"]
    path.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    return path


def test_a_challenger_measured_on_another_holdout_is_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another seed at training: the replay would price houses the challenger trained on, and
    its verdict would say nothing (no server is started)."""
    other = _challenger(tmp_path, split_seed=7, ids_sha256="0" * 64)
    with pytest.raises(HoldoutMismatchError, match=r"is not the one the challenger .* 0\.9\.9"):
        check_models(other, None)
    assert main(["--challenger", str(other)]) == HOLDOUT_MISMATCH == 3
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert re.search(r"the holdout read now, 263 houses .*split_seed 42, ", error)
    assert re.search(r"was measured on, 263 houses .*split_seed 7, .*Ids sha256 0{12}", error)


def test_a_challenger_without_the_record_is_said_so(tmp_path: Path) -> None:
    (warning,) = check_models(_challenger(tmp_path), None)
    assert "the challenger" in warning and "0.9.9 records no holdout identity" in warning
