"""Live figures from the store: accuracy and range coverage on the sales that came back, the
share of houses warned, drift of each monitored input; each beside its training figure, with a
verdict.

Windows: the last ``predictions`` priced houses, and the last ``sales`` sales received (each
joined to its priced house). Counts, means and the coverage by tenth of predicted price are
SQL aggregates over the window; the median error takes the window's errors (one float a sale),
and drift the window's houses, which the model package compares with its training
distributions and judges by the levels its config declares (``gradient_boosting_model.
input_drift``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, case, func, select

from api.store.tables import predictions, sales

#: Verdicts, mildest first; ``not_enough_data`` below the settings' minimum of sales.
VERDICTS = ("ok", "watch", "alert")
NOT_ENOUGH = "not_enough_data"


@dataclass(frozen=True)
class Window:
    predictions: int
    sales: int


@dataclass(frozen=True)
class Thresholds:
    """Where each check turns to watch and to alert (``api.config.Settings``)."""

    min_sales: int
    error_ratio_watch: float
    error_ratio_alert: float
    coverage_watch: float
    coverage_alert: float
    warned_ratio_watch: float
    warned_ratio_alert: float
    #: Houses below which drift gets no verdict.
    min_drift_houses: int


def _above(value: float, watch: float, alert: float) -> str:
    return "alert" if value > alert else "watch" if value > watch else "ok"


def _below(value: float, watch: float, alert: float) -> str:
    return "alert" if value < alert else "watch" if value < watch else "ok"


def _recent_predictions(window: Window) -> Any:
    return (
        select(predictions.c.calibrated, predictions.c.house)
        .order_by(predictions.c.created_at.desc())
        .limit(window.predictions)
        .subquery()
    )


def _recent_sales(window: Window) -> Any:
    return (
        select(
            predictions.c.price,
            predictions.c.log_price,
            predictions.c.lower,
            predictions.c.upper,
            sales.c.sale_price,
            sales.c.log_sale_price,
        )
        .join(predictions, predictions.c.id == sales.c.prediction_id)
        .order_by(sales.c.received_at.desc())
        .limit(window.sales)
        .subquery()
    )


def measure(
    engine: Engine,
    window: Window,
    *,
    training: Mapping[str, float],
    thresholds: Thresholds,
    drift: Callable[[Sequence[dict[str, Any]]], Mapping[str, tuple[float, str]]] | None = None,
    drift_fields: Sequence[str] = (),
) -> dict[str, Any]:
    """The live figures over ``window``, each beside ``training``'s, with verdicts; ``drift``
    judges the window's houses, of which only ``drift_fields`` are read back."""
    houses = _recent_predictions(window)
    sold = _recent_sales(window)
    inside = case(
        (and_(sold.c.lower <= sold.c.sale_price, sold.c.sale_price <= sold.c.upper), 1.0),
        else_=0.0,
    )
    with engine.connect() as connection:
        priced, warned = connection.execute(
            select(func.count(), func.avg(case((houses.c.calibrated, 0.0), else_=1.0)))
        ).one()
        count, squared, covered = connection.execute(
            select(
                func.count(),
                func.avg(
                    (sold.c.log_price - sold.c.log_sale_price)
                    * (sold.c.log_price - sold.c.log_sale_price)
                ),
                func.avg(inside),
            )
        ).one()
        errors = np.fromiter(
            connection.scalars(
                select(func.abs(sold.c.price - sold.c.sale_price) / sold.c.sale_price)
            ),
            dtype=np.float64,
        )
        tenths = _coverage_by_tenth(connection, sold, inside)
        recent = _recent_fields(connection, houses, drift_fields) if drift else []
    drifted = drift(recent) if drift and recent else {}
    enough = count >= thresholds.min_sales
    figures = {
        "rmsle": math.sqrt(squared) if count else None,
        "median_ape": float(np.median(errors)) if count else None,
        "coverage": float(covered) if count else None,
        "warned_share": float(warned) if priced else None,
    }
    checks = {
        name: {
            "live": value,
            "training": training.get(name),
            "verdict": _verdict(name, value, training.get(name), thresholds, enough),
        }
        for name, value in figures.items()
    }
    return {
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "window": {"predictions": window.predictions, "sales": window.sales},
        "priced_houses": int(priced),
        "sales": int(count),
        "checks": checks,
        "coverage_by_tenth_of_price": tenths,
        "drift": {
            field: {
                "psi": psi,
                "verdict": verdict if priced >= thresholds.min_drift_houses else NOT_ENOUGH,
            }
            for field, (psi, verdict) in drifted.items()
        },
    }


def _recent_fields(connection: Any, houses: Any, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The window's houses, with only ``fields`` read out of each stored document (in the
    database: a whole house is about 80 values)."""
    names = list(fields)
    rows = connection.execute(select(*(houses.c.house[name] for name in names)))
    return [dict(zip(names, row, strict=True)) for row in rows]


def _verdict(
    name: str, live: float | None, training: float | None, limits: Thresholds, enough: bool
) -> str:
    if live is None or training is None:
        return NOT_ENOUGH
    if name == "warned_share":  # rests on priced houses, not sales
        ratio = live / training if training > 0 else (math.inf if live > 0 else 0.0)
        return _above(ratio, limits.warned_ratio_watch, limits.warned_ratio_alert)
    if not enough:
        return NOT_ENOUGH
    if name == "coverage":
        return _below(live, limits.coverage_watch, limits.coverage_alert)
    return _above(live / training, limits.error_ratio_watch, limits.error_ratio_alert)


def _coverage_by_tenth(connection: Any, sold: Any, inside: Any) -> list[dict[str, Any]]:
    ranked = select(
        func.ntile(10).over(order_by=sold.c.price).label("tenth"), inside.label("inside")
    ).subquery()
    rows = connection.execute(
        select(ranked.c.tenth, func.count(), func.avg(ranked.c.inside))
        .group_by(ranked.c.tenth)
        .order_by(ranked.c.tenth)
    )
    return [
        {"tenth": int(tenth), "sales": int(count), "coverage": float(share)}
        for tenth, count, share in rows
    ]
