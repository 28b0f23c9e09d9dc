"""The shipped datasets read against the house schema: a column that is no house field (a field
removed from ``schemas.py`` and left in the data) stops training in one line naming it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gradient_boosting_model import data, train
from gradient_boosting_model.config import DATASET_DIR, Config
from gradient_boosting_model.errors import DatasetError
from gradient_boosting_model.fields import count
from gradient_boosting_model.schemas import HOUSE_FIELDS


@pytest.fixture
def renamed_column(config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The training file in a datasets folder of its own, its ``Heating`` column renamed (as
    if the field were removed from the schema): a code column, which was parsed as a number."""
    text = (DATASET_DIR / config.data.training_file).read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    assert ",Heating," in header
    (tmp_path / config.data.training_file).write_text(
        header.replace(",Heating,", ",HeatingType,") + "\n" + rest, encoding="utf-8"
    )
    monkeypatch.setattr(data, "DATASET_DIR", tmp_path)
    return tmp_path


def test_a_column_that_is_no_house_field_is_named(config: Config, renamed_column: Path) -> None:
    with pytest.raises(DatasetError) as refusal:
        data.split_holdout(config)
    assert str(refusal.value) == (
        f"{config.data.training_file} has columns that are no house field of the schema "
        "(schemas.HOUSE_FIELDS): HeatingType; remove them from the data, or declare them in "
        "the schema"
    )


def test_the_real_datasets_fit_the_schema(config: Config) -> None:
    assert len(data.read_dataset(config.data.training_file, target=config.data.target)) == 1314
    # The target is a column of the training file only.
    with pytest.raises(DatasetError, match=r": SalePrice;"):
        data.read_dataset(config.data.training_file)
    assert len(data.read_dataset(config.data.requests_file)) == 1459


def test_training_stops_in_one_line_before_it_starts(
    renamed_column: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=train.__name__):
        assert train.main() == 2
    (record,) = caplog.records
    assert "HeatingType" in record.getMessage()


def test_a_house_field_the_training_file_gives_no_value_of_is_named(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field added to the schema alone (a contributor's trial) trained a model that could not
    learn it, and the service then took a client's value of it without a word."""
    added = {**HOUSE_FIELDS, "MadeUpSolarPanels": count("Number of solar panels", maximum=200)}
    monkeypatch.setattr(data, "HOUSE_FIELDS", added)
    with pytest.raises(DatasetError) as refusal:
        data.split_holdout(config)
    assert str(refusal.value).startswith(
        f"{config.data.training_file} gives no value of house fields of the schema "
        "(schemas.HOUSE_FIELDS): MadeUpSolarPanels; the model cannot learn a field without data"
    )
    # The requests file is read as clients send houses: any of them may leave a field out.
    assert len(data.read_dataset(config.data.requests_file)) == 1459
