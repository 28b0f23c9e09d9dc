"""Property tests: the fast column checks and the marshmallow schema always agree."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    try:
        validate_inputs([house, row])
    except InvalidInputError as refused:
        assert schema_errors, f"refused a row the schema accepts: {refused.errors}"
        assert refused.errors == {1: dict(schema_errors.items())}
    else:
        assert not schema_errors, f"accepted a row the schema refuses: {schema_errors}"
