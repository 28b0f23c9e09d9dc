"""Property tests: the fast column checks and the marshmallow schema always agree."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradient_boosting_model.batch_rules import batch_rules
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.schemas import HOUSE_FIELDS, HouseDetailsSchema
from gradient_boosting_model.validation import validate_inputs

ANY_JSON_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["Ex", "Gd", "TA", "NAmes", "Pave", "RL", "None", "NA"]),
    st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(HOUSE_FIELDS)), value=ANY_JSON_VALUE)
def test_fast_checks_refuse_exactly_what_the_schema_refuses(
    house: dict[str, Any], field: str, value: Any
) -> None:
    row = {**house, field: value}
    schema_errors = HouseDetailsSchema().validate(row)
    # In a batch (whole-matrix checks), and alone (one house's checks, value by value).
    for batch, index in (([house, row], 1), ([row], 0)):
        try:
            validate_inputs(batch)
        except InvalidInputError as refused:
            assert schema_errors, f"refused a row the schema accepts: {refused.errors}"
            assert refused.errors == {index: dict(schema_errors.items())}
        else:
            assert not schema_errors, f"accepted a row the schema refuses: {schema_errors}"


#: A number near a field's bounds, or a whole or code value, or one of the values numbers
#: break rules with (NaN is a missing value).
EDGE_NUMBERS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 0.5, 1.0, 20.0, 1e308, -1e308]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-10, max_value=3000).map(float),
)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_one_house_checks_flag_exactly_the_rows_the_batch_checks_flag(
    house: dict[str, Any], data: Any
) -> None:
    rules = batch_rules().numbers
    values = [math.nan if house.get(name) is None else float(house[name]) for name in rules.names]
    # A valid house with one to three of its numbers changed: to an edge of the field's range
    # or just beyond it, or anything else.
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        j = data.draw(st.integers(min_value=0, max_value=len(values) - 1))
        low, high = float(rules.minimum[j]), float(rules.maximum[j])
        edges = (low, high, low - 1, high + 1, low + 0.5, high - 0.5)
        near = [v for v in edges if math.isfinite(v)]
        values[j] = data.draw(st.one_of(EDGE_NUMBERS, st.sampled_from(near or [0.0])))
    matrix = np.array([values], dtype=np.float64)
    assert rules.suspect_row(values) == bool(rules.suspect_rows(matrix)[0])
