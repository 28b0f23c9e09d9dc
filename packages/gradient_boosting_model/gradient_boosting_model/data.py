"""The datasets shipped in the package, read as clients send houses, and the holdout split.

Rows are JSON-shaped dicts (``None`` for missing), read with the csv module: the package needs
no pandas to train or to predict.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.config import DATASET_DIR, TRAINING_SPLIT, Config, FittedOn
from gradient_boosting_model.errors import DatasetError
from gradient_boosting_model.fields import JsonNumber
from gradient_boosting_model.schemas import HOUSE_FIELDS, ID_FIELD

Row = dict[str, Any]

#: The marker of a missing value in the Ames files (MasVnrType's code "None" is a real value).
MISSING = "NA"


@dataclass(frozen=True)
class LabelledSplit:
    """Training rows and the labelled holdout that training never sees."""

    train: list[Row]
    holdout: list[Row]
    #: Labelled houses kept out of both (above ``max_living_area``): never trained on, but
    #: priced in cross-validation, as clients may send such houses.
    excluded: list[Row]


def _is_text(column: str) -> bool:
    field = HOUSE_FIELDS.get(column)
    return field is not None and not isinstance(field, JsonNumber)


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def read_dataset(file_name: str, *, target: str | None = None) -> list[Row]:
    """The rows of a CSV in the package's ``datasets/``, JSON-shaped.

    ``NA`` becomes ``None``; house-detail codes stay strings; every other value is a number,
    an int when it is whole.

    Raises
    ------
    DatasetError
        If a column is none of the schema's house fields, the ``Id`` or the ``target``: a
        field removed from ``schemas.py`` (a probe's) made training fail on its first code
        ("could not convert string to float: 'GasA'") or on every row ("1048 invalid rows in
        the batch"), naming no column. With a ``target`` (the labelled file training reads),
        also if a house field has no value in it: a field added to ``schemas.py`` alone (a
        contributor's trial) trained a model that could not learn it, and the service then
        took a client's value of it without a word.
    """
    with (DATASET_DIR / file_name).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        unknown = [c for c in header if c not in HOUSE_FIELDS and c not in (ID_FIELD, target)]
        if unknown:
            raise DatasetError(
                f"{file_name} has columns that are no house field of the schema "
                f"(schemas.HOUSE_FIELDS): {', '.join(unknown)}; remove them from the data, or "
                "declare them in the schema"
            )
        parsers = [(lambda text: text) if _is_text(column) else _number for column in header]
        rows = [
            {
                column: None if text == MISSING else parse(text)
                for column, parse, text in zip(header, parsers, values, strict=True)
            }
            for values in reader
        ]
    if target is not None:
        given = {column for row in rows for column, value in row.items() if value is not None}
        if unknown := [name for name in HOUSE_FIELDS if name not in given]:
            raise DatasetError(
                f"{file_name} gives no value of house fields of the schema "
                f"(schemas.HOUSE_FIELDS): {', '.join(unknown)}; the model cannot learn a field "
                "without data: add its values to the data (and to the requests file, whose "
                "first value of each field is its example in the API's spec), or remove it "
                "from the schema"
            )
    return rows


def split_holdout(config: Config) -> LabelledSplit:
    """Split the training file, once and reproducibly, into train and holdout.

    Houses above ``max_living_area`` are left out of both, as the data's author advises.
    """
    from sklearn.model_selection import train_test_split  # reading rows needs no scikit-learn

    data = config.data
    rows = read_dataset(data.training_file, target=data.target)
    kept = [row for row in rows if row["GrLivArea"] <= data.max_living_area]
    train, holdout = train_test_split(
        kept, test_size=data.holdout_fraction, random_state=data.split_seed
    )
    excluded = [row for row in rows if row["GrLivArea"] > data.max_living_area]
    return LabelledSplit(train=train, holdout=holdout, excluded=excluded)


def fitted_split(split: LabelledSplit, fitted_on: FittedOn) -> LabelledSplit:
    """What a model fitted on ``fitted_on`` is fitted on (its ``train``): ``split`` itself, or,
    for ``all_labelled``, every labelled house kept (the holdout in training, none left out)."""
    if fitted_on == TRAINING_SPLIT:
        return split
    return replace(split, train=[*split.train, *split.holdout], holdout=[])


def served_split(split: LabelledSplit, config: Config) -> LabelledSplit:
    """What the served model is fitted on (``data.served_fit``: ``fitted_split``)."""
    return fitted_split(split, config.data.served_fit)


def features_and_target(
    rows: list[Row], config: Config
) -> tuple[list[Row], npt.NDArray[np.float64]]:
    """The house details and the sale prices of labelled rows."""
    target = config.data.target
    houses = [{name: value for name, value in row.items() if name != target} for row in rows]
    return houses, np.array([row[target] for row in rows], dtype=np.float64)
