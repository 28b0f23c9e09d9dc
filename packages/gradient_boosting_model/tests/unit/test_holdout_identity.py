"""The holdout's identity, and the check that a tool reads the holdout a model was measured on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gradient_boosting_model.config import Config
from gradient_boosting_model.data import LabelledSplit
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.holdout_identity import (
    HoldoutIdentity,
    HoldoutMismatchError,
    check_holdout,
    holdout_identity,
)

ROWS: list[dict[str, Any]] = [
    {"Id": 7, "GrLivArea": 896, "BsmtQual": None, "SalePrice": 105000},
    {"Id": 3, "GrLivArea": 1329, "BsmtQual": "TA", "SalePrice": 172000.5},
    {"Id": 12, "GrLivArea": 1629, "BsmtQual": "Gd", "SalePrice": 189900},
]


def _identity(rows: list[dict[str, Any]], config: Config) -> HoldoutIdentity:
    return holdout_identity(LabelledSplit(train=[], holdout=rows, excluded=[]), config)


def test_the_identity_is_of_the_houses_whatever_their_order(config: Config) -> None:
    identity = _identity(ROWS, config)
    assert identity.houses == 3
    assert identity.split_seed == config.data.split_seed
    assert re.fullmatch(r"[0-9a-f]{64}", identity.ids_sha256)
    assert identity == _identity(ROWS[::-1], config)
    assert HoldoutIdentity.from_json(identity.to_json()) == identity
    assert check_holdout(identity, identity.to_json(), measured="model 0.3.4") is None


def test_other_houses_or_rows_are_refused_naming_both(config: Config) -> None:
    identity = _identity(ROWS, config)
    other_houses = _identity([*ROWS[:2], {**ROWS[2], "Id": 13}], config)
    edited = _identity([*ROWS[:2], {**ROWS[2], "SalePrice": 189901}], config)
    assert edited.ids_sha256 == identity.ids_sha256
    for recorded in (other_houses, edited):
        with pytest.raises(HoldoutMismatchError) as refused:
            check_holdout(identity, recorded.to_json(), measured="model 0.3.4")
        message = str(refused.value)
        assert "\n" not in message
        assert f"the holdout read now, {identity}, is not the one model 0.3.4 was" in message
        assert f"measured on, {recorded}:" in message


def test_settings_alone_do_not_make_another_holdout(config: Config) -> None:
    """A renamed file or another seed that happened to draw the same houses measures the same
    houses: the settings are kept to say what changed, the digests decide."""
    identity = _identity(ROWS, config)
    renamed = {**identity.to_json(), "training_file": "renamed.csv", "split_seed": 7}
    assert check_holdout(identity, renamed, measured="model 0.3.4") is None


def test_a_model_without_the_record_is_said_so_and_passed(config: Config) -> None:
    identity = _identity(ROWS, config)
    warning = check_holdout(identity, None, measured="model 0.3.3")
    assert warning is not None and warning.startswith("model 0.3.3 records no holdout identity")
    assert str(identity) in warning


def test_a_record_missing_a_key_is_a_model_error(config: Config) -> None:
    record = _identity(ROWS, config).to_json()
    del record["rows_sha256"]
    with pytest.raises(ModelError, match="a holdout record unreadable"):
        check_holdout(_identity(ROWS, config), record, measured="model 0.3.4")
