"""Errors the model package raises: one base class, narrow subclasses."""

from __future__ import annotations

from collections.abc import Mapping

#: Errors of a refused batch: row index -> field name -> messages.
RowErrors = Mapping[int, Mapping[str, list[str]]]


class ModelError(Exception):
    """Base class of every error raised on purpose by this package."""


class ConfigError(ModelError):
    """``config.yml`` is missing, unreadable, or has a wrong or missing key."""


class ModelArtifactError(ModelError):
    """The persisted model is missing or cannot be loaded; the message names the file."""


class DatasetError(ModelError):
    """A dataset shipped in the package does not fit the house schema; the message names the
    file and the columns."""


class InvalidInputError(ModelError):
    """A batch of house details was refused; ``errors`` lists every bad row and field.

    A batch with any invalid row is refused whole, so that no row is ever dropped in silence.
    ``complete`` is false when the listing stopped at a caller's bound (``max_errors``):
    then ``errors`` holds the first invalid rows, and later rows were not all looked at.
    """

    def __init__(
        self, errors: RowErrors, message: str | None = None, *, complete: bool = True
    ) -> None:
        self.errors: dict[int, dict[str, list[str]]] = {
            row: {field: list(messages) for field, messages in fields.items()}
            for row, fields in sorted(errors.items())
        }
        self.complete = complete
        if message is None:
            count = len(self.errors)
            rows = f"{count} invalid row{'s' if count != 1 else ''}"
            message = f"{rows} in the batch" if complete else f"{rows} listed, the first ones"
            message += _first_errors(self.errors)
        super().__init__(message)


#: Invalid fields a refusal's message names (``errors`` holds them all): what a traceback or a
#: log line shows of it.
NAMED_IN_MESSAGE = 3


def _first_errors(errors: RowErrors) -> str:
    """``: row 0, GrLivArea: Not a valid number.; ...`` for the first ``NAMED_IN_MESSAGE``
    invalid fields, and how many more ``errors`` holds; nothing for none."""
    fields = [
        f"row {row}, {field}: {' '.join(messages)}"
        for row, by_field in errors.items()
        for field, messages in by_field.items()
    ]
    if not fields:
        return ""
    more = len(fields) - NAMED_IN_MESSAGE
    tail = f"; {more} more in .errors" if more > 0 else ""
    return ": " + "; ".join(fields[:NAMED_IN_MESSAGE]) + tail
