"""The challenger beside the serving model (the champion), over the monitoring window.

On all traffic: how far the challenger's prices are from the champion's (the share of houses
beyond 2, 5 and 10%, the median and largest move). On the sales that came back for houses both
priced: each model's RMSLE and range coverage, and the difference of RMSLEs (challenger minus
champion) with a paired bootstrap interval (the model package's ``paired_interval``: the sales
are resampled together, so what the two models share, a hard house, a slow month, cancels
out). The verdict is ``better`` when the whole interval is below zero, ``worse`` when above,
``same`` when the challenger answered every house of the window as the champion did (each price
to the cent, and each sold house's range: a release that changes only warnings, which more
sales would never tell apart), else ``not_yet_known``, and it names the sales it rests on. A
release that keeps every price but moves the ranges is not the same: its RMSLEs are equal, and
its two coverages are what tells it apart. Whatever its RMSLE, the challenger is ``worse`` when
its calibrated ranges hold fewer of the sale prices than the live check's alert bound
(``coverage_alert``) and the champion's do not, by more than chance (McNemar's exact test over
the sales both ranges are calibrated for, at least as many as the checks need to judge):
served, it would alert, and not by a sale or two.

Rows are compared only between the two versions of the pair, either serving: a promotion or a
rollback swaps their roles, and the houses the pair priced before it (the sales of which come
back for weeks) are read the other way round, not dropped; another pair's rows leave the window
as new ones come in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from gradient_boosting_model import BOOTSTRAP_CONFIDENCE, paired_interval
from sqlalchemy import select, union_all

from api.store.rows import FloatArray, float_columns
from api.store.tables import (
    PREDICTIONS_NEWEST_FIRST,
    SALES_NEWEST_FIRST,
    challenger_prices,
    not_indexed,
    predictions,
    sales,
)

#: Price moves reported: the share of houses whose challenger price is further than each.
MOVES = (0.02, 0.05, 0.10)
#: The paired bootstrap's seed: the same sales give the same interval at every refresh and in
#: every worker.
SEED = 20261203


@dataclass(frozen=True)
class Versions:
    champion: str
    challenger: str


def _served_and_shadowed(versions: Versions) -> list[tuple[Versions, bool]]:
    """The two ways the pair's rows are stored: served by the champion and shadowed by the
    challenger (as now), or the other way round (before a promotion, or a rollback: the same
    two models, their roles swapped), with whether the champion's answer is the shadowed one."""
    return [(versions, False), (Versions(versions.challenger, versions.champion), True)]


def price_moves(connection: Any, versions: Versions, houses: int) -> dict[str, Any]:
    """How far the challenger's prices are from the champion's over the last ``houses``
    houses both priced (either serving)."""
    parts = []
    for stored, swapped in _served_and_shadowed(versions):
        recent = (
            select(predictions.c.id, predictions.c.price, predictions.c.created_at)
            .where(predictions.c.model_version == stored.champion)
            .order_by(*PREDICTIONS_NEWEST_FIRST)
            .limit(houses)
            .subquery()
        )
        served, shadowed = recent.c.price, challenger_prices.c.price
        champion, challenger = (shadowed, served) if swapped else (served, shadowed)
        parts.append(
            select(champion.label("champion"), challenger.label("challenger"),
                   recent.c.created_at, recent.c.id)
            .join(challenger_prices, challenger_prices.c.prediction_id == recent.c.id)
            .where(challenger_prices.c.model_version == stored.challenger)
            .subquery()  # at most ``houses`` rows: one price a house of ``recent``
        )  # fmt: skip
    both = union_all(*(select(part) for part in parts)).subquery()
    rows = connection.execute(
        select(both.c.champion, both.c.challenger)
        .order_by(both.c.created_at.desc(), both.c.id.desc())
        .limit(houses)
    ).all()
    champion, challenger = float_columns(rows, 2)
    moves = np.abs(challenger / champion - 1.0)
    return {
        "houses": len(rows),
        "median": float(np.median(moves)) if len(rows) else None,
        "largest": float(np.max(moves)) if len(rows) else None,
        "beyond": {f"{move:.2f}": float(np.mean(moves > move)) if len(rows) else None
                   for move in MOVES},
    }  # fmt: skip


def paired_bootstrap(
    champion_squared: FloatArray, challenger_squared: FloatArray
) -> tuple[float, float]:
    """The ``BOOTSTRAP_CONFIDENCE`` interval of RMSLE(challenger) - RMSLE(champion), each
    resample of the sales taking each sale's two squared log errors together."""

    def rmsle_moved(resamples: npt.NDArray[np.intp]) -> FloatArray:
        moved: FloatArray = np.sqrt(challenger_squared[resamples].mean(axis=1)) - np.sqrt(
            champion_squared[resamples].mean(axis=1)
        )
        return moved

    return paired_interval(rmsle_moved, len(champion_squared), seed=SEED)


def on_sales(
    connection: Any,
    versions: Versions,
    window_sales: int,
    min_sales: int,
    *,
    moved: bool,
    coverage_alert: float,
) -> dict[str, Any]:
    """Each model on the window's sales whose houses both priced (either serving), and the
    verdict (``moved``: whether the challenger priced any of the window's houses otherwise;
    ``coverage_alert``: the coverage below which the live check alerts)."""
    answer = ("log_price", "lower", "upper", "calibrated")
    parts = []
    for stored, swapped in _served_and_shadowed(versions):
        served, shadowed = predictions, challenger_prices
        champion, challenger = (shadowed, served) if swapped else (served, shadowed)
        parts.append(
            select(
                *(champion.c[name].label(f"champion_{name}") for name in answer),
                *(challenger.c[name].label(f"challenger_{name}") for name in answer),
                sales.c.sale_price, sales.c.log_sale_price, sales.c.received_at,
                sales.c.prediction_id,
            )
            .join(served, served.c.id == sales.c.prediction_id)
            .join(shadowed, shadowed.c.prediction_id == sales.c.prediction_id)
            .where(not_indexed(served.c.model_version) == stored.champion)
            .where(shadowed.c.model_version == stored.challenger)
            .order_by(*SALES_NEWEST_FIRST)
            .limit(window_sales)
            .subquery()
        )  # fmt: skip
    both = union_all(*(select(part) for part in parts)).subquery()
    rows = connection.execute(
        select(
            *(both.c[f"{model}_{name}"] for model in ("champion", "challenger") for name in answer),
            both.c.sale_price,
            both.c.log_sale_price,
        )
        .order_by(both.c.received_at.desc(), both.c.prediction_id.desc())
        .limit(window_sales)
    ).all()
    log_a, lower_a, upper_a, calibrated_a, log_b, lower_b, upper_b, calibrated_b, sale, log_sale = (
        float_columns(rows, 10)
    )
    count = len(rows)
    needed = max(min_sales, 2)
    figures: dict[str, Any] = {"sales": count, "champion": None, "challenger": None}
    if count < needed:  # no figure of a few sales: each would tell a sale's price
        figures["rmsle_difference"] = None
        figures["ranges_would_alert"] = False
        figures["verdict"] = "not_yet_known"
        figures["summary"] = f"{count} sales of houses both models priced: a verdict needs {needed}"
        return figures
    squared_a, squared_b = (log_a - log_sale) ** 2, (log_b - log_sale) ** 2
    inside_a = (lower_a <= sale) & (sale <= upper_a)
    inside_b = (lower_b <= sale) & (sale <= upper_b)
    figures["champion"] = _model_figures(squared_a, inside_a, calibrated_a)
    figures["challenger"] = _model_figures(squared_b, inside_b, calibrated_b)
    difference = figures["challenger"]["rmsle"] - figures["champion"]["rmsle"]
    low, high = paired_bootstrap(squared_a, squared_b)
    coverages = (figures["champion"]["coverage"], figures["challenger"]["coverage"])
    both = (calibrated_a == 1) & (calibrated_b == 1)
    alerting = ranges_would_alert(coverages, inside_a[both], inside_b[both], coverage_alert, needed)
    verdict = (
        "worse"
        if alerting
        else comparison_verdict(
            np.stack([log_a, lower_a, upper_a, calibrated_a]),
            np.stack([log_b, lower_b, upper_b, calibrated_b]),
            (low, high),
            moved=moved,
        )
    )
    figures["rmsle_difference"] = {
        "estimate": difference,
        "interval": [low, high],
        "confidence": BOOTSTRAP_CONFIDENCE,
    }
    figures["ranges_would_alert"] = alerting
    figures["verdict"] = verdict
    why = (
        f": its calibrated ranges held {coverages[1]:.3f} of the sale prices, below the "
        f"coverage alert's {coverage_alert:g} (the champion's {coverages[0]:.3f})"
        if alerting
        else ""
    )
    figures["summary"] = (
        f"challenger {versions.challenger}'s RMSLE minus champion {versions.champion}'s on "
        f"{count} sales: {difference:+.4f} ({BOOTSTRAP_CONFIDENCE:.0%} interval {low:+.4f} to "
        f"{high:+.4f}): {verdict.replace('_', ' ')}{why}"
    )
    return figures


def comparison_verdict(
    champion_answers: FloatArray,
    challenger_answers: FloatArray,
    interval: tuple[float, float],
    *,
    moved: bool,
) -> str:
    """The verdict on the challenger from the two models' answers of the sold houses (their log
    prices, lower and upper bounds and calibrated flags, one row each), the interval of its
    RMSLE minus the champion's, and whether it priced any of the window's houses otherwise
    (``moved``: then a later sale may tell them apart, even if none has)."""
    if not moved and np.array_equal(champion_answers, challenger_answers):
        return "same"
    low, high = interval
    return "better" if high < 0 else "worse" if low > 0 else "not_yet_known"


def ranges_would_alert(
    coverages: tuple[float | None, float | None],
    champion_inside: npt.NDArray[np.bool_],
    challenger_inside: npt.NDArray[np.bool_],
    coverage_alert: float,
    min_sales: int,
) -> bool:
    """Whether the challenger's calibrated ranges hold fewer of the sale prices than the live
    check's alert bound while the champion's do not (``coverages``: the champion's, the
    challenger's), served it would alert, on the same sales (a window where both fall short, a
    hard market, says nothing of the challenger); and not by chance, over the sales both
    ranges are calibrated for (``*_inside``: whether each sale price is inside each model's
    range), at least ``min_sales`` of them, as the live check needs to judge (the coverages are
    each model's over its own calibrated ranges: a challenger that marked one range
    calibrated, missed, was once worse on that one sale).

    "Not by chance" is McNemar's exact test: of the sales inside one model's range only, the
    champion's are too many for an even split, one-sided, at the RMSLE interval's level (each
    tail of a ``BOOTSTRAP_CONFIDENCE`` interval). A paired bootstrap of the coverages, tried
    first, called 3 sales of 3 against the challenger more than chance at any window size
    (exactly: 1 in 8); a window of 30 once turned on one sale, 24 inside against 23.
    """
    champion, challenger = coverages
    if champion is None or challenger is None or not challenger < coverage_alert <= champion:
        return False
    if len(champion_inside) < min_sales:
        return False
    champion_only = int(np.count_nonzero(champion_inside & ~challenger_inside))
    challenger_only = int(np.count_nonzero(challenger_inside & ~champion_inside))
    if champion_only == 0:
        return False
    chance = at_least_as_many_heads(champion_only, champion_only + challenger_only)
    return chance < (1 - BOOTSTRAP_CONFIDENCE) / 2


def at_least_as_many_heads(heads: int, tosses: int) -> float:
    """The chance of at least ``heads`` heads in ``tosses`` tosses of a fair coin: the one-sided
    p-value of the exact sign test (McNemar's exact test, of the sales inside one range only),
    as scipy's ``binomtest(heads, tosses, 0.5, alternative="greater")`` gives it (a test holds
    the two equal). Summed in whole numbers, so exact before its one rounding to a float;
    importing ``scipy.stats`` for it cost each worker about 70 MB of resident memory, a third
    of it (scipy imports about 490 modules for it; nothing else the service runs needs scipy).
    """
    ways = sum(math.comb(tosses, count) for count in range(heads, tosses + 1))
    return ways / (1 << tosses)  # 2 ** tosses, typed as an int


def calibrated_coverage(
    inside: npt.NDArray[np.bool_], calibrated: npt.NDArray[np.bool_]
) -> float | None:
    """The share of sale prices inside their range, of the houses whose range was marked
    calibrated (as training measures it: a range not marked calibrated, as a house that leaves
    details out gets, makes no promise); None if there is none."""
    return float(np.mean(inside[calibrated])) if calibrated.any() else None


def _model_figures(
    squared: FloatArray, inside: npt.NDArray[np.bool_], calibrated: FloatArray
) -> dict[str, float | None]:
    return {
        "rmsle": float(np.sqrt(squared.mean())),
        # As the checks measure it (``monitoring.SoldWindow``).
        "coverage": calibrated_coverage(inside, calibrated == 1),
    }


def compare(
    connection: Any,
    versions: Versions,
    *,
    houses: int,
    window_sales: int,
    min_sales: int,
    coverage_alert: float,
) -> dict[str, Any]:
    """``/v1/monitoring``'s ``challenger``: the versions, the price moves, the sales."""
    moves = price_moves(connection, versions, houses)
    return {
        "model_version": versions.challenger,
        "champion_version": versions.champion,
        "price_moves": moves,
        **on_sales(
            connection,
            versions,
            window_sales,
            min_sales,
            moved=bool(moves["largest"]),
            coverage_alert=coverage_alert,
        ),
    }
