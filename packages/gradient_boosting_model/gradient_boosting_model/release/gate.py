"""The differential test's verdict: whether the current model's moves are within what the kind of
release allows, and if not, which houses say so.

- The same version retrained must answer as the baseline did, by the project's rule
  (``tolerances``: prices to the cent, other floats within a relative 1e-9, warnings equal):
  training is reproducible, and a change of the model is a new version.
- A new version, numbered after the baseline's (``versions.is_after``), may move prices,
  ranges and warnings within ``config.yml``'s ``release.new_version`` (where the figures are
  justified).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradient_boosting_model.config import NewVersionConfig
from gradient_boosting_model.release.comparison import Comparison
from gradient_boosting_model.versions import is_after

#: How many houses a failure names (the rest are counted).
NAMED_HOUSES = 10


def judge(comparison: Comparison, tolerances: NewVersionConfig) -> list[str]:
    """Why the current model fails the differential test, one sentence per reason naming the
    houses (by Id); empty when it passes."""
    if comparison.same_version:
        return _not_identical(comparison)
    if not is_after(comparison.current_version, comparison.baseline_version):
        return [
            f"version {comparison.current_version} is not after the baseline's "
            f"{comparison.baseline_version}: a new model is numbered after the one it "
            "replaces (a version names one model: an earlier number may name another already)"
        ]
    return _beyond_tolerances(comparison, tolerances)


def _not_identical(comparison: Comparison) -> list[str]:
    found = comparison.differences
    if not found:
        return []
    named = "; ".join(found[:NAMED_HOUSES])
    more = f"; and {len(found) - NAMED_HOUSES} more" if len(found) > NAMED_HOUSES else ""
    return [
        f"version {comparison.current_version} retrained does not answer as its baseline did "
        f"({len(found)} differences beyond the cent and 1e-9; a changed model needs a new "
        f"version): {named}{more}"
    ]


def _beyond_tolerances(comparison: Comparison, tolerances: NewVersionConfig) -> list[str]:
    failures = []
    for level, share in sorted(tolerances.max_share_moving_more_than.items()):
        moving = comparison.moving_more_than(level)
        if moving.size / comparison.ids.size > share:
            failures.append(
                f"{moving.size} houses ({moving.size / comparison.ids.size:.1%}) move by more "
                f"than {level:.0%}, at most {share:.1%} may: {_named(comparison, moving)}"
            )
    if comparison.median_move > tolerances.max_median_move:
        failures.append(
            f"the median move is {comparison.median_move:.2%}, at most "
            f"{tolerances.max_median_move:.2%} may be; moving most: "
            f"{_named(comparison, comparison.moving_more_than(comparison.median_move))}"
        )
    beyond = comparison.moving_more_than(tolerances.max_largest_move)
    if beyond.size:
        failures.append(
            f"{beyond.size} houses move by more than {tolerances.max_largest_move:.0%}: "
            f"{_named(comparison, beyond)}"
        )
    changed = np.union1d(comparison.gained_warning, comparison.lost_warning)
    if changed.size / comparison.ids.size > tolerances.max_share_warnings_changed:
        failures.append(
            f"{changed.size} houses ({changed.size / comparison.ids.size:.1%}) gain or lose a "
            f"warning, at most {tolerances.max_share_warnings_changed:.1%} may: "
            f"gained {_ids(comparison.gained_warning)}; lost {_ids(comparison.lost_warning)}"
        )
    ratio = float(np.nanmedian(comparison.width_ratios))
    if abs(ratio - 1) > tolerances.max_median_width_change:
        order = np.argsort(-np.abs(np.log(comparison.width_ratios)), kind="stable")
        widest = ", ".join(
            f"Id {comparison.ids[house]} (x{comparison.width_ratios[house]:.2f})"
            for house in order[:NAMED_HOUSES].tolist()
        )
        failures.append(
            f"the ranges' median width moves by x{ratio:.3f}, at most "
            f"{tolerances.max_median_width_change:.0%} either way; moving most: {widest}"
        )
    return failures


def _named(comparison: Comparison, ids: Sequence[int] | np.ndarray) -> str:
    """The first houses of ``ids`` with their moves, and how many more."""
    listed = [int(house_id) for house_id in ids]
    named = ", ".join(
        f"Id {house_id} ({comparison.move_of(house_id):+.1%})" for house_id in listed[:NAMED_HOUSES]
    )
    return named + (f" and {len(listed) - NAMED_HOUSES} more" if len(listed) > NAMED_HOUSES else "")


def _ids(ids: np.ndarray) -> str:
    listed = [f"Id {int(house_id)}" for house_id in ids[:NAMED_HOUSES]]
    more = f" and {ids.size - NAMED_HOUSES} more" if ids.size > NAMED_HOUSES else ""
    return (", ".join(listed) or "none") + more
