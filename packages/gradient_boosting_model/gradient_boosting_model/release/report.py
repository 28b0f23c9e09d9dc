"""The differential test's report, as text: what moved, how far, why, and the verdict."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradient_boosting_model.config import NewVersionConfig
from gradient_boosting_model.release.comparison import Comparison, Mover

#: The moves whose shares are shown (beside any ``max_share_moving_more_than`` declares).
REPORTED_MOVES = (0.02, 0.05, 0.10)
#: The warnings gained and lost shown (each way), the first houses first.
SHOWN_WARNINGS = 10
#: The quantiles of the range width ratios shown.
WIDTH_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def format_report(
    comparison: Comparison,
    failures: Sequence[str],
    tolerances: NewVersionConfig,
    *,
    houses_file: str,
    accuracy: Sequence[str] = (),
) -> str:
    """The report of ``comparison`` judged (``gate.judge``) to ``failures``, with the
    new-version tolerances beside each figure (a retraining must be identical instead), and
    the ``accuracy`` section's lines (``accuracy.accuracy_lines``) before the verdict. Its last
    line is the verdict: ``passed``, or ``FAILED:`` naming the two versions, under the
    reasons."""
    versions = (
        f"model {comparison.current_version} against the baseline of {comparison.baseline_version}"
    )
    lines = [
        f"diff-test: {versions}, on the {comparison.ids.size} houses of {houses_file}",
        "kind: "
        + (
            "the same version retrained, judged by the rule that its answers must be identical "
            "(prices to the cent, other floats within 1e-9, warnings equal)"
            if comparison.same_version
            else "a new version, judged by the limits of config.yml's release.new_version (in "
            "brackets below) and by its number, which must be after the baseline's"
        ),
        "",
        "prices          houses   share   (a new version: at most)",
    ]
    allowed = tolerances.max_share_moving_more_than
    for level in sorted({*REPORTED_MOVES, *allowed}):
        moving = comparison.moving_more_than(level)
        limit = f"{allowed[level]:.1%}" if level in allowed else "-"
        lines.append(
            f"  moved >{level:4.0%}  {moving.size:7d}  {moving.size / comparison.ids.size:6.1%}"
            f"   {limit}"
        )
    largest_id, largest = comparison.largest_move
    moved = [mover for mover in comparison.movers if mover.after != mover.before]
    lines += [
        f"  median move {comparison.median_move:.3%}   ({tolerances.max_median_move:.2%})",
        f"  largest move {largest:+.2%} (Id {largest_id})   ({tolerances.max_largest_move:.0%})"
        if moved
        else "  largest move: none, no price moved",
        f"  base price {comparison.base_before:,.2f} -> {comparison.base_after:,.2f}",
        "  identical by the rule (cent, 1e-9): "
        + (
            "yes"
            if not comparison.differences
            else f"no, {len(comparison.differences)} differences"
        ),
        "  identical to the last bit: " + _bits(comparison),
        "",
        f"the {len(moved)} houses moving most, with the 3 fields whose factors moved most "
        "(factor before -> after)"
        if moved
        else "the houses moving most: none",
        *(_mover(mover) for mover in moved),
        "",
        f"warnings: {comparison.gained_warning.size} houses gained one, "
        f"{comparison.lost_warning.size} lost one (at most "
        f"{tolerances.max_share_warnings_changed:.1%} of houses either way)",
        *_warning_changes(comparison),
        _widths(comparison, tolerances),
        "",
        *((*accuracy, "") if accuracy else ()),
    ]
    if failures:
        lines += [
            "why it fails:",
            *(f"- {failure}" for failure in failures),
            "",
            f"FAILED: {versions}, for the {_reasons(len(failures))} above",
        ]
    else:
        lines.append("passed")
    return "\n".join(lines)


def _reasons(count: int) -> str:
    return "reason" if count == 1 else f"{count} reasons"


def _bits(comparison: Comparison) -> str:
    if comparison.unequal_values < 0:
        return "no (the explanations have other fields)"
    if comparison.bit_identical:
        return "yes (every price, bound, factor and warning)"
    return f"no, {comparison.unequal_values} values differ"


def _mover(mover: Mover) -> str:
    changes = ", ".join(
        f"{change.field} {change.before:.3f}->{change.after:.3f}" for change in mover.changes
    )
    return (
        f"  Id {mover.id:<5d} {mover.before:>12,.2f} -> {mover.after:>12,.2f} "
        f"{mover.move:+7.2%}  {changes}"
    )


def _widths(comparison: Comparison, tolerances: NewVersionConfig) -> str:
    quantiles = np.nanquantile(comparison.width_ratios, WIDTH_QUANTILES)
    shown = ", ".join(
        f"{quantile:.0%} x{value:.3f}"
        for quantile, value in zip(WIDTH_QUANTILES, quantiles, strict=True)
    )
    return (
        f"range widths, after / before: {shown} (the median within "
        f"{tolerances.max_median_width_change:.0%} either way)"
    )


def _warning_changes(comparison: Comparison) -> list[str]:
    """The first ``SHOWN_WARNINGS`` warnings gained (+) and lost (-), by the house's Id."""
    lines = []
    for sign, changes in (("+", comparison.gained_messages), ("-", comparison.lost_messages)):
        shown = changes[:SHOWN_WARNINGS]
        lines += [f"  {sign} Id {house:<6d} {message}" for house, message in shown]
        if len(changes) > SHOWN_WARNINGS:
            lines.append(f"  {sign} ... and {len(changes) - SHOWN_WARNINGS} more")
    return lines
