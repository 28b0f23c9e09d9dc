"""Problem details (RFC 7807) for invalid houses, from the spec's and the model's checks alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus

from connexion.exceptions import ProblemException

#: Seconds a client is asked to wait (``Retry-After``) when a worker refuses it for being busy.
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True, order=True)
class FieldError:
    """One invalid value: the house's index in the request, the field, and what is wrong."""

    row: int | None
    field: str | None
    message: str


class InvalidHousesProblem(ProblemException):  # type: ignore[misc]
    """The request's houses are invalid; ``errors`` lists every bad field and its row.

    400 when they break the spec's schema; 422 when they match it but break a house-level rule
    that only the model's schema knows. At most ``listed_limit`` errors are listed; give one
    more to say that the list is cut short.
    """

    def __init__(
        self,
        errors: Iterable[FieldError],
        *,
        listed_limit: int,
        detail_limit: int,
        status: int = 400,
    ) -> None:
        unique = _first_per_field(errors)
        cut = len(unique) > listed_limit
        listed = unique[:listed_limit]
        super().__init__(
            status=status,
            title=HTTPStatus(status).phrase,
            detail=describe(listed, limit=detail_limit, cut=cut),
            ext={"errors": [asdict(error) for error in listed]},
        )


def _first_per_field(errors: Iterable[FieldError]) -> list[FieldError]:
    """One error per row and field, the first found (a value of the wrong type is not also
    reported as outside the enum), sorted by row then field."""
    first: dict[tuple[int | None, str | None], FieldError] = {}
    for error in errors:
        first.setdefault((error.row, error.field), error)
    return sorted(first.values(), key=lambda e: (e.row is not None, e.row or 0, e.field or ""))


def describe(errors: list[FieldError], *, limit: int, cut: bool = False) -> str:
    """A one-line summary naming the first ``limit`` errors."""
    rows = {error.row for error in errors if error.row is not None}
    parts = []
    for error in errors[:limit]:
        where = [f"row {error.row}"] if error.row is not None else []
        where += [error.field] if error.field else []
        parts.append(f"{', '.join(where)}: {error.message}" if where else error.message)
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    plural = "s" if len(errors) != 1 else ""
    count = (
        f"more than {len(errors)} invalid fields" if cut else f"{len(errors)} invalid field{plural}"
    )
    if cut:
        more += f" (only the first {len(errors)} are listed)"
    noun = "house" if len(rows) == 1 else "houses"
    prefix = f"{count} in {len(rows)}{'+' if cut else ''} {noun}" if rows else count
    return f"{prefix}: {'; '.join(parts)}{more}"


def from_row_errors(errors: Mapping[int, Mapping[str, list[str]]]) -> list[FieldError]:
    """Field errors from the model package's ``InvalidInputError.errors``."""
    return [
        FieldError(row=row, field=None if field == "_schema" else field, message=message)
        for row, fields in errors.items()
        for field, messages in fields.items()
        for message in messages
    ]
