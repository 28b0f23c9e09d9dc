"""Every error the API answers with, as RFC 7807 problem details: one module, one base class.

Each problem carries its status, its title (the status's phrase) and whether its ``detail`` may
be logged: a detail made only of settings and counts may; one that quotes what the client sent
(a value, a field name, the JSON parser's view of the body) may not, and the log gets
``log_reason()`` instead. ``api.errors`` maps them (and Connexion's and Starlette's own) to
``application/problem+json`` in one place; the connection guard, which answers before any
application runs, writes the same bodies itself with ``http_response``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, ClassVar

from connexion.exceptions import ProblemException

from api.request_context import REQUEST_ID_HEADER
from api.security_headers import API_HEADERS

#: Seconds a client is asked to wait (``Retry-After``) when a worker refuses it for being busy.
RETRY_AFTER_SECONDS = 1


class ApiProblem(ProblemException):  # type: ignore[misc]
    """A refusal of this API: a status, its phrase as the title, and a detail."""

    status: int
    #: The status, when a subclass has only one.
    STATUS: ClassVar[int] = 400
    #: The title, where it is not the status's phrase in Python's ``http.HTTPStatus``.
    TITLE: ClassVar[str | None] = None
    #: Whether ``detail`` holds only settings and counts, never anything a client sent.
    DETAIL_IS_LOGGABLE: ClassVar[bool] = False
    #: The detail, when a subclass has only one (it is then raised with no arguments).
    DETAIL: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        ext: dict[str, Any] | None = None,
    ) -> None:
        status = status or self.STATUS
        detail = detail if detail is not None else self.DETAIL
        if detail is None:
            raise TypeError(f"{type(self).__name__} needs a detail")
        super().__init__(
            status=status,
            title=self.TITLE or HTTPStatus(status).phrase,
            detail=detail,
            headers=dict(headers) if headers else None,
            ext=ext,
        )

    def log_reason(self) -> str:
        """What the log says of this refusal: nothing the client sent."""
        return str(self.detail) if self.DETAIL_IS_LOGGABLE else str(self.title)

    def log_fields(self) -> dict[str, Any]:
        """Fields of the refusal's log line beside its reason: nothing the client sent."""
        return {}

    def __str__(self) -> str:
        # What a traceback says of it, wherever one is logged (a server's "Exception in ASGI
        # application"): Starlette's would quote the detail, and with it what the client sent.
        return f"{self.status}: {self.log_reason()}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self})"

    def body(self) -> dict[str, Any]:
        """The problem document, as ``api.errors`` sends it."""
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }

    def http_response(self, request_id: str) -> bytes:
        """A whole HTTP/1.1 response carrying this problem, closing its connection, with the
        date and ``request_id`` as every answer has them: for the connection guard, which
        answers before the application."""
        body = json.dumps(self.body()).encode("ascii")
        headers = {
            "date": formatdate(usegmt=True),
            "content-type": "application/problem+json",
            "content-length": str(len(body)),
            **(self.headers or {}),
            REQUEST_ID_HEADER: request_id,
            **{name.decode(): value.decode() for name, value in API_HEADERS},
            "connection": "close",
        }
        fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = f"HTTP/1.1 {self.status} {self.title}\r\n{fields}\r\n"
        return head.encode("ascii") + body


# Refusals of what a request carries (400, 422): their details quote it.


def quoted(value: str) -> str:
    """A value sent, inside a message of a refusal: in a JSON string's quotes, as the schema's
    messages (jsonschema-rs) quote it, beside which it is listed."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, order=True)
class FieldError:
    """One invalid value: the house's index in the request, the field, and what is wrong."""

    row: int | None
    field: str | None
    message: str


class InvalidHousesProblem(ApiProblem):
    """The request's houses are invalid; ``errors`` lists every error of every bad field (a
    field breaking two rules twice) with its row.

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
        noun: str = "house",
    ) -> None:
        unique = _each_once(errors)
        cut = len(unique) > listed_limit
        listed = unique[:listed_limit]
        more_fields = _field_count(unique) > _field_count(listed)
        super().__init__(
            describe(listed, limit=detail_limit, cut=cut, more_fields=more_fields, noun=noun),
            status=status,
            ext={"errors": [asdict(error) for error in listed]},
        )

    def log_reason(self) -> str:
        count = _field_count(FieldError(**error) for error in self.ext["errors"])
        return f"{self.title}, {count} invalid field{'s' if count != 1 else ''}"


class EmptyBodyProblem(ApiProblem):
    """A request with no body where its operation takes one."""

    DETAIL_IS_LOGGABLE = True

    def __init__(self, row_noun: str | None = None) -> None:
        wanted = f": send a JSON array of {row_noun}s" if row_noun else ""
        super().__init__(f"The request has no body{wanted}.")


class BodyNotJsonProblem(ApiProblem):
    """The body does not parse as JSON (the parser's message quotes it)."""

    def log_reason(self) -> str:
        return "Bad Request: the body is not valid JSON"


class BodyNotTextProblem(ApiProblem):
    """The body is not text in its declared encoding (the decoder's message quotes it)."""

    def log_reason(self) -> str:
        return "Bad Request: the body is not valid text"


class BodyTooDeepProblem(ApiProblem):
    DETAIL_IS_LOGGABLE = True

    def __init__(self, depth: int, limit: int) -> None:
        super().__init__(f"Request body nests {depth} deep, past the limit of {limit}.")


class BodyTooWideProblem(ApiProblem):
    """More arrays and objects, or members of objects, than any body the schema accepts holds:
    refused before it is parsed (3.5 million empty lists in 10 MiB became 280 MB of Python
    objects; 870,000 unknown keys in one house took a worker 16 s to list)."""

    DETAIL_IS_LOGGABLE = True

    def __init__(self, found: int, limit: float, what: str = "arrays and objects") -> None:
        super().__init__(
            f"Request body holds {found} {what}, far past the {limit:.0f} that any body this "
            "operation takes can hold."
        )


class ExplainLimitProblem(ApiProblem):
    """422: the houses are valid; this many explanations is more than one answer carries."""

    STATUS = 422
    DETAIL_IS_LOGGABLE = True

    def __init__(self, limit: int, houses: int) -> None:
        super().__init__(
            f"explain=true takes at most {limit} houses per request; this one has {houses}. "
            "Send them in smaller requests, or without explain."
        )


class FeedbackDisabledProblem(ApiProblem):
    STATUS = 403
    DETAIL_IS_LOGGABLE = True
    DETAIL = "Posting sale prices is not enabled on this server."


class WindowTokenProblem(ApiProblem):
    """A monitoring window asked for by query parameters, without a feedback token: comparing
    two windows that differ by one sale tells that sale's price (a probe recovered 20 of 20)."""

    STATUS = 401
    DETAIL_IS_LOGGABLE = True

    def __init__(self, *, enabled: bool) -> None:
        """``enabled``: the server has feedback tokens (else 403: none can be sent)."""
        reason = (
            "two windows that differ by one sale would tell that sale's price. Send one of the "
            "server's feedback tokens (Authorization: Bearer ...), or ask for the default "
            "window, without parameters"
        )
        if enabled:
            super().__init__(f"A monitoring window asked for needs a feedback token: {reason}.")
        else:
            super().__init__(
                "Monitoring windows asked for are not enabled on this server (no feedback "
                f"token is configured): {reason}.",
                status=403,
            )


class StoreUnavailableProblem(ApiProblem):
    """The prediction store cannot be reached, or did not answer within its bound (a lock
    held elsewhere, a stalled database): nothing was written (or, for a read, computed); come
    back shortly."""

    STATUS = 503
    DETAIL_IS_LOGGABLE = True

    def __init__(self, *, writing: bool = True, timed_out_after: float | None = None) -> None:
        """``writing``: the request would have written (else it read: a monitoring window).
        ``timed_out_after``: the store's bound in seconds (``ML_API_STORE_STATEMENT_TIMEOUT``),
        when a statement was stopped at it; the client is asked to wait as long, since each
        try holds one of the worker's store requests for that long while the store stalls."""
        done = "nothing was written" if writing else "the window was not computed"
        if timed_out_after is None:
            said, retry = "cannot be reached", RETRY_AFTER_SECONDS
        else:
            said = f"did not answer within {timed_out_after:g} s"
            retry = max(RETRY_AFTER_SECONDS, math.ceil(timed_out_after))
        super().__init__(
            f"The prediction store {said}; {done}. Retry shortly.",
            headers={"Retry-After": str(retry)},
        )


class StoreOffProblem(ApiProblem):
    """A sale or the monitoring figures asked of a server that keeps no prediction store: it
    never will, so it is a 403 (the spec's "not enabled on this server", as feedback without
    tokens is), never a 503, whose spec says retry after ``Retry-After`` (a probe's: it was a
    503 with no ``Retry-After``, which a client's retries repeat for ever)."""

    STATUS = 403
    DETAIL_IS_LOGGABLE = True
    DETAIL = (
        "This server keeps no prediction store (ML_API_RECORDING is off): no sale price can "
        "be posted, and no monitoring figure is measured."
    )


class DrainingProblem(ApiProblem):
    """Readiness refused: this worker was told to shut down (api/draining.py). It still
    finishes, and for a moment still takes, requests; it is only no longer ready for more."""

    STATUS = 503
    DETAIL_IS_LOGGABLE = True

    def __init__(self) -> None:
        super().__init__(
            "This worker is shutting down: it finishes the requests it has, and is not ready "
            "for new ones. Send them to another instance.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


# Limits of a request's size, pace and the worker's capacity: their details are settings.


class PayloadTooLargeProblem(ApiProblem):
    STATUS = 413
    TITLE = "Payload Too Large"  # RFC 9110's name; Python's phrase is the older one
    DETAIL_IS_LOGGABLE = True

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than the limit of {limit} bytes.")


class BodyTimeoutProblem(ApiProblem):
    STATUS = 408
    DETAIL_IS_LOGGABLE = True

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The request body stopped arriving for {seconds:g} s.",
            headers={"Connection": "close"},
        )


class SlowBodyProblem(ApiProblem):
    """A body arriving, on average, slower than the service takes: a trickle that holds a
    connection and the bytes it has sent."""

    STATUS = 408
    DETAIL_IS_LOGGABLE = True

    def __init__(self, bytes_per_second: int, behind: float) -> None:
        super().__init__(
            f"The request body arrived slower than {bytes_per_second} bytes a second (more "
            f"than {behind:g} s behind).",
            headers={"Connection": "close"},
        )


#: The media type of every request body the API takes (the spec's ``requestBody`` content, which
#: tests/test_prediction_validation.py holds to it), as the 415s name it.
ACCEPTED_MEDIA_TYPE = "application/json"


class MissingContentTypeProblem(ApiProblem):
    STATUS = 415
    DETAIL_IS_LOGGABLE = True
    DETAIL = f"The request has a body but no Content-Type: send {ACCEPTED_MEDIA_TYPE}."


class UnacceptedMediaTypeProblem(ApiProblem):
    """A body in a media type the operation does not take: Connexion's 415 in the words of the
    others (its own said ``Invalid Content-type (text/plain), expected ['application/json']``,
    a Python list). The media type quoted is at most RFC 6838's length
    (``MediaTypeTooLongProblem``), and the client's: the log says the title."""

    STATUS = 415

    def __init__(self, sent: str) -> None:
        said = f"is {quoted(sent)}" if sent else "names no media type"
        super().__init__(
            f"The request's Content-Type {said}; this API takes {ACCEPTED_MEDIA_TYPE}."
        )


class RepeatedContentTypeProblem(ApiProblem):
    """More than one Content-Type: the parts of the stack would each read another one."""

    STATUS = 415
    DETAIL_IS_LOGGABLE = True

    def __init__(self, count: int) -> None:
        super().__init__(
            f"The request has {count} Content-Type headers: send one, {ACCEPTED_MEDIA_TYPE}."
        )


class CharsetProblem(ApiProblem):
    """A body declared in another charset than UTF-8, which JSON is (RFC 8259, section 8.1):
    the parser would read its bytes as UTF-8 all the same."""

    STATUS = 415

    def __init__(self, charset: str) -> None:
        shown = charset if len(charset) <= 40 else f"{charset[:40]}..."
        super().__init__(
            f"The body is declared as charset {shown!r}: JSON is UTF-8; send it as UTF-8, with "
            "charset=utf-8 or no charset."
        )


class MediaTypeTooLongProblem(ApiProblem):
    """A media type longer than any RFC 6838 allows: refused without quoting it back (the 415 of
    an unknown media type names it, and a header can be kilobytes long)."""

    STATUS = 415
    DETAIL_IS_LOGGABLE = True  # a length and a limit

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"The Content-Type's media type is {length} characters long; a media type has at "
            f"most {limit} (RFC 6838, section 4.2). Send {ACCEPTED_MEDIA_TYPE}."
        )


class ContentCodingProblem(ApiProblem):
    """A compressed (or otherwise coded) body: not taken, rather than read as if it were not."""

    STATUS = 415
    DETAIL_IS_LOGGABLE = True  # the coding is not quoted

    def __init__(self) -> None:
        super().__init__(
            "The request has a Content-Encoding: send the body as it is, uncompressed, "
            "without one.",
            # The codings the server takes (RFC 9110 15.5.16): none but the body as it is.
            headers={"Accept-Encoding": "identity"},
        )


class TransferCodingProblem(ApiProblem):
    """A transfer coding other than ``chunked`` (RFC 9112: 501), which would have let a body
    past the limits that read it (api/body_limit.py)."""

    STATUS = 501
    DETAIL_IS_LOGGABLE = True  # the coding is not quoted
    DETAIL = (
        "The request's Transfer-Encoding is not supported: send the body with a "
        "Content-Length, or chunked alone."
    )


class MethodNotAllowedProblem(ApiProblem):
    """A method a path exists for but does not take (RFC 9110 15.5.6: 405 with ``Allow``), where
    the answer is not the application's (the served spec's paths)."""

    STATUS = 405
    DETAIL_IS_LOGGABLE = True  # the method is not quoted

    def __init__(self, allowed: str) -> None:
        super().__init__(
            f"This path takes {allowed} only.",
            headers={"Allow": allowed},
        )


class TooManyQueryParametersProblem(ApiProblem):
    """A query of more parameters than any operation takes, refused before it is read
    (api/paths.py)."""

    DETAIL_IS_LOGGABLE = True

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The query has more than {limit} parameters: no operation of this API takes that many."
        )


class ParameterProblem(ApiProblem):
    """A parameter the spec declares (query, path, header or cookie) refused: the detail quotes
    its value, the log names the parameter (the spec's name, never what the client sent)."""

    def __init__(self, detail: str, *, location: str, name: str) -> None:
        super().__init__(detail)
        #: Where the parameter is (``query``), and its name in the spec.
        self.location = location
        self.name = name

    def log_reason(self) -> str:
        return f"{self.title}, {self.location} parameter {self.name}"

    def log_fields(self) -> dict[str, Any]:
        return {"parameter": {"in": self.location, "name": self.name}}


def _quoted_list(names: Iterable[str]) -> str:
    """Names ``quoted``, comma-separated: a name holding a comma, or empty, still reads as one."""
    return ", ".join(map(quoted, names))


class UnknownParametersProblem(ApiProblem):
    """Query parameters the operation does not declare (Connexion's strict validation), named
    beside the ones it takes, so that a misspelt one is seen for what it is (Connexion's words
    were "Extra query parameter(s) explian not in spec"). Their names are the client's, so the
    log counts them and names none."""

    def __init__(
        self, names: Iterable[str], *, declared: Sequence[str], location: str = "query"
    ) -> None:
        listed = sorted(names)
        plural = "s" if len(listed) != 1 else ""
        takes = _quoted_list(declared) if declared else f"no {location} parameters"
        super().__init__(
            f"Unknown {location} parameter{plural} {_quoted_list(listed)}: this operation takes "
            f"{takes}."
        )
        self.location = location
        self.count = len(listed)

    def log_reason(self) -> str:
        plural = "s" if self.count != 1 else ""
        return f"{self.title}, {self.count} unknown {self.location} parameter{plural}"


class BadHostProblem(ApiProblem):
    """A Host header missing from an HTTP/1.1 request, given twice, or not a host: RFC 9112
    (3.2) has a server refuse each with 400 (api/paths.py)."""

    DETAIL_IS_LOGGABLE = True

    def __init__(self, count: int, *, labels: bool = False) -> None:
        """``labels``: the one Host's name has a label empty or over 63 characters."""
        if count == 0:
            detail = "The request has no Host header: HTTP/1.1 requires one."
        elif count > 1:
            detail = f"The request has {count} Host headers: send one."
        elif labels:
            detail = (
                "The Host header's name is not a DNS name: each of its dot-separated labels "
                "has 1 to 63 characters (RFC 1035, 2.3.4)."
            )
        else:
            detail = (
                "The Host header is not a host name or IP address with an optional port "
                "(RFC 9110, 7.2)."
            )
        super().__init__(detail)


class TooManyChunksProblem(ApiProblem):
    """A chunked body in more chunks than the connection guard takes (api/connection_guard.py):
    each costs the parser and the server's reading, whatever its size."""

    DETAIL_IS_LOGGABLE = True

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The request body came in more than {limit} chunks: send it in fewer, larger ones, "
            "or with a Content-Length."
        )


class CorsPreflightProblem(ApiProblem):
    """A browser's preflight asking for what the CORS policy (``ML_API_CORS_ORIGINS``) does not
    allow: which parts, never their values."""

    DETAIL_IS_LOGGABLE = True

    def __init__(self, refused: list[str]) -> None:
        super().__init__(
            f"The API's CORS policy does not allow this preflight's {' and '.join(refused)}: "
            "the browser will not send the request."
        )


class BusyProblem(ApiProblem):
    """The worker holds as much of some work as it can: come back shortly."""

    STATUS = 503
    DETAIL_IS_LOGGABLE = True

    def __init__(self, doing: str, *, closing: bool = False) -> None:
        """``closing``: refused part way through a body, whose rest is not read."""
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if closing:
            headers["Connection"] = "close"
        super().__init__(
            f"The server is {doing} as it can hold at once; retry shortly.", headers=headers
        )


# Answered by the connection guard (api/connection_guard.py) before any application runs.


class HeadTimeoutProblem(ApiProblem):
    STATUS = 408
    DETAIL_IS_LOGGABLE = True

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The request head did not arrive within {seconds:g} s.")


class HttpOneTransferCodingProblem(ApiProblem):
    """A ``Transfer-Encoding`` in an HTTP/1.0 request: faulty framing (RFC 9112 6.1), which a
    proxy in front may read otherwise (request smuggling)."""

    DETAIL_IS_LOGGABLE = True
    DETAIL = (
        "An HTTP/1.0 request cannot have a Transfer-Encoding: send the body with a "
        "Content-Length, or use HTTP/1.1."
    )


class HttpVersionProblem(ApiProblem):
    """A request of an HTTP version other than 1.1 or 1.0 (0.9, a 2.0 or 3.0 written as
    HTTP/1.1 is, or a 1.2): RFC 9110 6.2's 505. uvicorn answered a 2.0 or 0.9 one as 1.1 (a 0.9
    one told it had no Host header), and one its parser refuses for the version (1.2, 3.0) 400,
    as if it were malformed."""

    STATUS = 505
    DETAIL_IS_LOGGABLE = True  # the parser's major and minor digits

    def __init__(self, version: str) -> None:
        super().__init__(
            f"The request is HTTP/{version}: this server speaks HTTP/1.1 (and 1.0). Send the "
            "request as HTTP/1.1."
        )


class MalformedRequestProblem(ApiProblem):
    """A request the HTTP parser cannot read (its request line, a header, or its framing):
    answered by the connection guard, as problem+json like every other refusal."""

    DETAIL_IS_LOGGABLE = True
    DETAIL = (
        "The request is not valid HTTP/1.1: its request line, a header or the framing of "
        "its body could not be read."
    )


class UnknownMethodProblem(ApiProblem):
    """A request method the HTTP parser does not know (``FOO``): RFC 9110 (9.1) has a server
    answer 501. A method it knows but a path does not take is the application's 405."""

    STATUS = 501
    DETAIL_IS_LOGGABLE = True  # the method is not quoted
    DETAIL = (
        "The request's method is not one this server knows: /openapi.json lists each "
        "path's operations."
    )


class HeadTooLargeProblem(ApiProblem):
    STATUS = 431
    DETAIL_IS_LOGGABLE = True

    def __init__(self, limit: str) -> None:
        super().__init__(f"The request head is larger than the limit of {limit}.")


class UriTooLongProblem(ApiProblem):
    """A URL longer than the server takes: RFC 9110 (15.5.15) has its own status for it."""

    STATUS = 414
    TITLE = "URI Too Long"  # RFC 9110's name; Python's phrase is the older one
    DETAIL_IS_LOGGABLE = True

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request's URL is longer than the limit of {limit} bytes.")


class TooManyConnectionsProblem(ApiProblem):
    STATUS = 503
    DETAIL_IS_LOGGABLE = True

    def __init__(self) -> None:
        super().__init__(
            "The server has too many open connections; retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def _each_once(errors: Iterable[FieldError]) -> list[FieldError]:
    """Each error once, sorted by row then field, a field's errors in the order found: a field
    may break two rules (``YearBuilt`` after the sale and after the remodel; a sale's id given
    twice and unknown), each named, so that fixing one does not end in a refusal for the other.
    (The spec's check names one error a field: a value of the wrong type is not also reported
    as outside the enum; ``BodyCheck.refuse``.)"""
    unique = dict.fromkeys(errors)
    return sorted(unique, key=lambda e: (e.row is not None, e.row or 0, e.field or ""))


def describe(
    errors: list[FieldError],
    *,
    limit: int,
    cut: bool = False,
    more_fields: bool = False,
    noun: str = "house",
) -> str:
    """A one-line summary naming the first ``limit`` errors, each row a ``noun``; ``cut``: more
    errors were found than ``errors`` lists, ``more_fields``: of fields it does not name."""
    rows = {error.row for error in errors if error.row is not None}
    fields = _field_count(errors)
    parts = []
    for error in errors[:limit]:
        where = [f"row {error.row}"] if error.row is not None else []
        where += [error.field] if error.field else []
        message = error.message  # the parts are joined by "; ": a sentence's stop goes
        if message.endswith(".") and not message.endswith("..."):
            message = message[:-1]
        parts.append(f"{', '.join(where)}: {message}" if where else message)
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    plural = "s" if fields != 1 else ""
    count = (
        f"more than {fields} invalid fields" if more_fields else f"{fields} invalid field{plural}"
    )
    if cut:
        more += f" (only the first {len(errors)} errors are listed)"
    nouns = noun if len(rows) == 1 else f"{noun}s"
    if rows:
        prefix = f"{count} in {len(rows)}{'+' if more_fields else ''} {nouns}"
    elif any(error.field for error in errors):
        prefix = count
    else:  # the body as a whole (too many rows, not a list): no field to count
        prefix = "Request body"
    return f"{prefix}: {'; '.join(parts)}{more}"


def _field_count(errors: Iterable[FieldError]) -> int:
    """How many fields (of a row, or of the request) ``errors`` find wrong."""
    return len({(error.row, error.field) for error in errors})


def from_row_errors(errors: Mapping[int, Mapping[str, list[str]]]) -> list[FieldError]:
    """Field errors from the model package's ``InvalidInputError.errors``."""
    return [
        FieldError(row=row, field=None if field == "_schema" else field, message=message)
        for row, fields in errors.items()
        for field, messages in fields.items()
        for message in messages
    ]
