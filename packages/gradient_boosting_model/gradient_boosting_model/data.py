"""The datasets shipped in the package, read with Ames' own conventions, and the holdout split."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from gradient_boosting_model.config import DATASET_DIR, Config


@dataclass(frozen=True)
class LabelledSplit:
    """Training rows and the labelled holdout that training never sees."""

    train: pd.DataFrame
    holdout: pd.DataFrame


def read_dataset(file_name: str) -> pd.DataFrame:
    """Read a CSV from the package's ``datasets/``.

    Only ``NA`` marks a missing value: pandas' defaults would also read MasVnrType's real
    code ``None`` as missing.
    """
    return pd.read_csv(DATASET_DIR / file_name, keep_default_na=False, na_values=["NA"])


def split_holdout(config: Config) -> LabelledSplit:
    """Split the training file, once and reproducibly, into train and holdout.

    Houses above ``max_living_area`` are left out of both, as the data's author advises.
    """
    data = config.data
    frame = read_dataset(data.training_file)
    frame = frame[frame["GrLivArea"] <= data.max_living_area]
    train, holdout = train_test_split(
        frame, test_size=data.holdout_fraction, random_state=data.split_seed
    )
    return LabelledSplit(train=train.reset_index(drop=True), holdout=holdout.reset_index(drop=True))


def features_and_target(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.Series]:
    """The house details and the sale price of a labelled frame."""
    target = config.data.target
    return frame.drop(columns=[target]), frame[target]


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-shaped dicts, as a client would send them.

    Missing values become ``None``; a float column whose values are all whole numbers (an
    integer column that pandas widened to hold NaN) gives back ints.
    """
    columns: list[list[Any]] = []
    for name in frame.columns:
        values = frame[name].tolist()
        present = [v for v in values if not _is_missing(v)]
        whole = bool(present) and all(isinstance(v, float) and v.is_integer() for v in present)
        columns.append([None if _is_missing(v) else int(v) if whole else v for v in values])
    names = [str(name) for name in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
