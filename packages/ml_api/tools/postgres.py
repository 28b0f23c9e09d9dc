"""A throwaway PostgreSQL server on 127.0.0.1, for tests and benchmarks of the prediction store.

Debian's ``postgresql`` package (the Makefile's ``test-tools`` installs it when missing) has its
programs in ``/usr/lib/postgresql/<version>/bin``. ``initdb`` refuses to run as root, so as root
the server is made and run as the ``postgres`` user (``runuser``), in a folder it owns. Trust
authentication on a loopback port: nothing but this machine reaches it, and it lives only as
long as the ``with`` block.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools.server import free_port


def server_bin() -> Path | None:
    """Where Debian keeps PostgreSQL's server programs (the newest version), if installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parent)
    return found[-1].parent if found else None


@dataclass
class Postgres:
    """A server made by ``running``: its URL, and a way to stop and start it (fault tests)."""

    bin: Path
    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


def _as_owner(command: list[str]) -> list[str]:
    """``command`` as the ``postgres`` user when this process is root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def running() -> Iterator[Postgres]:
    """A fresh server for the ``with`` block, stopped and removed after it.

    Raises
    ------
    FileNotFoundError
        If PostgreSQL's server is not installed (``make test-tools`` installs it).
    """
    found = server_bin()
    if found is None:
        raise FileNotFoundError("PostgreSQL's server is not installed: apt-get install postgresql")
    folder = Path(tempfile.mkdtemp(prefix="ml_api_postgres_"))
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        server = Postgres(bin=found, data=folder / "data", port=free_port(), log=folder / "log")
        subprocess.run(
            _as_owner([str(found / "initdb"), "-D", str(server.data), "-A", "trust", "-U",
                       "postgres", "--no-sync"]),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
