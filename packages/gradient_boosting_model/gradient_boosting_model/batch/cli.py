"""``score-houses``: price files of houses on a Dask cluster; see ``score-houses --help``.

Exit status: see ``command.EXIT_STATUSES``. The command's entry point is ``command.run``, which
imports this module: an interrupt while it does is the command's too.

Worker processes that a local cluster spawns import the command's main module again (this one
under ``python -m``): it imports the model's code only when it scores in this process, so that
they start in about a second and load the model in ``prepare_workers``, all at once.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gradient_boosting_model.batch.cluster import (
    CONNECT_TIMEOUT,
    local_cluster,
    machine_workers,
    prepare_workers,
    remote_cluster,
    start_worker_server,
)
from gradient_boosting_model.batch.command import (
    EXIT_DONE,
    EXIT_FAILED,
    EXIT_STATUSES,
    INTERRUPTED,
    PROGRAM,
    Terminated,
    exit_status,
)
from gradient_boosting_model.batch.errors import BatchError, os_reason
from gradient_boosting_model.batch.settings import (
    BATCH_ROWS,
    MAX_BATCH_ROWS,
    MAX_REJECTED,
    SUFFIXES_TEXT,
    Format,
    JobSettings,
    default_rejects,
    suffixes_of,
)
from gradient_boosting_model.batch.signals import handlers, in_main_thread

if TYPE_CHECKING:
    from gradient_boosting_model.batch.report import JobReport
    from gradient_boosting_model.batch.running import Runner

DESCRIPTION = """\
Price every house in CSV or Parquet files with the packaged model, in chunks, on a Dask cluster:
a local one sized to this machine, or the one at --scheduler (whose workers must see INPUT at the
same path and have this package installed). Writes each house's Id, price, 90% range and
warnings to OUTPUT, in input order; invalid rows go to the rejects file with their file, row,
field and message, as the API words them.
"""


def _share(text: str) -> float:
    """``0.01`` or ``1%``."""
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a share: {text!r} (say 0.01 or 1%)") from None
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1 (0% and 100%)")
    return share


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return number


def _input(text: str) -> str:
    """INPUT: anything but nothing (``''`` was read as the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"no file, folder or glob: {text!r}")
    return text


def _file_name(text: str) -> Path:
    """An output file's path: one that names a file (``.``, ``/`` and ``''`` name none)."""
    path = Path(text)
    if not text or path.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"not a file name: {text!r}")
    return path


def _chunk_rows(text: str) -> int:
    """``--chunk-rows``: from 1 to ``MAX_BATCH_ROWS`` (a number past int64 overflowed)."""
    rows = _positive(text)
    if rows > MAX_BATCH_ROWS:
        raise argparse.ArgumentTypeError(f"more than {MAX_BATCH_ROWS} rows a chunk: {text!r}")
    return rows


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return seconds


def _exit_statuses() -> str:
    """``EXIT_STATUSES`` as --help shows them."""
    return "exit status:\n" + "\n".join(
        f"  {status:<4} {meaning}" for status, meaning in EXIT_STATUSES.items()
    )


def _formats(first: Format) -> str:
    """An output's formats as --help names them, with every suffix taken
    (``settings.SUFFIXES``), its default first."""
    names: dict[Format, str] = {"parquet": "Parquet", "csv": "CSV"}
    second: Format = "csv" if first == "parquet" else "parquet"
    return (
        f"a {names[first]} file ({suffixes_of(first)}), or {names[second]} "
        f"({suffixes_of(second)}), in any case"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=DESCRIPTION,
        epilog=_exit_statuses(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        type=_input,
        help=f"a file ({SUFFIXES_TEXT}, in any case), a folder of them, or a glob",
    )
    parser.add_argument(
        "output", metavar="OUTPUT", type=_file_name, help=f"prices: {_formats('parquet')}"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler, such as tcp://10.0.0.5:8786 (default: start a local cluster)",
    )
    where.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="worker processes of the local cluster "
        f"(default: one a core, here {machine_workers()})",
    )
    where.add_argument(
        "--in-process", action="store_true", help="score in this process, without Dask"
    )
    parser.add_argument(
        "--rejects",
        type=_file_name,
        metavar="FILE",
        help=f"invalid rows: {_formats('csv')} (default: OUTPUT's stem + .rejects.csv: "
        "prices.parquet, prices.rejects.csv)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=_chunk_rows,
        default=BATCH_ROWS,
        metavar="N",
        help=f"houses a task prices in one call (default: {BATCH_ROWS}, at most {MAX_BATCH_ROWS})",
    )
    parser.add_argument(
        "--max-rejected",
        type=_share,
        default=MAX_REJECTED,
        metavar="SHARE",
        help="fail the job when more than this share of houses is rejected, as 0.05 or 5%% "
        f"(default: {MAX_REJECTED:.0%}%); the rejects are written, the prices not",
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=CONNECT_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a scheduler, or on its first worker, after this long "
        f"(default: {CONNECT_TIMEOUT:g})",
    )
    return parser


def _quiet_dask() -> None:
    """Dask's logs at CRITICAL only: its client logs its retries, and with tracebacks its
    errors (a scheduler lost: two), which reach the job as a chunk's failure, said in one line.
    Dask's own configuration gives some of its loggers levels of their own (distributed.client
    among them), which their parent's does not override: each is set."""
    import distributed  # noqa: F401  # its loggers, as its configuration made them

    for name in list(logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@contextmanager
def _runner(args: argparse.Namespace) -> Iterator[Runner]:
    from gradient_boosting_model.batch.running import InProcess, OnCluster

    if args.in_process:
        yield InProcess()
        return
    _quiet_dask()
    start = time.perf_counter()
    with ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(
                remote_cluster(args.scheduler, timeout=args.connect_timeout)
            )
            where = f"at {args.scheduler}"
        else:
            client = stack.enter_context(local_cluster(args.workers or machine_workers()))
            where = "on a local cluster"
        prepare_workers(client)
        runner = OnCluster(client)
        runner.description = (
            f"{runner.description} {where} (ready in {time.perf_counter() - start:.1f} s)"
        )
        yield runner


def _progress(total: int) -> Any:
    """A tqdm bar on stderr when it is a terminal (tqdm is untyped)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        desc=PROGRAM,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )


class StreamError(Exception):
    """The command's stdout or stderr cannot be written (``> /dev/full``): said on stderr (when
    it can be), exit 1."""


def _say(line: str, stream: TextIO | None = None) -> None:
    """Print ``line`` to ``stream`` (stdout by default), and nothing more to it once its reader
    is gone (``score-houses ... | head -1``): the job's files are written whatever it prints,
    and a ``BrokenPipeError`` traceback made a job done look failed. Any other failure to write
    it (a disk full) raises ``StreamError``."""
    stream = stream if stream is not None else sys.stdout
    try:
        print(line, file=stream, flush=True)
    except OSError as error:
        # Python flushes the stream again at exit: point it at nothing first (as its docs on
        # SIGPIPE advise), and let it be closed as a stream gone.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        if not isinstance(error, BrokenPipeError):
            name = "standard error" if stream is sys.stderr else "standard output"
            raise StreamError(f"{name}: {os_reason(error)}") from None


def _print_report(report: JobReport | None) -> None:
    if report is not None:
        _say(f"{PROGRAM}: {report.summary()}")
        if any(worker != "in-process" for worker in report.rows_by_worker):
            _say(f"{PROGRAM}: rows by worker: {report.workers()}")


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the cleanup is not cut short
    raise Terminated


def _terminated_as_interrupted() -> AbstractContextManager[None]:
    """SIGTERM raises ``Terminated`` while the command runs (in the main thread, where a
    handler can be set)."""
    return handlers({signal.SIGTERM: _terminate})


def _redeliver(unraisable: Any) -> None:
    """``sys.unraisablehook``: an interrupt raised where Python cannot raise it (in an object's
    ``__del__``, as a Dask future's when it is let go) was printed as "Exception ignored", and
    lost; its signal is sent again, to be raised where it can be."""
    stop = unraisable.exc_value
    if not isinstance(stop, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)
    elif isinstance(stop, Terminated):
        signal.signal(signal.SIGTERM, _terminate)  # ignored since: a first one again
        signal.raise_signal(signal.SIGTERM)
    else:
        signal.raise_signal(signal.SIGINT)


@contextmanager
def _interrupts_redelivered() -> Iterator[None]:
    """``_redeliver`` while the command runs (in the main thread, where signals are handled)."""
    if not in_main_thread():
        yield
        return
    previous, sys.unraisablehook = sys.unraisablehook, _redeliver
    try:
        yield
    finally:
        sys.unraisablehook = previous


def main(argv: Sequence[str] | None = None) -> int:
    """The command (``score-houses --help``); returns its exit status (``EXIT_STATUSES``)."""
    try:
        with _terminated_as_interrupted(), _interrupts_redelivered():
            return _main(argv)
    except StreamError as error:
        with suppress(StreamError):  # stderr itself: the status says it
            _say(f"{PROGRAM}: error: {error}", sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as stop:  # anywhere: its imports of the job's code too
        with suppress(StreamError):
            _say(INTERRUPTED, sys.stderr)
        return exit_status(stop)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if not (args.in_process or args.scheduler):
        # First: the process that forks the local cluster's workers imports their code while
        # this one imports its own (numpy, Arrow, Dask).
        start_worker_server()
    from gradient_boosting_model.batch.job import plan_job, run_job
    from gradient_boosting_model.batch.sources import named

    settings = JobSettings(
        input=args.input,
        output=args.output,
        rejects=args.rejects or default_rejects(args.output),
        batch_rows=args.chunk_rows,
        max_rejected=args.max_rejected,
    )
    report = None
    try:
        plan = plan_job(settings)
        if plan.left_out:
            _say(f"{PROGRAM}: left out of {args.input} (not {SUFFIXES_TEXT}, hidden, or "
                 f"folders): {named(plan.left_out)}", sys.stderr)  # fmt: skip
        with _runner(args) as runner, _progress(plan.rows) as progress:
            report = run_job(settings, plan, runner, on_chunk=progress.update)
    except KeyboardInterrupt:
        if report is None:
            raise
        # The job is done, its files written: an interrupt while its cluster stopped is none.
    except BatchError as error:
        _print_report(error.report)
        _say(f"{PROGRAM}: error: {error}", sys.stderr)
        return EXIT_FAILED
    _print_report(report)
    _say(f"{PROGRAM}: prices in {report.output}, rejects in {report.rejects}")
    return EXIT_DONE


if __name__ == "__main__":  # python -m gradient_boosting_model.batch.cli
    from gradient_boosting_model.batch.command import run

    run()
