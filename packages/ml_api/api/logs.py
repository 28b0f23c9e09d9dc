"""Structured logs: one JSON object a line, each with the request id; configured once.

The application's records and gunicorn's and uvicorn's own go through the same formatter
(``gunicorn.conf.py`` hands it to gunicorn). Whole houses are never logged at INFO: a request's
line carries its route, status, row count and duration.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from api.request_context import current_request

FIELDS = "{asctime}{levelname}{name}{message}{request_id}"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


class ServiceJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, with the current request id on every record."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", FIELDS)
        kwargs.setdefault("style", "{")
        kwargs.setdefault("rename_fields", RENAMED)
        super().__init__(*args, **kwargs)

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
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h.formatter, ServiceJsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(ServiceJsonFormatter())
        root.addHandler(handler)


#: gunicorn's ``logconfig_dict``: its own and uvicorn's logs as JSON lines too.
GUNICORN_LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": ServiceJsonFormatter}},
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}
