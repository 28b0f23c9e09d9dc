"""House details written as text, as the Ames files write them: how a value is read from it.

One rule for every table of text: ``score-houses`` reads a CSV's (and a Parquet file's text
columns) by it, and ``make_prediction`` a DataFrame's text cells (a CSV read by pandas with
``keep_default_na=False`` or ``dtype=str``), so that the same houses get the same prices
whichever way they came. A dict is JSON-shaped, as a client sends the API: its text is never
read so (``"NA"`` is no code, ``"896"`` no number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gradient_boosting_model.fields import JsonNumber
from gradient_boosting_model.schemas import HOUSE_FIELDS, ID_FIELD

#: Texts that mean a missing value, as in the Ames files (MasVnrType's code "None" is a value).
MISSING_TEXT = frozenset({"", "NA"})
#: A number as text: a JSON number (RFC 8259), as a client sends one to the API (``-7``,
#: ``0.5``, ``1e3``). Any other text in a number field is passed on as text, which the schema
#: refuses ("Not a valid number."), as the API refuses it: among them what Python's ``int`` and
#: ``float`` read (``1_000``, ``١١٦٢٢``, `` 5``, ``nan``) and Arrow's CSV reader reads
#: (``0x37BB``, ``+5``, ``.5``, ``065``, ``inf``).
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def with_nulls(texts: Iterable[Any]) -> list[Any]:
    """``texts`` with each missing one (``MISSING_TEXT``) a null; any other value as it is."""
    return [None if text in MISSING_TEXT else text for text in texts]


def is_number_field(name: str) -> bool:
    return name == ID_FIELD or isinstance(HOUSE_FIELDS.get(name), JsonNumber)


def parse_number(text: str) -> Any:
    """A number written as text: ``None`` when missing, an int when whole, a float, or the text
    unchanged when it is no ``JSON_NUMBER`` (the schema then says so)."""
    if text in MISSING_TEXT:
        return None
    if JSON_NUMBER.fullmatch(text) is None:
        return text
    try:
        return int(text)
    except ValueError:  # a fraction or an exponent (or more digits than ``int`` reads)
        value = float(text)
    return int(value) if value.is_integer() else value
