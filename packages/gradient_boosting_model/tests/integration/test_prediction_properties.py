"""Property tests of ``make_prediction`` over houses generated from the schema itself."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from house_samples import accepted_amounts, accepted_years, more_garage_cars
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import fields, validate

from gradient_boosting_model.config import load_config
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.fields import JsonNumber, WholeNumber
from gradient_boosting_model.pipeline import fields_of_kind
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.schemas import HOUSE_FIELDS, HOUSE_RULES

pytestmark = pytest.mark.integration


def _rule(field: fields.Field[Any], kind: type[Any]) -> Any:
    return next((v for v in field.validators if isinstance(v, kind)), None)


def valid_values(field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    """Any value the field accepts, None aside."""
    one_of = _rule(field, validate.OneOf)
    if one_of is not None:
        return st.sampled_from(list(one_of.choices))
    bounds = _rule(field, validate.Range)
    if isinstance(field, WholeNumber):
        return st.integers(min_value=int(bounds.min), max_value=int(bounds.max))
    return st.one_of(
        st.integers(min_value=int(bounds.min), max_value=int(bounds.max)),
        st.floats(min_value=bounds.min, max_value=bounds.max, allow_nan=False),
    )


def invalid_values(field: fields.Field[Any]) -> st.SearchStrategy[Any]:
    """Values the field refuses: wrong types, out of range, unknown codes, null if required."""
    bad: list[st.SearchStrategy[Any]] = [st.booleans(), st.lists(st.integers(), max_size=2)]
    if field.required:
        bad.append(st.none())
    if isinstance(field, JsonNumber):
        bad.append(st.text(max_size=5))
        bounds = _rule(field, validate.Range)
        if bounds is not None:
            bad.append(st.floats(min_value=bounds.max, exclude_min=True, allow_nan=False))
            bad.append(st.floats(max_value=bounds.min, exclude_max=True, allow_nan=False))
        if isinstance(field, WholeNumber):
            bad.append(st.just(2.5))
    else:
        bad.append(st.integers())
    one_of = _rule(field, validate.OneOf)
    if one_of is not None and not isinstance(field, JsonNumber):
        bad.append(st.text(max_size=8).filter(lambda code: code not in one_of.choices))
    return st.one_of(bad)


def _within_house_rules(house: dict[str, Any]) -> dict[str, Any]:
    """Move the later of two values back so that every house rule holds."""
    house = dict(house)
    for rule in HOUSE_RULES:
        value, bound = house.get(rule.field), house.get(rule.at_most)
        if value is not None and bound is not None and not rule.holds(value, bound):
            house[rule.field] = bound
    return house


HOUSES = st.fixed_dictionaries(
    {name: valid_values(f) for name, f in HOUSE_FIELDS.items() if f.required},
    optional={
        name: st.one_of(st.none(), valid_values(f))
        for name, f in HOUSE_FIELDS.items()
        if not f.required
    },
).map(_within_house_rules)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(houses=st.lists(HOUSES, min_size=1, max_size=5))
def test_any_valid_house_gets_a_finite_positive_price(houses: list[dict[str, Any]]) -> None:
    prices = make_prediction(houses).predictions
    assert len(prices) == len(houses)
    assert all(math.isfinite(price) and price > 0 for price in prices)


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, str]:
    houses = draw(st.lists(HOUSES, min_size=1, max_size=4))
    row = draw(st.integers(min_value=0, max_value=len(houses) - 1))
    name = draw(st.sampled_from(sorted(HOUSE_FIELDS)))
    houses[row] = {**houses[row], name: draw(invalid_values(HOUSE_FIELDS[name]))}
    return houses, row, name


@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=corrupted())
def test_any_single_corrupted_field_is_named(case: tuple[list[dict[str, Any]], int, str]) -> None:
    houses, row, name = case
    with pytest.raises(InvalidInputError) as refused:
        make_prediction(houses)
    assert list(refused.value.errors) == [row]
    assert list(refused.value.errors[row]) == [name]


GRADES = load_config().features.grades_in_order


@settings(max_examples=150, deadline=None, derandomize=True)
@given(house=HOUSES, field=st.sampled_from(fields_of_kind("grade")))
def test_a_better_grade_never_prices_a_house_lower(house: dict[str, Any], field: str) -> None:
    """Since 0.3.5 (``blend.monotone_grades``), for any valid house, whatever else it says:
    Po to Ex, each grade's price at least the one below's (to float rounding)."""
    prices = make_prediction([{**house, field: grade} for grade in GRADES]).predictions
    assert all(better >= worse * (1 - 1e-12) for worse, better in itertools.pairwise(prices)), dict(
        zip(GRADES, prices, strict=True)
    )


@settings(max_examples=100, deadline=None, derandomize=True)
@given(house=HOUSES)
@pytest.mark.parametrize("field", load_config().blend.later_never_lower)
def test_a_later_year_never_prices_a_house_lower(field: str, house: dict[str, Any]) -> None:
    """Since 0.3.6 a more recent remodel, since 0.3.7 a later year built or garage
    (``blend.later_never_lower``), for any valid house, whatever else it says: the year at every
    value the house rules accept (``accepted_years``: a year built up to a year after its
    remodel and its sale, a remodel or a garage after the sale too, warned of), each year's price
    at least the one before's (to float rounding)."""
    years = accepted_years(house, field)
    prices = make_prediction([{**house, field: year} for year in years]).predictions
    assert all(later >= earlier * (1 - 1e-12) for earlier, later in itertools.pairwise(prices)), (
        dict(zip(years, prices, strict=True))
    )


@settings(max_examples=100, deadline=None, derandomize=True)
@given(house=HOUSES)
@pytest.mark.parametrize("field", load_config().blend.more_never_lower)
def test_more_never_prices_a_house_lower(field: str, house: dict[str, Any]) -> None:
    """Since 0.3.8 (``blend.more_never_lower``), for any valid house, whatever else it says:
    the count or area at every value the house accepts (``accepted_amounts``: each count, a
    grid of areas, 0 to the schema's most), each value's price at least the one below's (to
    float rounding)."""
    amounts = accepted_amounts(house, field)
    prices = make_prediction([{**house, field: amount} for amount in amounts]).predictions
    assert all(more >= less * (1 - 1e-12) for less, more in itertools.pairwise(prices)), dict(
        zip(amounts, prices, strict=True)
    )


@settings(max_examples=50, deadline=None, derandomize=True)
@given(house=HOUSES)
def test_one_more_garage_car_never_prices_a_house_lower(house: dict[str, Any]) -> None:
    """Since 0.3.8: a garage of one more car, its area grown by a car's share, priced at least
    as the one before, at every number of cars and for areas per car from 10 sq ft to the
    schema's most (``more_garage_cars``): both fields are ``blend.more_never_lower``'s."""
    assert {"GarageCars", "GarageArea"} <= set(load_config().blend.more_never_lower)
    garages = more_garage_cars(house)
    prices = np.reshape(
        make_prediction([garage for same in garages for garage in same]).predictions,
        (len(garages), -1),
    )
    lower = np.argwhere(prices[:, 1:] < prices[:, :-1] * (1 - 1e-12))
    # (area per car, cars, price, price with one car fewer)
    assert lower.size == 0, [
        (garages[share][0]["GarageArea"], cars + 2, *prices[share, [cars + 1, cars]].tolist())
        for share, cars in lower[:5].tolist()
    ]
