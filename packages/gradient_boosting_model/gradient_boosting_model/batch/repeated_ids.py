"""Ids given to more than one priced house of a file: the prices are joined back to the houses
by ``Id``, and a repeated one would join two prices to each of its houses without a word.

Both houses are priced (the API prices a batch repeating an ``Id`` too: it is the client's
label); the command counts them and names the first, per file, as a file's Ids are its own
(two files may both number their houses from 1: the output's ``source`` tells them apart).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa


@dataclass(frozen=True)
class Repeated:
    """The Ids given to more than one priced house, over every file."""

    #: Distinct Ids repeated within their file, in all.
    ids: int
    #: The first such Id, and its file (``None`` when none is).
    example: tuple[int, str] | None


#: No Id repeated (or none counted yet).
NONE_REPEATED = Repeated(0, None)


@dataclass
class IdTally:
    """The priced houses' Ids of each file, chunk after chunk."""

    _by_source: defaultdict[str, list[npt.NDArray[np.int64]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, source: str, ids: pa.ChunkedArray | pa.Array) -> None:
        """A chunk's ``Id`` column (nulls, houses without an Id, left out)."""
        given = ids.drop_null()
        if len(given):
            self._by_source[source].append(given.to_numpy())

    def repeated(self) -> Repeated:
        count, example = 0, None
        for source, chunks in self._by_source.items():
            found, times = np.unique(np.concatenate(chunks), return_counts=True)
            twice = found[times > 1]
            count += twice.size
            if example is None and twice.size:
                example = (int(twice[0]), source)
        return Repeated(count, example)
