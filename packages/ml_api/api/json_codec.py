"""Fast JSON decoding (orjson) for request bodies, with the standard library's clearer messages.

A 1459-house body is 2.3 MB; the standard library takes about 11 ms to parse it, orjson about
a third of that, and the body is parsed twice: by the validator and by Flask for the handler.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import orjson
from connexion.frameworks.flask import FlaskJSONProvider


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """Parse strict JSON (no NaN or Infinity, no number that overflows to infinity).

    Raises
    ------
    ValueError
        With the standard library's message where it is clearer (``NaN is not a JSON number``,
        ``Expecting value: line 1 column 2``), else orjson's.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as fast_error:
        try:
            json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise ValueError(str(error)) from fast_error
        raise ValueError(str(fast_error)) from fast_error  # e.g. 1e400: infinity for json


class OrjsonProvider(FlaskJSONProvider):  # type: ignore[misc]
    """Flask's JSON provider as Connexion sets it up, decoding with orjson."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
