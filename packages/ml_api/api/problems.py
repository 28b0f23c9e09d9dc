"""Problem details (RFC 7807) for invalid houses, from the spec's and the model's checks alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from connexion.exceptions import BadRequestProblem


@dataclass(frozen=True, order=True)
class FieldError:
    """One invalid value: the house's index in the request, the field, and what is wrong."""

    row: int | None
    field: str | None
    message: str


class InvalidHousesProblem(BadRequestProblem):  # type: ignore[misc]
    """400: the request's houses are invalid; ``errors`` lists every bad field and its row."""

    def __init__(self, errors: Iterable[FieldError], *, detail_limit: int = 10) -> None:
        unique = sorted(set(errors), key=lambda e: (e.row is not None, e.row or 0, e.field or ""))
        super().__init__(detail=describe(unique, limit=detail_limit))
        self.ext = {"errors": [asdict(error) for error in unique]}


def describe(errors: list[FieldError], *, limit: int) -> str:
    """A one-line summary naming the first ``limit`` errors."""
    rows = {error.row for error in errors if error.row is not None}
    parts = []
    for error in errors[:limit]:
        where = [f"row {error.row}"] if error.row is not None else []
        where += [error.field] if error.field else []
        parts.append(f"{', '.join(where)}: {error.message}" if where else error.message)
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    noun = "house" if len(rows) == 1 else "houses"
    count = f"{len(errors)} invalid field{'s' if len(errors) != 1 else ''}"
    prefix = f"{count} in {len(rows)} {noun}" if rows else count
    return f"{prefix}: {'; '.join(parts)}{more}"


def from_row_errors(errors: Mapping[int, Mapping[str, list[str]]]) -> list[FieldError]:
    """Field errors from the model package's ``InvalidInputError.errors``."""
    return [
        FieldError(row=row, field=None if field == "_schema" else field, message=message)
        for row, fields in errors.items()
        for field, messages in fields.items()
        for message in messages
    ]


def problem_body(problem: BadRequestProblem) -> dict[str, Any]:
    """The JSON body of a problem, as Connexion would send it."""
    return {
        "type": problem.type or "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **(problem.ext or {}),
    }
