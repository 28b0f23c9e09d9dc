"""Media types matched as HTTP defines them: without regard to case, and never guessed.

Connexion looks a body's validator up by the Content-Type as sent, so ``APPLICATION/JSON`` found
none and the body went unvalidated to the handler; with no Content-Type it assumed JSON for the
validator but Flask did not for the handler. Here the Content-Type is lower-cased (no part of
``application/json; charset=utf-8`` is case-sensitive) and spaced as HTTP writes it, and a
body without a Content-Type is
refused with 415 naming the one the API takes. So is one with two Content-Types (this
middleware and Connexion's validator read the first, Flask joined both, and Connexion's check of
the handler's body failed on that: a 500), one with a Content-Encoding (a gzip body was
refused as bad UTF-8, and a plain one labelled gzip taken as if it were not), and one declared
in a charset other than UTF-8 (its bytes were read as UTF-8 all the same), and one whose media
type is longer than RFC 6838 allows (Connexion's 415 quoted a header of kilobytes back whole).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import (
    CharsetProblem,
    ContentCodingProblem,
    MediaTypeTooLongProblem,
    MissingContentTypeProblem,
    RepeatedContentTypeProblem,
)

#: The longest media type there is: a type and a subtype of at most 127 characters each, and the
#: slash between them (RFC 6838, section 4.2).
MAX_MEDIA_TYPE_LENGTH = 127 + 1 + 127


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return (length is not None and length != "0") or "transfer-encoding" in headers


def _charsets(content_type: str) -> list[str]:
    """Every charset a Content-Type declares (lower-cased, unquoted; a valid one declares at
    most one): each is checked, so that a UTF-8 one does not hide another (which a reader
    taking the last would read the body in)."""
    charsets = []
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charsets.append(value.strip().strip('"').lower())
    return charsets


def _is_json_body(content_type: str, headers: Headers) -> bool:
    """Whether the request has a body of a JSON media type (``application/json``, ``+json``);
    of any other, the validator names the media type."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type.endswith(("/json", "+json")) and _has_body(headers)


def _normalised(content_type: str) -> str:
    """``content_type`` lower-cased and written ``type/subtype; name=value``, without the
    whitespace around its parameters' ``;`` that HTTP allows (RFC 9110 5.6.6) and Connexion,
    comparing the media type as it comes, did not: ``application/json ; charset=utf-8`` was
    refused as ``application/json ``. (The charset was checked before, on the header as sent.)"""
    media_type, *parameters = content_type.lower().split(";")
    return "; ".join([media_type.strip(), *filter(None, map(str.strip, parameters))])


class ContentTypeMiddleware:
    """Normalise the request's Content-Type (``_normalised``); refuse a body that has none
    (415)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            content_types = headers.getlist("content-type")
            if len(content_types) > 1:
                raise RepeatedContentTypeProblem(len(content_types))
            codings = {
                coding.strip().lower()
                for header in headers.getlist("content-encoding")
                for coding in header.split(",")
            }
            if codings - {"identity", ""} and _has_body(headers):
                raise ContentCodingProblem()
            content_type = content_types[0] if content_types else None
            if content_type is None:
                if _has_body(headers):
                    raise MissingContentTypeProblem()
            else:
                media_type_length = len(content_type.partition(";")[0].strip())
                if media_type_length > MAX_MEDIA_TYPE_LENGTH and _has_body(headers):
                    raise MediaTypeTooLongProblem(media_type_length, MAX_MEDIA_TYPE_LENGTH)
                charsets = _charsets(content_type) if ";" in content_type else []
                other = [charset for charset in charsets if charset not in {"utf-8", "utf8"}]
                if other and _is_json_body(content_type, headers):
                    raise CharsetProblem(other[0])
                normalised = _normalised(content_type)
                if content_type != normalised:
                    scope = {**scope, "headers": list(scope["headers"])}
                    MutableHeaders(scope=scope)["content-type"] = normalised
        await self.app(scope, receive, send)
