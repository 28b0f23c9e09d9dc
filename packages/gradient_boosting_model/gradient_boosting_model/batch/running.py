"""Chunks run in this process or on a Dask cluster, their results handed back in chunk order.

On a cluster a window of chunks is in flight at a time (a few per worker thread), so that the
workers never wait for the client while the client holds only the window's results, however
large the job. Results come back in order: the first chunk's is waited for while the others go
on, and the output is written in input order as it arrives.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Protocol

from gradient_boosting_model.batch.errors import ChunkError
from gradient_boosting_model.batch.results import ChunkResult
from gradient_boosting_model.batch.sources import Chunk

if TYPE_CHECKING:
    from distributed import Client, Future

Results = Generator[ChunkResult, None, None]

#: Chunks in flight per worker thread.
CHUNKS_PER_THREAD = 3


class Runner(Protocol):
    """Runs chunks somewhere and yields their results in chunk order."""

    #: Where, for the summary: "in this process", "2 workers".
    description: str
    #: Chunks scored at once (a cluster's threads): what a large Parquet row group is cut into.
    parallel: int

    def results(self, chunks: Sequence[Chunk], *, batch_rows: int) -> Results: ...


def score_chunk(chunk: Chunk, *, batch_rows: int) -> ChunkResult:
    """``scoring.score_chunk``, the task a worker runs, imported where it runs: the client that
    submits it by name (and unpickles its ``ChunkResult``) never imports the model's code."""
    from gradient_boosting_model.batch.scoring import score_chunk as score

    return score(chunk, batch_rows=batch_rows)


def _failed(chunk: Chunk, error: BaseException) -> ChunkError:
    """The chunk's failure in one line (Dask's messages run over several: a lost scheduler's)."""
    last = chunk.span.first_row + chunk.span.rows - 1
    said = " ".join(str(error).split())
    return ChunkError(
        f"{chunk.source}, rows {chunk.span.first_row}-{last}: the chunk failed "
        f"({type(error).__name__}: {said})"
    )


Score = Callable[..., ChunkResult]


class InProcess:
    """Every chunk scored here, one after the other, by ``score`` (``score_chunk``, or the
    JSON path ``score_chunk_as_houses`` that batch-bench compares it with): no Dask at all."""

    description = "in this process"
    parallel = 1

    def __init__(self, score: Score = score_chunk) -> None:
        self.score = score

    def results(self, chunks: Sequence[Chunk], *, batch_rows: int) -> Results:
        for chunk in chunks:
            try:
                result = self.score(chunk, batch_rows=batch_rows)
            except (OSError, ValueError) as error:  # a file gone or changed (pyarrow errors too)
                raise _failed(chunk, error) from error
            yield result


class OnCluster:
    """Chunks scored by a Dask cluster's workers, through ``client``."""

    def __init__(self, client: Client) -> None:
        self.client = client
        threads = sum(client.nthreads().values())
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        self.window = max(2, CHUNKS_PER_THREAD * threads)
        self.parallel = threads
        self.description = f"{workers} worker{'s' * (workers != 1)}, {threads} threads"

    def results(self, chunks: Sequence[Chunk], *, batch_rows: int) -> Results:
        job = uuid.uuid4().hex[:8]
        waiting = enumerate(chunks)
        running: deque[tuple[Chunk, Future[ChunkResult]]] = deque()

        def submit_next() -> None:
            position, chunk = next(waiting, (-1, None))
            if chunk is not None:
                key = f"score-houses-{job}-{position}"  # unique in the job, whatever the chunk
                future = self.client.submit(score_chunk, chunk, batch_rows=batch_rows, key=key)
                running.append((chunk, future))

        for _ in range(self.window):
            submit_next()
        try:
            while running:
                chunk, future = running.popleft()
                try:
                    result = future.result()
                except Exception as error:  # raised on a worker: any type, re-raised here
                    raise _failed(chunk, error) from error
                submit_next()
                yield result
        finally:  # stopped early: the job failed or was interrupted
            if running and self.client.status == "running":
                self.client.cancel([future for _, future in running])
