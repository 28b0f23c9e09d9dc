"""A validated batch's text columns as codes (``HouseBatch.coded``): what is worked out per value
is the same worked out once per allowed value and read off the codes."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.contradictions import coded_batch
from gradient_boosting_model.house_batch import object_column
from gradient_boosting_model.validation import validate_batch


def _lengths(values: Any, calls: list[int]) -> npt.NDArray[np.int64]:
    calls.append(len(values))
    return np.array([-1 if value is None else len(value) for value in values])


def test_a_coded_column_maps_as_its_values_do(request_rows: list[dict[str, Any]]) -> None:
    for rows in (request_rows, request_rows[:3]):
        batch = validate_batch(rows)
        coded = batch.coded("Neighborhood")
        assert coded is not None
        values = list(batch["Neighborhood"])
        assert [coded.choices[code] for code in coded.codes.tolist()] == values
        calls: list[int] = []
        mapped = coded.mapped(partial(_lengths, calls=calls))
        assert mapped.tolist() == _lengths(values, []).tolist()
        # Many houses: once per allowed value; few: once per house.
        assert calls == [min(len(coded.choices), len(rows))]


def test_a_number_field_or_an_uncoded_batch_has_no_codes(house: dict[str, Any]) -> None:
    assert validate_batch([house]).coded("GrLivArea") is None
    assert validate_batch([house]).coded("NoSuchField") is None
    columns = validate_batch([house, house]).columns()
    columns["Neighborhood"] = object_column([house["Neighborhood"].encode(), house["Neighborhood"]])
    batch = coded_batch(columns, batch_layout())  # a value no code table has: uncoded
    assert batch.uncoded
    assert batch.coded("Neighborhood") is None
