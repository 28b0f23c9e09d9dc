"""How deeply a JSON text nests arrays and objects, found without parsing it."""

from __future__ import annotations

import numpy as np

_QUOTE = ord('"')
_OPEN_ARRAY, _OPEN_OBJECT = ord("["), ord("{")
_CLOSE_ARRAY, _CLOSE_OBJECT = ord("]"), ord("}")


def json_depth(text: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (0 for a bare scalar).

    Vectorised over the bytes, so even a 10 MiB body of escaped quotes costs tens of
    milliseconds; malformed JSON gives some number and is left for the parser to refuse.
    """
    # In valid JSON a backslash only ever escapes the byte after it: dropping escaped backslashes,
    # then escaped quotes (each left to right, in C) leaves only the quotes that delimit strings,
    # and the brackets where they were. Linear in the body, unlike walking back over each run.
    unescaped = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    data = np.frombuffer(unescaped, dtype=np.uint8)
    opens = (data == _OPEN_ARRAY) | (data == _OPEN_OBJECT)
    closes = (data == _CLOSE_ARRAY) | (data == _CLOSE_OBJECT)
    brackets = np.flatnonzero(opens | closes)
    if brackets.size == 0:
        return 0
    quotes = np.flatnonzero(data == _QUOTE)
    brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]  # outside strings
    steps = np.where(opens[brackets], 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def text_depth(text: bytes, limit: int) -> int:
    """``json_depth``, or 0 for a text with no more opening brackets than ``limit`` (which
    cannot nest past it): counting them runs at memchr speed, while the exact depth is a pass
    of numpy over every byte."""
    opening = text.count(b"[") + text.count(b"{")
    return json_depth(text) if opening > limit else 0


def value_depth(value: object) -> int:
    """How deeply a parsed JSON value nests lists and dicts (0 for a scalar): the depth its
    text has. A walk over every container (a second for a million of them: where the text is
    at hand, ``text_depth`` of it is the faster)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            depth += 1
            deepest = max(deepest, depth)
            pending.extend((item, depth) for item in node if isinstance(item, list | dict))
    return deepest
