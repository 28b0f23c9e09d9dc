"""``PriceInterval`` sets its fields in one step (``predict``): still a frozen dataclass of them."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from gradient_boosting_model.predict import PriceInterval


def test_a_price_interval_holds_every_field_and_only_those() -> None:
    interval = PriceInterval(1.0, 2.0, 0.9, True)
    assert dataclasses.asdict(interval) == {
        "lower": 1.0,
        "upper": 2.0,
        "level": 0.9,
        "calibrated": True,
        "partial": False,
    }
    # A field added to the class and not to its __init__ would be missing here.
    assert list(vars(interval)) == [field.name for field in dataclasses.fields(PriceInterval)]
    by_name = PriceInterval(lower=1.0, upper=2.0, level=0.9, calibrated=True, partial=False)
    assert interval == by_name
    assert hash(interval) == hash(by_name)
    assert repr(interval) == (
        "PriceInterval(lower=1.0, upper=2.0, level=0.9, calibrated=True, partial=False)"
    )


def test_a_price_interval_is_frozen_and_copied_as_a_dataclass() -> None:
    interval = PriceInterval(1.0, 2.0, 0.9, calibrated=False, partial=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        interval.lower = 0.5  # type: ignore[misc]
    assert dataclasses.replace(interval, lower=0.5) == PriceInterval(0.5, 2.0, 0.9, False, True)
    assert pickle.loads(pickle.dumps(interval)) == interval
