"""A whole job: its inputs planned, its chunks run, prices and rejects written, counts checked.

Every row of every input is accounted for: each chunk's priced, rejected and blank rows must add
up to the rows planned for it, each row number once, or the job stops: a bug here, not bad data,
unless an input changed while the job read it (each file's size and modification time are noted
when it is planned, and looked at again when a chunk fails), which is said instead. The rejected
share is checked at the end: above the limit, the rejects file is kept (it says why) and the
prices are not written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from gradient_boosting_model import __version__
from gradient_boosting_model.batch.errors import (
    BatchError,
    ChunkError,
    InputFileError,
    OutputFileError,
    TooManyRejectsError,
)
from gradient_boosting_model.batch.repeated_ids import IdTally
from gradient_boosting_model.batch.report import JobReport
from gradient_boosting_model.batch.results import ChunkResult
from gradient_boosting_model.batch.settings import JobSettings
from gradient_boosting_model.batch.sources import (
    Chunk,
    FileStamp,
    file_stamp,
    file_stamps,
    find_inputs,
    plan_chunks,
    spread_row_groups,
)
from gradient_boosting_model.batch.writing import (
    PRICES,
    REJECTS,
    TableWriter,
    output_format,
    reject_columns,
    with_source,
)

if TYPE_CHECKING:
    from gradient_boosting_model.batch.running import Runner


@dataclass(frozen=True)
class Plan:
    """The input files and their chunks."""

    files: list[Path]
    chunks: list[Chunk]
    #: What an input folder held besides its CSV and Parquet files (``Inputs.left_out``).
    left_out: list[str]
    #: Each file's size and modification time when it was planned, by ``Chunk.source``.
    stamps: dict[str, FileStamp]

    @property
    def rows(self) -> int:
        return sum(chunk.span.rows for chunk in self.chunks)

    def changed(self) -> list[str]:
        """The files whose size or modification time is no longer what was planned."""
        return [source for source, was in self.stamps.items() if file_stamp(Path(source)) != was]


def plan_job(settings: JobSettings) -> Plan:
    """Check the outputs and plan the inputs, before any cluster starts."""
    for path, what in ((settings.output, "prices"), (settings.rejects, "rejects")):
        output_format(path, what)
    written = {settings.output.resolve(), settings.rejects.resolve()}
    if len(written) == 1:
        raise OutputFileError(f"{settings.output}: the prices and the rejects need two files")
    inputs = find_inputs(settings.input)
    for file in inputs.files:
        if file.resolve() in written:
            raise OutputFileError(f"{file}: an input cannot be an output too")
    stamps = file_stamps(inputs.files)  # first: a change while the chunks are planned counts
    return Plan(
        files=inputs.files,
        chunks=plan_chunks(inputs.files, settings.batch_rows),
        left_out=inputs.left_out,
        stamps=stamps,
    )


def any_priced(rows: npt.NDArray[np.int64], rejected: set[int]) -> bool:
    """Whether any ``rejected`` row is among the priced ``rows`` (ascending): a binary search of
    each rejected row, where ``np.isin`` sorted the chunk's rows (2 ms a chunk, most with none)."""
    if not rejected or not len(rows):
        return False
    wanted = np.fromiter(rejected, dtype=np.int64, count=len(rejected))
    at = np.searchsorted(rows, wanted).clip(max=len(rows) - 1)
    return bool((rows[at] == wanted).any())


def check_result(chunk: Chunk, result: ChunkResult) -> None:
    """Each of the chunk's rows once: priced, rejected or blank."""
    span = chunk.span
    rows = result.prices.column("row").to_numpy()
    rows_in_span = ((span.first_row <= rows) & (rows < span.first_row + span.rows)).all()
    rejected_rows = {reject.row for reject in result.rejects}
    counted = result.scored + len(rejected_rows) + result.blank
    if (
        result.index != chunk.index
        or counted != span.rows
        or not (np.diff(rows) > 0).all()
        or not rows_in_span
        or any_priced(rows, rejected_rows)  # rows ascending: checked above
    ):
        raise ChunkError(
            f"{chunk.source}, rows {span.first_row}-{span.first_row + span.rows - 1}: "
            f"{span.rows} rows planned, {result.scored} priced, {result.rejected} rejected, "
            f"{result.blank} blank: rows lost or repeated (a bug in score-houses)"
        )
    if result.model_version != __version__:
        raise ChunkError(
            f"{chunk.source}: worker {result.worker} has model version {result.model_version}, "
            f"this client {__version__}"
        )


def run_job(
    settings: JobSettings,
    plan: Plan,
    runner: Runner,
    *,
    on_chunk: Callable[[int], object] = lambda rows: None,
) -> JobReport:
    """Score the plan's chunks with ``runner`` and write both outputs; ``on_chunk`` gets each
    chunk's row count as it is written (a progress bar). Raises ``TooManyRejectsError`` above the
    rejected share, with the rejects written; any ``BatchError`` carries the report so far."""
    report = JobReport(
        files=len(plan.files),
        runner=runner.description,
        output=settings.output,
        rejects=settings.rejects,
    )
    start = time.perf_counter()
    ids = IdTally()
    with (
        TableWriter(settings.output, PRICES, what="prices") as prices,
        TableWriter(settings.rejects, REJECTS, what="rejects") as rejects,
        _reporting(report, start),
        _blaming_changed_inputs(plan),
    ):
        chunks = spread_row_groups(plan.chunks, runner.parallel, settings.batch_rows)
        # Closed on any exit, so that a cluster cancels the chunks still in flight.
        with closing(runner.results(chunks, batch_rows=settings.batch_rows)) as results:
            for chunk, result in zip(chunks, results, strict=True):
                check_result(chunk, result)
                if result.scored:
                    prices.write_table(with_source(chunk.source, result.prices))
                    ids.add(chunk.source, result.prices.column("Id"))
                if result.rejects:
                    rejects.write(reject_columns(chunk.source, result.rejects))
                rejected = result.rejected
                report.scored += result.scored
                report.rejected += rejected
                report.blank += result.blank
                report.rows_by_worker[result.worker] += result.scored + rejected
                on_chunk(chunk.span.rows)
        report.seconds = time.perf_counter() - start
        report.repeated_ids = ids.repeated()
        rejects.commit()
        if report.rejected_share > settings.max_rejected:
            prices.discard()
            raise TooManyRejectsError(
                f"{report.rejected_share:.2%} of the houses were rejected, more than the "
                f"{settings.max_rejected:.2%} allowed (--max-rejected): see {settings.rejects}; "
                f"no prices written to {settings.output}{_left_as_it_was(settings.output)}"
            )
        prices.commit()
    return report


@contextmanager
def _reporting(report: JobReport, start: float) -> Iterator[None]:
    """Give a ``BatchError`` that stops the job (a chunk failed, a file could not be written,
    too many rejects) the job's report so far, for the summary line."""
    try:
        yield
    except BatchError as error:
        if not report.seconds:
            report.seconds = time.perf_counter() - start
        error.report = report
        raise


@contextmanager
def _blaming_changed_inputs(plan: Plan) -> Iterator[None]:
    """A chunk that failed, or whose rows did not add up, while an input changed (truncated or
    rewritten as the job read it) is the file's doing, said so: it was blamed as a bug here."""
    try:
        yield
    except ChunkError as error:
        changed = plan.changed()
        if not changed:
            raise
        raise InputFileError(
            f"{changed[0]} changed while it was read (its size or modification time differs): "
            "run again on a file that stays put"
        ) from error


def _left_as_it_was(output: Path) -> str:
    """Said of a prices file a refused job did not write, where an earlier one is: lest it be
    read as this job's, beside this job's rejects."""
    return " (the file there is an earlier run's, left as it was)" if output.exists() else ""
