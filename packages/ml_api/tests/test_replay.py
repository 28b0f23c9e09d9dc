"""The release replay's checks before it starts a server (tools/replay.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from gradient_boosting_model import ModelError
from gradient_boosting_model.config import load_config
from gradient_boosting_model.persistence import artifact_path

from tools.replay import check_models


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
