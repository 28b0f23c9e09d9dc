"""Codes no training house had, of every category and grade field: found in a validated batch
(on its codes) as in plain columns (value by value), and warned once a field."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from house_samples import REQUIRED_HOUSE

from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.contradictions import coded_batch
from gradient_boosting_model.drift import fit_distributions
from gradient_boosting_model.house_batch import object_column
from gradient_boosting_model.input_ranges import FeatureRange, InputRanges, fit_ranges
from gradient_boosting_model.missing import OMITTED
from gradient_boosting_model.seen_codes import SeenCodes, fit_seen_codes
from gradient_boosting_model.shown_values import shown
from gradient_boosting_model.validation import validate_batch

REQUIRED = REQUIRED_HOUSE
TRAINING = {
    "Exterior1st": object_column(["VinylSd", "HdBoard", "MetalSd"]),
    "BsmtQual": object_column([None, "Fa", "Gd"]),  # null: no basement, a value seen
    "KitchenQual": object_column(["TA", "Gd", None]),  # null: unknown, not a code
    "MSSubClass": np.array([20.0, 60.0, np.nan]),
    "GrLivArea": np.array([800.0, 1500.0, 3000.0]),  # a number: not checked
}


@pytest.fixture(scope="module")
def codes() -> SeenCodes:
    return fit_seen_codes(TRAINING)


def test_the_codes_of_category_and_grade_fields_are_kept_without_missing_values(
    codes: SeenCodes,
) -> None:
    assert codes.seen == {
        "MSSubClass": (20.0, 60.0),
        "BsmtQual": ("Fa", "Gd"),
        "Exterior1st": ("HdBoard", "MetalSd", "VinylSd"),
        "KitchenQual": ("Gd", "TA"),
    }
    assert codes.describe()["MSSubClass"] == [20.0, 60.0]
    assert "Exterior1st" not in fit_seen_codes(TRAINING, skipped=["Exterior1st"]).seen


def test_a_fields_codes_seen_are_the_same_wherever_they_are_kept() -> None:
    """The codes check, a category's range (which the check skips) and the field's drift keep
    one tuple (``given_codes``): numbers by value, where the range sorted them as text (120
    before 20)."""
    raw = {"MSSubClass": np.array([120.0, 20.0, np.nan, 60.0, 20.0])}
    kept = fit_seen_codes(raw).seen["MSSubClass"]
    assert kept == (20.0, 60.0, 120.0)
    ranges = fit_ranges(
        feature_names=["MSSubClass"],
        importances=np.array([1.0]),
        features={},
        raw=raw,
        top=1,
        sums={},
        ages=[],
        age_reference="YrSold",
        grade_scores={},
    )
    assert [(r.kind, r.seen) for r in ranges.ranges] == [("category", kept)]
    drift = fit_distributions(raw, fields=["MSSubClass"], bins=10, floor=1e-4, watch=0.1, alert=1)
    assert [getattr(field, "codes", None) for field in drift.fields] == [(20, 60, 120)]


def _both_ways(codes: SeenCodes, houses: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    """``unseen`` of a validated batch (its codes), asserted equal to that of its columns."""
    batch = validate_batch(houses)
    on_codes = codes.unseen(batch)
    assert on_codes == codes.unseen(batch.columns())
    return on_codes


@pytest.mark.parametrize(
    ("changes", "found"),
    [
        ({}, []),
        ({"Exterior1st": "BrkComm"}, [("Exterior1st", "BrkComm")]),
        ({"BsmtQual": "Po"}, [("BsmtQual", "Po")]),  # between two seen: not caught by a range
        ({"BsmtQual": "TA"}, [("BsmtQual", "TA")]),
        ({"MSSubClass": 150}, [("MSSubClass", 150.0)]),
        ({"KitchenQual": None, "BsmtQual": None, "Exterior1st": None}, []),  # null: not given
        ({"MSSubClass": None}, []),
        (
            {"MSSubClass": 190, "KitchenQual": "Ex", "Exterior1st": "Stone"},
            [("MSSubClass", 190.0), ("Exterior1st", "Stone"), ("KitchenQual", "Ex")],
        ),
    ],
)
def test_a_given_code_no_training_house_had_is_found(
    codes: SeenCodes, changes: dict[str, Any], found: list[tuple[str, Any]]
) -> None:
    house = {**REQUIRED, "MSSubClass": 20, "Exterior1st": "VinylSd", "BsmtQual": "Gd"}
    house |= {"KitchenQual": "TA"} | changes
    assert _both_ways(codes, [house]) == [(0, field, code) for field, code in found]


def test_a_code_left_out_is_not_found(codes: SeenCodes) -> None:
    """Left out, a code is assumed (typical, or none where its feature's size is 0), and the
    house's range is marked not calibrated: never warned about as a code."""
    batch = validate_batch([REQUIRED])
    assert batch["Exterior1st"][0] is OMITTED
    assert codes.unseen(batch) == codes.unseen(batch.columns()) == []


def test_a_batch_is_found_house_by_house_then_field_by_field(codes: SeenCodes) -> None:
    plain = {**REQUIRED, "Exterior1st": "VinylSd"}
    houses = [
        plain,
        {**plain, "KitchenQual": "Po", "Exterior1st": "CBlock"},
        plain,
        {**plain, "MSSubClass": 150, "BsmtQual": "Ex"},
    ]
    assert _both_ways(codes, houses) == [
        (1, "Exterior1st", "CBlock"),
        (1, "KitchenQual", "Po"),
        (3, "MSSubClass", 150.0),
        (3, "BsmtQual", "Ex"),
    ]


def test_a_value_with_no_code_is_found_by_its_value(codes: SeenCodes) -> None:
    """Columns with a value no code table has (a client's row cannot hold one: the schema
    takes text as ``str`` only) make an uncoded batch, read value by value, and the value is
    no code seen."""
    columns = validate_batch([REQUIRED]).columns()
    columns["Exterior1st"] = object_column([b"VinylSd"])
    batch = coded_batch(columns, batch_layout())
    assert batch.uncoded
    assert codes.unseen(batch) == [(0, "Exterior1st", b"VinylSd")]
    assert shown(b"VinylSd") == "b'VinylSd'"


def test_the_input_ranges_warn_once_a_field(codes: SeenCodes) -> None:
    """A grade beyond its range's ends is warned in its range's words, not twice."""
    grade = FeatureRange(
        "BsmtQual",
        "grade",
        0.1,
        low=2.0,
        high=4.0,
        grade_codes=((1.0, "Po"), (2.0, "Fa"), (3.0, "TA"), (4.0, "Gd"), (5.0, "Ex")),
    )
    ranges = InputRanges((grade,), codes)
    houses = [
        {**REQUIRED, "BsmtQual": "Ex", "Exterior1st": "Stone"},
        {**REQUIRED, "BsmtQual": "TA"},
    ]
    batch = validate_batch(houses)
    features = {"BsmtQual": np.array([5.0, 3.0])}
    warnings = ranges.check(batch, features, lambda field: np.zeros(2, dtype=bool))
    assert [[(w.field, w.message) for w in house] for house in warnings] == [
        [
            ("BsmtQual", "BsmtQual Ex is above the highest grade seen in training, Gd"),
            ("Exterior1st", "Exterior1st Stone was not seen in training"),
        ],
        [("BsmtQual", "BsmtQual TA was not seen in training")],
    ]


def test_what_is_made_on_first_use_is_not_pickled(codes: SeenCodes) -> None:
    """Only the codes are kept, as sorted tuples: the same bytes whatever the process's string
    hashing (a set's pickle follows it: an artifact's bytes would change from one training to
    the next)."""
    two = [{**REQUIRED, "MSSubClass": 150, "Exterior1st": "CBlock"}]  # sorted: every table made
    codes.unseen(validate_batch(two))
    codes.unseen(validate_batch(two).columns())
    assert set(codes.__dict__) > {"seen"}
    assert set(codes.__getstate__()) == {"seen"}
    again = pickle.loads(pickle.dumps(codes))
    assert again.unseen(validate_batch(two)) == [
        (0, "MSSubClass", 150.0),
        (0, "Exterior1st", "CBlock"),
    ]
    assert all(isinstance(seen, tuple) for seen in codes.seen.values())


def test_ranges_pickled_before_the_codes_were_kept_check_no_code() -> None:
    """An artifact before 0.3.1 has no ``codes``: its ranges warn as they did."""
    ranges = InputRanges(())
    state = dict(ranges.__getstate__())
    del state["codes"]
    old = InputRanges.__new__(InputRanges)
    old.__dict__.update(state)
    batch = validate_batch([{**REQUIRED, "Exterior1st": "CBlock"}])
    assert old.codes is None
    assert old.check(batch, {}, lambda field: np.zeros(1, dtype=bool)) == [[]]
