"""A job's settings: what to score, where to write it, how strict to be (no heavy imports: the
command reads them before it starts anything)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Format = Literal["csv", "parquet"]
#: The formats of the files read and written, by their names' suffixes, in any case (``.CSV``):
#: INPUT's, OUTPUT's and ``--rejects``' alike.
SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: The suffixes as a person reads them in a message.
SUFFIXES_TEXT = ", ".join(SUFFIXES)

#: Houses priced per call of ``make_prediction``: large enough that its fixed costs vanish.
BATCH_ROWS = 10_000
#: The most houses a chunk may hold (``--chunk-rows``): a worker holds a few chunks at once, each
#: as text and as columns, about 1 KB a house.
MAX_BATCH_ROWS = 1_000_000
#: The rejected share above which a job fails, by default.
MAX_REJECTED = 0.01


@dataclass(frozen=True)
class JobSettings:
    """What to score, where to write it, and how strict to be."""

    input: str
    output: Path
    rejects: Path
    batch_rows: int = BATCH_ROWS
    max_rejected: float = MAX_REJECTED


def file_format(path: Path) -> Format | None:
    """A file's format by its name's suffix, whatever its case (``.CSV`` too)."""
    return SUFFIXES.get(path.suffix.lower())


def suffixes_of(kind: Format) -> str:
    """The suffixes of a format's files, as a message or ``--help`` names them."""
    return " or ".join(suffix for suffix, found in SUFFIXES.items() if found == kind)


def default_rejects(output: Path) -> Path:
    """``prices.parquet`` -> ``prices.rejects.csv``."""
    return output.with_name(f"{output.stem}.rejects.csv")
