"""The column path's warnings column: each house's warnings, in order, as Arrow lists."""

from __future__ import annotations

from gradient_boosting_model.batch.pricing import warnings_column
from gradient_boosting_model.batch.writing import PRICED
from gradient_boosting_model.input_ranges import RangeWarning


def test_each_house_keeps_its_warnings_in_order() -> None:
    area, year = RangeWarning("GrLivArea", "big"), RangeWarning("YearBuilt", "old")
    column = warnings_column([[], [area, year], [], [year]])
    assert column.type == PRICED.field("warnings").type
    assert column.to_pylist() == [
        [],
        [{"field": "GrLivArea", "message": "big"}, {"field": "YearBuilt", "message": "old"}],
        [],
        [{"field": "YearBuilt", "message": "old"}],
    ]


def test_houses_without_warnings_make_empty_lists() -> None:
    assert warnings_column([[], []]).to_pylist() == [[], []]
    assert warnings_column([]).to_pylist() == []
