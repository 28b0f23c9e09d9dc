"""The release replay (tools/replay.py): its checks before it starts a server, and its exit
status and last line from the verdict."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from gradient_boosting_model import ModelError, __version__, load_card
from gradient_boosting_model.config import ALL_LABELLED, load_config
from gradient_boosting_model.holdout_identity import HoldoutMismatchError
from gradient_boosting_model.persistence import (
    artifact_path,
    holdout_model_path,
    load_metadata,
    twin_path,
    twin_version,
)
from gradient_boosting_model.versions import is_after

import tools.replay
from tools.challengers import write_challenger
from tools.replay import (
    HOLDOUT_MISMATCH,
    Side,
    check_models,
    conclusion,
    holdout,
    main,
    measured_side,
)


def _sides(challenger: Path, champion: Path | None = None) -> tuple[Side, Side]:
    """The replay's two sides for these files (``champion`` ``None``: the packaged model)."""
    return measured_side("challenger", challenger), measured_side("champion", champion)


def _copied(path: Path, folder: Path) -> Path:
    """The artifact at ``path`` and its metadata copied into ``folder``, with its twin's files
    where it has a twin; the copy's path."""
    copy = folder / path.name
    pairs = [
        (path, copy),
        *([(twin_path(path), twin_path(copy))] if twin_path(path).is_file() else []),
    ]
    for source, target in pairs:
        shutil.copy(source, target)
        shutil.copy(source.with_suffix(".json"), target.with_suffix(".json"))
    return copy


def _with_twin(folder: Path) -> Path:
    """A model of the packaged version fitted on the holdout too, its twin beside it, in
    ``folder``: the packaged model and its twin copied where it has one (``data.served_fit``
    ``all_labelled``); else, the packaged model being fitted on the training split, as a twin
    is, its copy labelled as the twin (``twin_version``) beside a copy said to be fitted on
    every labelled house, whose metadata records the twin's digest. What the replay does with
    such a model does not hang on the config the package was trained with."""
    config = load_config()
    packaged = artifact_path(config)
    if twin_path(packaged).is_file():
        return _copied(packaged, folder)
    copy, twin = folder / packaged.name, twin_path(folder / packaged.name)
    shutil.copy(packaged, copy)
    shutil.copy(packaged, twin)
    metadata = load_metadata(config)
    twin_metadata = {**metadata, "model_version": twin_version(metadata["model_version"])}
    twin.with_suffix(".json").write_text(json.dumps(twin_metadata), encoding="utf-8")
    digest = hashlib.sha256(twin.read_bytes()).hexdigest()
    model_metadata = {**metadata, "fitted_on": ALL_LABELLED, "twin_sha256": digest}
    copy.with_suffix(".json").write_text(json.dumps(model_metadata), encoding="utf-8")
    return copy


def test_a_challenger_of_the_champions_version_is_refused_in_one_sentence(
    tmp_path: Path,
) -> None:
    """After a release's wheel is installed, the packaged model is the challenger itself: the
    replay's server refused to start, in an 87-line traceback that blamed the challenger (a
    probe's)."""
    packaged = artifact_path(load_config())
    with pytest.raises(ValueError, match=r"is version .*, as the packaged model .* is: give"):
        check_models(*_sides(packaged))
    copy = _copied(packaged, tmp_path)
    with pytest.raises(ValueError, match=re.escape(f"as --champion {copy} is")):
        check_models(*_sides(packaged, copy))
    with pytest.raises(ModelError, match=re.escape("nope.json")):
        _sides(tmp_path / "nope.joblib")


def _release_before(folder: Path, version: str = "0.3.8") -> Path:
    """The release before the packaged one as its file was: the model the holdout measures
    (0.4.0's twin answers as 0.3.8 to the last bit), under ``version``, its metadata without
    ``fitted_on`` and ``houses_fitted`` (written since 0.4.0)."""
    config = load_config()
    measured = holdout_model_path(config)
    path = folder / artifact_path(config, version=version).name
    shutil.copy(measured, path)
    metadata = load_metadata(config, path=measured.with_suffix(".json"))
    del metadata["fitted_on"], metadata["houses_fitted"]
    path.with_suffix(".json").write_text(
        json.dumps({**metadata, "model_version": version}), encoding="utf-8"
    )
    return path


def test_each_side_is_measured_by_the_model_the_holdout_measures_for_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release's replay, 0.4.0 against 0.3.8: 0.4.0 was fitted on the holdout too, so the
    server prices the holdout with its twin (fitted on the training split alone) in its
    place, and says so on a line; 0.3.8, fitted on the training split, is replayed itself.
    Served, 0.4.0 would score on houses it was fitted on (no server is started here: the
    files the replay is given are looked at). The model with a twin is the test's own
    (``_with_twin``): the packaged one has none if trained with ``data.served_fit``
    ``training_split``."""
    paired = _with_twin(tmp_path)
    before = _release_before(tmp_path)
    served: list[tuple[Path, Path | None]] = []

    def replayed(challenger: Path, champion: Path | None = None, **_: Any) -> dict[str, Any]:
        served.append((challenger, champion))
        return {**_compared("same"), "model_version": "0.4.0+twin", "champion_version": "0.3.8"}

    monkeypatch.setattr(tools.replay, "replay", replayed)
    assert main(["--challenger", str(paired), "--champion", str(before)]) == 0
    twin = twin_path(paired)
    assert served == [(twin, before)]
    version, twins_version = (load_card(path)["version"] for path in (paired, twin))
    assert version == __version__ and twins_version == f"{version}+twin"
    assert load_card(before)["fitted_on"] == "training_split"
    # The twin and the release before it are told apart by the service (their versions
    # differ), and the release is after the one before it, its twin's label or not.
    assert is_after(version, "0.3.8") and is_after(twins_version, "0.3.8")
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("replay: challenger")]
    assert line == (
        f"replay: challenger {version} (the challenger {paired}) was fitted on the holdout "
        f"too: its twin {twins_version}, fitted on the training split alone, is replayed in "
        f"its place ({twin})"
    )
    assert "replay: champion" not in err  # 0.3.8 is replayed itself
    # The champion by default, the packaged model, is replaced by the model the holdout
    # measures for it: its twin, where it was fitted on the holdout too, and said so.
    config = load_config()
    packaged, measured = artifact_path(config), holdout_model_path(config)
    challenger = write_challenger(tmp_path, version=f"{version}+replayed")
    assert main(["--challenger", str(challenger)]) == 0
    assert served[-1] == (challenger, measured)
    replaced = config.data.served_fit == ALL_LABELLED
    assert measured == (twin_path(packaged) if replaced else packaged)
    assert ("replay: champion" in capsys.readouterr().err) == replaced


def test_a_model_fitted_on_the_holdout_without_its_twin_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alone = _with_twin(tmp_path)
    for twin_file in (twin_path(alone), twin_path(alone).with_suffix(".json")):
        twin_file.unlink()
    before = _release_before(tmp_path)
    assert main(["--challenger", str(alone), "--champion", str(before)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"error: model {alone} was fitted on the holdout too")
    assert error.endswith(f"is missing: {twin_path(alone)}\n")


def test_a_model_s_twin_is_not_replayed_against_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The twin's file named as the challenger of its own model: both sides are the twin,
    and the service would compare it with itself."""
    model = _with_twin(tmp_path)
    twin = twin_path(model)
    with pytest.raises(ValueError, match=r"both measured by version .*\+twin"):
        check_models(*_sides(twin, model))
    assert main(["--challenger", str(twin), "--champion", str(model)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.integration
@pytest.mark.server
def test_the_release_replayed_against_the_one_before_is_its_twin_against_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through a real server: 0.4.0 against 0.3.8 (here its twin relabelled 0.3.8, as the
    released 0.3.8's file answers alike to the last bit) is 0.4.0's twin against it: the
    same, exit status 0; what this holds is that the server is given the twin. Replayed
    itself, 0.4.0, fitted on the holdout's houses, was judged better on them (measured here:
    RMSLE 0.0870 against 0.1135, -0.0265, 90% interval -0.0339 to -0.0213), a gain the
    holdout cannot measure. The model with a twin is the test's own (``_with_twin``)."""
    paired = _with_twin(tmp_path)
    before = _release_before(tmp_path)
    assert main(["--challenger", str(paired), "--champion", str(before)]) == 0
    out = capsys.readouterr().out
    compared = json.loads(out[: out.rindex("}") + 1])
    twins_version = load_card(twin_path(paired))["version"]
    assert twins_version == twin_version(__version__)
    assert (compared["model_version"], compared["champion_version"]) == (twins_version, "0.3.8")
    assert compared["verdict"] == "same" and compared["sales"] == len(holdout()[0])
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith(f"replay: the same: {twins_version} answered every house as 0.3.8 did")
    )


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
    compared = json.loads(out[: out.rindex("}") + 1])
    assert compared["sales"] == len(holdout()[0])
    # The champion served is the model the holdout measures for the packaged one.
    assert compared["champion_version"] == load_card(holdout_model_path(load_config()))["version"]


def test_a_challenger_before_the_champion_is_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two files swapped (``CHALLENGER=old CHAMPION=new``): a probe's worse release,
    replayed as the champion of the version before it, was judged ``better`` with exit status
    0 (RMSLE -0.0008, interval -0.0015 to -0.0002). Refused before a server starts."""
    older = _challenger(tmp_path, version="0.0.1", recorded=True)
    with pytest.raises(ValueError, match=r"is version 0\.0\.1, before \d"):
        check_models(*_sides(older))
    assert main(["--challenger", str(older)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "--challenger" in error and "--champion" in error
    # A labelled build of the champion's number comes after it (tools/challengers.py's).
    labelled = _challenger(tmp_path, version=f"{__version__}+trial", recorded=True)
    assert check_models(*_sides(labelled)) == []


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
    """The model the holdout measures for the packaged one (its twin, where it was fitted on
    the holdout too) as another ``version``, its holdout record kept (``recorded``), changed by
    ``holdout_split``, or removed when none is given (a model trained before it was kept)."""
    config = load_config()
    measured = holdout_model_path(config)
    path = folder / artifact_path(config, version=version).name
    shutil.copy(measured, path)
    metadata = {
        **load_metadata(config, path=measured.with_suffix(".json")),
        "model_version": version,
    }
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
        check_models(*_sides(other))
    assert main(["--challenger", str(other)]) == HOLDOUT_MISMATCH == 3
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert re.search(r"the holdout read now, 263 houses .*split_seed 42, ", error)
    assert re.search(r"was measured on, 263 houses .*split_seed 7, .*Ids sha256 0{12}", error)


def test_a_challenger_without_the_record_is_said_so(tmp_path: Path) -> None:
    (warning,) = check_models(*_sides(_challenger(tmp_path)))
    assert "the challenger" in warning and "0.9.9 records no holdout identity" in warning


def test_the_help_says_what_the_replay_is_and_its_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new user's: ``--help`` cut its description mid-sentence ("the new model as the") and
    said no exit status, which decide a release."""
    with pytest.raises(SystemExit) as ended:
        tools.replay.main(["--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert ended.value.code == 0
    assert "side-by-side verdict. options:" in said
    assert "Exit status: 1 when the challenger is ``worse``" in said
    assert "Exit status 3:" in said
