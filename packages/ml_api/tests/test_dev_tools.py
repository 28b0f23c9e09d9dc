"""The developers' tools (``make spec``, the made-up challenger) refuse what the model package
refuses in one line, exit status 2, not a traceback: a dataset column no house field of the
schema (a probe's) ended ``tools/house_spec.py`` and ``tools/challengers.py`` in
``DatasetError``'s traceback, where training says it in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gradient_boosting_model.errors import DatasetError

from tools import challengers, house_spec

REFUSAL = "test.csv has columns that are no house field of the schema: SolarPanels"


def _refused(*_: Any, **__: Any) -> Any:
    raise DatasetError(REFUSAL)


def test_make_spec_says_a_refused_dataset_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(house_spec, "read_dataset", _refused)
    assert house_spec.main(["--check"]) == 2
    assert capsys.readouterr().err == f"error: {REFUSAL}\n"


def test_the_made_up_challenger_says_a_refused_dataset_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(challengers, "split_holdout", _refused)
    assert challengers.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {REFUSAL}\n"
