"""The parts of an area left out share what the given parts leave of it (``area_parts``)."""

from __future__ import annotations

import numpy as np

from gradient_boosting_model.area_parts import share_the_rest


def test_the_first_part_left_out_takes_the_rest_and_any_later_one_none() -> None:
    whole = np.array([896.0, 2000.0, 2000.0, 1500.0, 1000.0])
    low_quality = np.array([0.0, 100.0, 0.0, 0.0, 300.0])
    first = np.array([1086.0, 1200.0, 1086.0, 1086.0, 900.0])  # imputed where left out
    second = np.array([0.0, 0.0, 700.0, 0.0, 0.0])
    first_out = np.array([True, False, True, True, True])
    second_out = np.array([True, True, False, True, False])
    filled_first, filled_second = share_the_rest(
        whole, [low_quality], [first, second], [first_out, second_out]
    )
    np.testing.assert_array_equal(filled_first, [896.0, 1200.0, 1300.0, 1500.0, 700.0])
    np.testing.assert_array_equal(filled_second, [0.0, 700.0, 700.0, 0.0, 0.0])


def test_nothing_left_out_is_left_as_it_is_and_no_part_goes_below_zero() -> None:
    whole = np.array([800.0, 800.0])
    given = [np.array([500.0, 900.0]), np.array([300.0, 0.0])]
    out = [np.array([False, False]), np.array([False, True])]
    first, second = share_the_rest(whole, [], given, out)
    np.testing.assert_array_equal(first, [500.0, 900.0])
    np.testing.assert_array_equal(second, [300.0, 0.0])  # 800 - 900 leaves nothing, not -100
