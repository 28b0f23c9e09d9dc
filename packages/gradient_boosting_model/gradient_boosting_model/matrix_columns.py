"""The columns of a 2-D array by name, as a read-only mapping: a column is a view made when
asked for, and several are taken at once (``stacked``) without making any one of them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


class MatrixColumns(Mapping[str, npt.NDArray[Any]]):
    """Column ``positions[name]`` of ``matrix`` under ``name``; ``positions`` is shared, not
    copied (one per compiled pipeline, however many batches)."""

    def __init__(self, matrix: npt.NDArray[Any], positions: Mapping[str, int]) -> None:
        self.matrix = matrix
        self.positions = positions

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        return self.matrix[:, self.positions[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __contains__(self, name: object) -> bool:
        return name in self.positions

    def take(self, names: Sequence[str]) -> npt.NDArray[Any]:
        """The columns ``names`` side by side, (rows x names)."""
        return self.matrix.take([self.positions[name] for name in names], axis=1)


def stacked(columns: Mapping[str, npt.NDArray[Any]], names: Sequence[str]) -> npt.NDArray[Any]:
    """The columns ``names`` of ``columns`` side by side, (rows x names), as float64."""
    if isinstance(columns, MatrixColumns):
        return np.asarray(columns.take(names), dtype=np.float64)
    return np.column_stack([columns[name] for name in names]).astype(np.float64)
