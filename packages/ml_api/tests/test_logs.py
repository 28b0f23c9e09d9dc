"""The log formatter (api/logs.py): its short way for plain records writes, byte for byte, what
python-json-logger's own ``format`` writes."""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path
from typing import Any

import psycopg._pipeline as psycopg_pipeline
import psycopg._pipeline_base as psycopg_pipeline_base
import pytest
from psycopg import OperationalError
from psycopg.errors import PipelineAborted
from pythonjsonlogger.core import BaseJsonFormatter

from api.logs import (
    GUNICORN_SOCKET_CLOSE,
    PSYCOPG_PIPELINE_EXIT,
    UVICORN_PARSER_REFUSAL,
    ServiceJsonFormatter,
    UpstreamNoiseFilter,
)
from api.request_context import RequestContext, close_request, open_request


def _record(msg: Any, *args: Any, **extra: Any) -> logging.LogRecord:
    return logging.getLogger("api.access").makeRecord(
        "api.access", logging.INFO, __file__, 1, msg, args, None, extra=extra or None
    )


RECORDS = {
    "access line": lambda: _record(
        "%s %s %s",
        "POST",
        "/v1/predictions",
        200,
        route="/v1/predictions",
        method="POST",
        status=200,
        rows=1,
        duration_ms=1.234,
    ),
    "plain": lambda: _record("model loaded"),
    "odd extras": lambda: _record(
        "x %d",
        3,
        path=Path("/tmp/a"),
        fields=[{"row": 0, "field": "LotArea"}],
        _hidden=1,
        time="an extra named as a renamed field",
    ),
    "unicode": lambda: _record("prix \u00e9lev\u00e9 %s", "\u20ac"),
}


@pytest.mark.parametrize("make", RECORDS.values(), ids=RECORDS.keys())
@pytest.mark.parametrize("stamped", [False, True], ids=["id from the context", "id stamped"])
def test_the_short_way_writes_what_the_library_writes(make: Any, stamped: bool) -> None:
    """With the record factory of ``configure_logging`` a record carries its id; without it
    (a test's records), the formatter reads the request's."""
    formatter = ServiceJsonFormatter()
    token = open_request(RequestContext(id="abc-1", route="/v1/predictions"))
    try:
        record = make()
        if stamped:
            record.request_id = "abc-1"
        short = formatter.format(record)
        del record.message, record.asctime
        if not stamped:
            del record.request_id
        library = BaseJsonFormatter.format(formatter, record)
    finally:
        close_request(token)
    assert short == library
    assert json.loads(short)["request_id"] == "abc-1"


def test_the_time_is_formatted_as_format_time_does() -> None:
    formatter = ServiceJsonFormatter()
    for created in (1_700_000_000.0, 1_700_000_000.999, 1_700_000_001.5, 1_700_000_000.25):
        record = _record("tick")
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert json.loads(formatter.format(record))["time"] == formatter.formatTime(record)


def _logged(name: str, msg: str, *args: Any) -> logging.LogRecord:
    return logging.getLogger(name).makeRecord(name, logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("record", "kept"),
    [
        (lambda: _logged("uvicorn.error", UVICORN_PARSER_REFUSAL), False),
        (lambda: _logged("uvicorn.error", "Shutting down"), True),
        (
            lambda: _logged(
                "gunicorn.error", GUNICORN_SOCKET_CLOSE, "[Errno 9] Bad file descriptor"
            ),
            False,
        ),
        # Any other failure to close a socket is still said.
        (
            lambda: _logged(
                "gunicorn.error", GUNICORN_SOCKET_CLOSE, "[Errno 5] Input/output error"
            ),
            True,
        ),
        (lambda: _logged("api.access", UVICORN_PARSER_REFUSAL), True),
        (
            lambda: _logged(
                "psycopg", PSYCOPG_PIPELINE_EXIT, "<pipeline>", PipelineAborted("pipeline aborted")
            ),
            False,
        ),
        # Any other error ending a pipeline is still said.
        (
            lambda: _logged(
                "psycopg", PSYCOPG_PIPELINE_EXIT, "<pipeline>", OperationalError("connection lost")
            ),
            True,
        ),
    ],
    ids=[
        "parser refusal",
        "uvicorn other",
        "socket closed twice",
        "socket close failed",
        "ours",
        "pipeline ended after its error",
        "pipeline end failed",
    ],
)
def test_only_the_upstream_lines_that_say_nothing_are_left_out(record: Any, kept: bool) -> None:
    assert UpstreamNoiseFilter().filter(record()) is kept


def test_psycopg_says_an_aborted_pipeline_as_the_filter_reads_it() -> None:
    """Fingerprint of the psycopg warning ``UpstreamNoiseFilter`` leaves out: its logger, its
    words, and that the pipeline's end raises ``PipelineAborted`` after a failed statement."""
    assert psycopg_pipeline.logger.name == "psycopg"
    source = inspect.getsource(psycopg_pipeline)
    assert f'logger.warning("{PSYCOPG_PIPELINE_EXIT}", self, exc2)' in source
    assert 'raise e.PipelineAborted("pipeline aborted")' in inspect.getsource(psycopg_pipeline_base)
