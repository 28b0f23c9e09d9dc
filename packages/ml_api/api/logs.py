"""Structured logs: one JSON object a line, each with the request id; configured once.

The application's records and gunicorn's and uvicorn's own go through the same formatter
(``gunicorn.conf.py`` hands it to gunicorn). Whole houses are never logged at INFO: a request's
line carries its route, status, row count and duration.
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any

import orjson
from psycopg.errors import PipelineAborted
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from api.request_context import current_request

FIELDS = "{asctime}{levelname}{name}{message}{request_id}"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
#: What a record carries that is not an ``extra`` field (python-json-logger's rule: its
#: reserved attributes, the fields above, and names starting with ``_``).
_NOT_EXTRA = frozenset(RESERVED_ATTRS) | {"request_id", "color_message"}


class ServiceJsonFormatter(OrjsonFormatter):
    """python-json-logger's formatter (its orjson one), with the current request id on every
    record, and a short way for the plain records that make most of the lines.

    A record with no exception, no stack and a text message (every access line, one a
    request) is written here directly: the same fields, in the same order, as the library's
    ``format`` writes them, which spent about 20 us a line (its field walk, its renames, a
    ``strftime`` for each line) of the 45 us a request's ``logger.info`` took.
    tests/test_log_privacy.py checks both ways give the same object, key for key.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", FIELDS)
        kwargs.setdefault("style", "{")
        kwargs.setdefault("rename_fields", RENAMED)
        super().__init__(*args, **kwargs)
        #: The last second formatted (``time.strftime``), and its text.
        self._second: tuple[int, str] = (-1, "")
        # The short way writes these fields only: anything else configured goes the long way.
        self._short = (
            kwargs["fmt"] == FIELDS
            and kwargs["rename_fields"] == RENAMED
            and not self.defaults
            and not self.static_fields
            and not self.timestamp
            and not self.prefix
            and not self.rename_fields_keep_missing
            and self.datefmt is None
            and self.default_msec_format == "%s,%03d"
        )

    def format(self, record: logging.LogRecord) -> str:
        if (
            not self._short
            or record.exc_info
            or record.exc_text
            or record.stack_info
            or isinstance(record.msg, dict)
        ):
            return super().format(record)
        record.message = message = record.getMessage()
        request_id = record.__dict__.get("request_id")
        if request_id is None:
            request_id = record.request_id = _current_id()
        log_data: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "request_id": request_id,
        }
        for key, value in record.__dict__.items():
            if key not in _NOT_EXTRA and not (isinstance(key, str) and key.startswith("_")):
                log_data[key] = value
        return orjson.dumps(
            log_data, default=self.json_default, option=orjson.OPT_NON_STR_KEYS
        ).decode()

    def _time(self, record: logging.LogRecord) -> str:
        """``formatTime``'s text (``2026-12-03 22:49:27,123``), its seconds made once a second."""
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (
                second,
                time.strftime(self.default_time_format, self.converter(record.created)),
            )
        record.asctime = text = f"{cached[1]},{int(record.msecs):03d}"  # formatTime's "%s,%03d"
        return text

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        if not hasattr(record, "request_id"):
            record.request_id = _current_id()
        super().add_fields(log_data, record, message_dict)
        log_data.pop("color_message", None)  # uvicorn's copy of the message with terminal colours


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = _current_id()
    return record


def _current_id() -> str:
    context = current_request()
    return context.id if context is not None else "-"


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the whole process, every record stamped with the request id;
    calling it again changes only the level."""
    logging.setLogRecordFactory(_record_with_request_id)
    logging.captureWarnings(True)  # a library's warning is a JSON line too, not raw text
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h.formatter, ServiceJsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(ServiceJsonFormatter())
        root.addHandler(handler)


#: What uvicorn logs of a request its parser refused, before any id exists for it.
UVICORN_PARSER_REFUSAL = "Invalid HTTP request received."
#: What uvicorn logs of an ``Upgrade`` request it does not upgrade (the workers speak no
#: WebSocket, ``api.worker``): the request is answered by the app, and logged by it, as any other.
UVICORN_UNSUPPORTED_UPGRADE = (
    "Unsupported upgrade request.",
    "No supported WebSocket library detected. Please use \"pip install 'uvicorn[standard]'\", "
    "or install 'websockets' or 'wsproto' manually.",
)
#: uvicorn's lines left out (a tuple: a record's ``msg`` may be no string, nor hashable).
_UVICORN_NOISE = (UVICORN_PARSER_REFUSAL, *UVICORN_UNSUPPORTED_UPGRADE)
#: What gunicorn logs when a listening socket it closes was closed already: at every worker's
#: shutdown, after uvicorn's event loop closed the socket's descriptor itself (benoitc/gunicorn
#: issues 1877 and 3013; harmless, but an "Error" in every deployment's log).
GUNICORN_SOCKET_CLOSE = "Error while closing socket %s"
#: What psycopg logs when a pipeline whose statement failed is left (a sale that lost a race
#: to another, whose ``IntegrityError`` the service answers with 422): the pipeline's end
#: fails too, "pipeline aborted", said as a warning beside the error it does not hide.
PSYCOPG_PIPELINE_EXIT = "error ignored terminating %r: %s"


class UpstreamNoiseFilter(logging.Filter):
    """Leaves out the lines of the servers under the service that say nothing to act on:

    - uvicorn's warning of a request its parser refused: the connection guard answers that
      request itself (``send_400_response``, api/connection_guard.py) with an id, and logs its
      access line under the id; uvicorn's line, written before the id existed, said the same
      with none;
    - uvicorn's two warnings of an ``Upgrade`` request it does not upgrade
      (``UVICORN_UNSUPPORTED_UPGRADE``): the app answers and logs it as any other request;
    - gunicorn's "Error while closing socket [Errno 9] Bad file descriptor" as a worker shuts
      down (``GUNICORN_SOCKET_CLOSE``); any other error closing a socket is kept;
    - psycopg's warning that an aborted pipeline could not be ended, after the error that
      aborted it (``PSYCOPG_PIPELINE_EXIT``), which the service handles: a probe saw one for
      every 30 sales that lost a race. Any other error ending a pipeline is kept.

    (tests/test_connection_limits.py and tests/test_server_faults.py fail if their words
    change.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error":
            return record.msg not in _UVICORN_NOISE
        if record.name == "gunicorn.error" and record.msg == GUNICORN_SOCKET_CLOSE:
            reason = record.args[0] if isinstance(record.args, tuple) and record.args else ""
            return not str(reason).startswith(f"[Errno {errno.EBADF}]")
        if record.name == "psycopg" and record.msg == PSYCOPG_PIPELINE_EXIT:
            args = record.args if isinstance(record.args, tuple) else ()
            return not (len(args) == 2 and isinstance(args[1], PipelineAborted))
        return True


#: gunicorn's ``logconfig_dict``: its own and uvicorn's logs as JSON lines too.
GUNICORN_LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": ServiceJsonFormatter}},
    "filters": {"upstream_noise": {"()": UpstreamNoiseFilter}},
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
            "filters": ["upstream_noise"],
        },
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}
