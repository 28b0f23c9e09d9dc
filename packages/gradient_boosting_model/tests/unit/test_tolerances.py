"""What counts as the same answer from a model trained on another machine, and what does not."""

from __future__ import annotations

import copy
import math
from typing import Any

from gradient_boosting_model.tolerances import json_differences, prices_agree

ANSWER: dict[str, Any] = {
    "predictions": [126033.69],
    "intervals": [{"lower": 100686.72, "upper": 145404.29, "level": 0.9, "calibrated": True}],
    "warnings": [[]],
    "explanations": [
        {"base_price": 166946.89552919805, "factors": [{"field": "GrLivArea", "factor": 0.93}]}
    ],
}


def _with(path: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of ``ANSWER`` with one value replaced."""
    answer = copy.deepcopy(ANSWER)
    node: Any = answer
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return answer


def test_the_last_bits_of_another_machine_agree() -> None:
    """The figures of issue 20: the same model trained on another processor."""
    moved = _with(("explanations", 0, "base_price"), 166946.89552919747)
    moved["explanations"][0]["factors"][0]["factor"] = math.nextafter(0.93, 1)
    assert json_differences(ANSWER, moved) == []


def test_a_price_on_a_half_cent_may_round_the_other_way() -> None:
    assert json_differences(ANSWER, _with(("predictions", 0), 126033.70)) == []
    assert json_differences(ANSWER, _with(("intervals", 0, "lower"), 100686.71)) == []
    assert prices_agree(126033.69, 126033.68)


def test_a_real_change_is_found_and_named() -> None:
    """A different model moves prices by cents or more and factors by far more than 1e-9."""
    assert json_differences(ANSWER, _with(("predictions", 0), 126033.71)) == [
        "$.predictions[0]: 126033.69 != 126033.71"
    ]
    factor = _with(("explanations", 0, "factors", 0, "factor"), 0.93 * (1 + 1e-7))
    assert json_differences(ANSWER, factor) == [
        f"$.explanations[0].factors[0].factor: 0.93 != {0.93 * (1 + 1e-7)!r}"
    ]
    base = _with(("explanations", 0, "base_price"), 166946.90)
    assert len(json_differences(ANSWER, base)) == 1  # not a price: no cent's slack


def test_anything_but_a_float_must_be_equal() -> None:
    assert json_differences(ANSWER, _with(("intervals", 0, "calibrated"), False))
    assert json_differences(ANSWER, _with(("warnings",), [[], []])) == ["$.warnings: 1 items != 2"]
    assert json_differences(ANSWER, _with(("explanations", 0, "factors", 0, "field"), "LotArea"))
    extra = _with(("model_version",), "0.2.0")
    assert json_differences(ANSWER, extra)[0].startswith("$: keys")
