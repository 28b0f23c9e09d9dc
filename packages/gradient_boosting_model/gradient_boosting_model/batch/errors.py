"""Why a batch job stopped: each error's message is what the command prints, without a traceback."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gradient_boosting_model.errors import ModelError

if TYPE_CHECKING:  # the command imports this first, before it may be interrupted (numpy)
    from gradient_boosting_model.batch.report import JobReport


class BatchError(ModelError):
    """A batch job could not run or did not finish; the message says why, for a person.

    ``report`` holds the job's counts when it stopped while scoring.
    """

    report: JobReport | None = None


class InputFileError(BatchError):
    """An input is missing, in a format that is not CSV or Parquet, not house details, or
    changed while the job read it."""


class OutputFileError(BatchError):
    """An output path cannot be written: wrong extension, missing folder, or an input file."""


class ClusterError(BatchError):
    """The scheduler cannot be reached, has no workers, or its workers cannot score."""


class ChunkError(BatchError):
    """A chunk failed as a whole (not one of its rows): an unreadable file, a dead worker."""


class TooManyRejectsError(BatchError):
    """More houses were rejected than the job allows; the rejects file says which and why."""


def os_reason(error: OSError) -> str:
    """What went wrong with a file, as the system says it (``Permission denied``), without
    Python's framing of it, or Arrow's (``Error writing bytes to file. Detail: [errno 28] No
    space left on device``: its errors carry the system's number)."""
    return os.strerror(error.errno) if error.errno else error.strerror or str(error)
