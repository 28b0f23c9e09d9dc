"""The folder where every process of one server writes its Prometheus metrics, claimed once.

prometheus-client's multiprocess mode reads ``PROMETHEUS_MULTIPROC_DIR`` when first imported,
and each process writes its values in files there: one folder per server, made here unless the
environment names one, and emptied of an earlier run's files (they would be added up too).

Once per master process: gunicorn reads its config file again on SIGHUP, replacing the workers
while the app stays loaded (``preload_app``). Emptying the folder then deleted the master's own
files (the model's info, the training figures: never written again) and the live workers'
counts. This module is imported once a process, so a reload finds the folder claimed.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT_NAME = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class MetricsFolder:
    path: Path
    #: Made for this server (and removed when it exits), not named by the environment.
    own: bool

    def remove(self) -> None:
        """Remove the folder if it is this server's own."""
        if self.own:
            shutil.rmtree(self.path, ignore_errors=True)


@functools.cache
def claim_metrics_folder() -> MetricsFolder:
    """The server's metrics folder, ready and empty the first time it is asked for in a
    process; the same folder, untouched, every time after."""
    own = ENVIRONMENT_NAME not in os.environ
    if own:
        os.environ[ENVIRONMENT_NAME] = tempfile.mkdtemp(prefix="ml_api_metrics_")
    path = Path(os.environ[ENVIRONMENT_NAME])
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):  # prometheus-client's files, nothing else
        stale.unlink()
    return MetricsFolder(path=path, own=own)
