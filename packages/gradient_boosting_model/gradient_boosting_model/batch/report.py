"""The counts of a batch job: what the command prints, and what a ``BatchError`` carries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gradient_boosting_model.batch.repeated_ids import NONE_REPEATED, Repeated


@dataclass
class JobReport:
    """The counts of a job, so far or in all."""

    files: int
    runner: str
    output: Path
    rejects: Path
    scored: int = 0
    rejected: int = 0
    blank: int = 0
    seconds: float = 0.0
    rows_by_worker: Counter[str] = field(default_factory=Counter)
    #: Ids given to more than one priced house of a file (``repeated_ids``); none until counted.
    repeated_ids: Repeated = NONE_REPEATED

    @property
    def total(self) -> int:
        return self.scored + self.rejected

    @property
    def rejected_share(self) -> float:
        return self.rejected / self.total if self.total else 0.0

    def summary(self) -> str:
        rate = f", {self.total / self.seconds:,.0f} houses/s" if self.seconds > 0 else ""
        blank = f", {self.blank} blank lines skipped" if self.blank else ""
        return (
            f"scored {self.scored}, rejected {self.rejected}, total {self.total} houses "
            f"({self.rejected_share:.2%} rejected) from {self.files} "
            f"file{'s' * (self.files != 1)} in {self.seconds:.1f} s{rate}, {self.runner}{blank}"
            f"{self._repeated()}"
        )

    def _repeated(self) -> str:
        repeated = self.repeated_ids
        if repeated.example is None:  # no Id repeated
            return ""
        first, source = repeated.example
        return (
            f"; {repeated.ids} Id{'s' * (repeated.ids != 1)} given to more than one house of "
            f"a file, each priced (the first: Id {first} in {source}): join the prices back "
            "by source and row"
        )

    def workers(self) -> str:
        return ", ".join(f"{worker} {rows}" for worker, rows in sorted(self.rows_by_worker.items()))
