"""Logging, configured once per process at start-up: one line per event, with the request id."""

from __future__ import annotations

import logging
from typing import Any

from api.request_context import request_id

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s request_id=%(request_id)s %(message)s"

_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id.get()
    return record


def configure_logging(level: str) -> None:
    """Stamp every record with the request id and send records to stderr; idempotent."""
    logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h, _ServiceHandler) for h in root.handlers):
        handler = _ServiceHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)


class _ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own handler, told apart so that it is added once."""
