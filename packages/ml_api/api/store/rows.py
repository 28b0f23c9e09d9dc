"""Rows of numbers read from the store, as numpy columns."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def float_columns(rows: Sequence[Sequence[Any]], width: int) -> FloatArray:
    """``rows`` of ``width`` numbers each as ``width`` columns (a 2-D array, a column a row),
    read in one pass in C: no Python float a value kept, nor a numpy probe of each row."""
    values = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=width * len(rows))
    return values.reshape(len(rows), width).T
