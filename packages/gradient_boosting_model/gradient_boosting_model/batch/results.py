"""What a worker hands back for a chunk (``ChunkResult``).

Its own module, apart from ``scoring``, which imports the model's code: the client unpickles a
result for each chunk, and its class's module with it, and the client never needs the model
(importing it took a second of the command's start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradient_boosting_model.batch.reading import Reject


@dataclass
class ChunkResult:
    """What a worker hands back for a chunk: its prices, its rejects and their counts."""

    index: int
    #: The priced houses, in row order: a ``pyarrow.Table`` of ``writing.PRICED``'s columns.
    prices: Any
    #: One per refused field and message, in row order.
    rejects: list[Reject]
    blank: int
    #: The worker that scored it (its address), or ``in-process``.
    worker: str
    model_version: str

    @property
    def scored(self) -> int:
        return int(self.prices.num_rows)

    @property
    def rejected(self) -> int:
        """Rows rejected (a row may have several rejects)."""
        return len({reject.row for reject in self.rejects})
