"""Live figures from the store: accuracy and range coverage on the sales that came back, the
share of houses warned, drift of each monitored input; each beside its training figure, with a
verdict.

Windows: the last ``predictions`` priced houses, and the last ``sales`` sales received (each
joined to its priced house). Counts, means and the coverage by tenth of predicted price are
SQL aggregates over the window; the median error takes the window's errors (one float a sale),
and drift the window's houses, a few hundred at a time (``DRIFT_BATCH``), which the model
package counts against its training distributions and judges by the levels its config declares
(``gradient_boosting_model.drift_tally``): a worker holds a batch of houses at a time, whatever
the window (10,000 by default, up to ``ML_API_MAX_MONITORING_PREDICTIONS``, 100,000 by
default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import Engine, Text, case, cast, func, select

from api.store.comparison import Versions, calibrated_coverage, compare
from api.store.rows import FloatArray, float_columns
from api.store.tables import (
    NO_WARNED_FIELDS,
    PREDICTIONS_NEWEST_FIRST,
    SALES_NEWEST_FIRST,
    not_indexed,
    predictions,
    sales,
)

if TYPE_CHECKING:
    from gradient_boosting_model import FieldDrift

#: Verdicts, mildest first; ``not_enough_data`` below the settings' minimum of sales (of
#: houses whose range was marked calibrated) or of houses.
VERDICTS = ("ok", "watch", "alert")
NOT_ENOUGH = "not_enough_data"
#: Groups of the coverage by price (``Sold.coverage_by_tenth``): tenths, from as many sales.
TENTHS = 10


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
    #: Houses below which a field's drift (over the houses that give the field) and the share
    #: of houses warned (over the priced houses) get no verdict: both are shares of houses,
    #: and 2 warned of 10 read as an alert.
    min_drift_houses: int


#: Stored houses read, parsed and counted for drift at a time. The window's houses were read
#: whole (10,000 by default, 100,000 at most): a window of 100,000 took a worker 97 MB more
#: for the moment, now 4 (1000 at a time: 6), in the same time on SQLite; on PostgreSQL
#: (server-side cursor: a round trip a batch) 230 ms with 1000, 239 with 250 (10,000 of
#: 200,000 stored houses, in turns). A worker under four 10-s loads of one-house requests, the
#: monitor refreshing every 5 s, held 19 MB more with recording on than off (what the
#: allocators kept of the refreshes, mostly), now 8 (1000: 11; 4000: 22).
DRIFT_BATCH = 250


class Tally(Protocol):
    """Drift counted over houses added a batch at a time (``gradient_boosting_model.
    DriftTally``)."""

    @property
    def houses(self) -> int:
        """The houses added so far."""
        ...

    @property
    def fields(self) -> Sequence[str]:
        """The fields counted."""
        ...

    def add(self, houses: Sequence[dict[str, Any]]) -> None: ...

    def drift(self) -> Mapping[str, FieldDrift]: ...


#: Makes an empty tally for each window measured (``drift_tally`` of the model).
NewTally = Callable[[], Tally]


def _above(value: float, watch: float, alert: float) -> str:
    return "alert" if value > alert else "watch" if value > watch else "ok"


def _below(value: float, watch: float, alert: float) -> str:
    return "alert" if value < alert else "watch" if value < watch else "ok"


def _recent_predictions(window: Window, model_version: str) -> Any:
    return (
        select(predictions.c.warned_fields, predictions.c.house, predictions.c.created_at)
        .where(predictions.c.model_version == model_version)
        .order_by(*PREDICTIONS_NEWEST_FIRST)
        .limit(window.predictions)
        .subquery()
    )


def version_sales(model_version: str, *columns: Any) -> Any:
    """A query of ``columns`` of the sales of houses ``model_version`` priced: the sales a
    window counts (``SoldWindow``), and the live monitor's check for a late batch of them."""
    return (
        select(*columns)
        .join(predictions, predictions.c.id == sales.c.prediction_id)
        .where(not_indexed(predictions.c.model_version) == model_version)
    )


def _recent_sales(window: Window, model_version: str) -> Any:
    return (
        version_sales(
            model_version,
            predictions.c.price,
            predictions.c.log_price,
            predictions.c.lower,
            predictions.c.upper,
            sales.c.sale_price,
            sales.c.log_sale_price,
            predictions.c.calibrated,
        )
        .order_by(*SALES_NEWEST_FIRST)
        .limit(window.sales)
    )


@dataclass(frozen=True)
class SoldWindow:
    """The window's sales, a column each: read in one query (the window is bounded by the
    settings) and measured in numpy; three aggregate queries over the same join would repeat
    its lookups three times."""

    price: FloatArray
    log_price: FloatArray
    lower: FloatArray
    upper: FloatArray
    sale_price: FloatArray
    log_sale_price: FloatArray
    #: Where the house's range was marked calibrated.
    calibrated: npt.NDArray[np.bool_]

    @classmethod
    def read(cls, connection: Any, window: Window, model_version: str) -> SoldWindow:
        """The window's sales of houses ``model_version`` priced."""
        price, log_price, lower, upper, sale_price, log_sale_price, calibrated = float_columns(
            connection.execute(_recent_sales(window, model_version)).all(), 7
        )
        return cls(price, log_price, lower, upper, sale_price, log_sale_price, calibrated == 1)

    def __len__(self) -> int:
        return len(self.price)

    @property
    def calibrated_sales(self) -> int:
        """The sales of houses whose range was marked calibrated: what the accuracy and the
        coverage rest on."""
        return int(np.count_nonzero(self.calibrated))

    @cached_property
    def inside(self) -> npt.NDArray[np.bool_]:
        """Whether each sale price is inside its house's 90% range (the coverage and its
        tenths read it: made once)."""
        return (self.lower <= self.sale_price) & (self.sale_price <= self.upper)

    def figures(self) -> dict[str, float | None]:
        """Accuracy and coverage over the sales of houses whose range was marked calibrated:
        houses like the training ones, as the training figures beside them are measured. A
        house that left details out is priced less closely by design (the model package's
        README: RMSLE 0.22 with the seven required fields), and counted in all, a client
        sending such houses read as a model to retrain."""
        kept = self.calibrated
        if not kept.any():
            return {"rmsle": None, "median_ape": None, "coverage": None}
        price, sale_price = self.price[kept], self.sale_price[kept]
        errors = self.log_price[kept] - self.log_sale_price[kept]
        return {
            "rmsle": float(np.sqrt(np.mean(errors**2))),
            "median_ape": float(np.median(np.abs(price - sale_price) / sale_price)),
            "coverage": calibrated_coverage(self.inside, kept),
        }

    def coverage_by_tenth(self) -> list[dict[str, Any]]:
        """Coverage in each tenth of predicted price of the houses whose range was marked
        calibrated, cheapest first, split as SQL's ``NTILE(10)`` splits (the first tenths take
        one more sale when they cannot be equal); none below 10 such sales, which make no
        tenths (3 sales made 3 groups, each called a tenth: a monitoring probe's)."""
        kept = self.calibrated
        if self.calibrated_sales < TENTHS:
            return []
        inside = self.inside[kept][np.argsort(self.price[kept], kind="stable")]
        tenths = np.array_split(inside, TENTHS)
        return [
            {"tenth": number, "sales": len(tenth), "coverage": float(np.mean(tenth))}
            for number, tenth in enumerate(tenths, start=1)
        ]


def measure(
    engine: Engine,
    window: Window,
    *,
    model_version: str,
    training: Mapping[str, float],
    thresholds: Thresholds,
    new_tally: NewTally | None = None,
    versions: Versions | None = None,
) -> dict[str, Any]:
    """The live figures over ``window`` of the houses ``model_version`` priced (the model
    served: ``training`` holds its own figures, which another version's prices were no
    measure of, nor its warnings, nor the inputs it was trained on), each beside
    ``training``'s, with verdicts; the window's houses are counted in a ``new_tally()``, which
    judges their drift; with ``versions``, a challenger beside the champion
    (``comparison.compare``)."""
    houses = _recent_predictions(window, model_version)
    tally = new_tally() if new_tally is not None else None
    with engine.connect() as connection:
        # Warned: a house whose warnings name a field ("[]" as written: none). Not the houses
        # whose range is not calibrated, which are also those that leave details out.
        unwarned = cast(houses.c.warned_fields, Text) == NO_WARNED_FIELDS
        priced, warned, first, last = connection.execute(
            select(
                func.count(),
                func.avg(case((unwarned, 0.0), else_=1.0)),
                func.min(houses.c.created_at),
                func.max(houses.c.created_at),
            )
        ).one()
        sold = SoldWindow.read(connection, window, model_version)
        if tally is not None:
            _count_drift(connection, houses, tally)
        challenger = (
            compare(
                connection,
                versions,
                houses=window.predictions,
                window_sales=window.sales,
                min_sales=thresholds.min_sales,
                coverage_alert=thresholds.coverage_alert,
            )
            if versions is not None
            else None
        )
    # What each figure rests on: the warned share on priced houses, the others on the sales
    # of houses whose range was marked calibrated. Below ``min_sales`` of those, no accuracy
    # figure is given at all: of one sale, the median error and the house's price give the sale
    # price (a probe recovered one from /v1/monitoring, which no token guards).
    judged = sold.calibrated_sales >= thresholds.min_sales
    accuracy = sold.figures()
    if not judged:
        accuracy = dict.fromkeys(accuracy)
    enough = {"warned_share": priced >= thresholds.min_drift_houses}
    figures = {**accuracy, "warned_share": float(warned) if priced else None}
    checks = {
        name: {
            "live": value,
            "training": training.get(name),
            "verdict": _verdict(
                name,
                value,
                training.get(name),
                thresholds,
                enough=enough.get(name, judged),
            ),
        }
        for name, value in figures.items()
    }
    return {
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_version": model_version,
        "window": {
            "predictions": window.predictions,
            "sales": window.sales,
            "first_priced_at": _utc_text(first),
            "last_priced_at": _utc_text(last),
        },
        "priced_houses": int(priced),
        "sales": len(sold),
        "calibrated_sales": sold.calibrated_sales,
        "checks": checks,
        "coverage_by_tenth_of_price": sold.coverage_by_tenth() if judged else [],
        "drift": _drift_entries(tally, thresholds),
        "challenger": challenger,
    }


def _utc_text(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 text in UTC, to the second (SQLite gives back the UTC time
    written without its zone)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _drift_entries(tally: Tally | None, thresholds: Thresholds) -> dict[str, Any]:
    """Each monitored field's drift over the window. A field is judged over the houses that
    give it or whose value the model works out (those that did not, leaving it out or null
    where training had no null, are counted apart: ``gradient_boosting_model.drift``); an
    empty window has every field, with nothing measured (its gauges then say so, not the last
    window's figures)."""
    if tally is None:
        return {}
    if not tally.houses:
        return {
            field: {"psi": None, "houses": 0, "unknown": 0, "verdict": NOT_ENOUGH}
            for field in tally.fields
        }
    return {
        field: {
            "psi": None if math.isnan(found.psi) else found.psi,
            "houses": found.houses,
            "unknown": found.unknown,
            "verdict": found.status if found.houses >= thresholds.min_drift_houses else NOT_ENOUGH,
        }
        for field, found in tally.drift().items()
    }


def _count_drift(connection: Any, houses: Any, tally: Tally) -> None:
    """Add the window's houses to ``tally``, ``DRIFT_BATCH`` at a time, each stored document as
    the client sent it (a field left out still left out: the model's tally tells it from a
    null, and works out what the rules settle from the fields that say whether a house has a
    feature): the documents come as text (a server-side cursor where the database has one, so
    that no more are held at once), and orjson parses each once, the tally reading only its
    fields. 10,000 houses' fields, read 1000 at a time: PostgreSQL 240 -> 160-180 ms, where
    ``json_to_record`` and ``json_agg`` took the server itself 214 ms; SQLite 295 -> 140 ms,
    where SQLAlchemy's JSON index parsed each document once a field and quoted and decoded each
    value apart. Copying each house's counted fields out first cost 10,000 complete houses 40
    ms more (0.14 against 0.10 s of the tally's time, with the rules' fields)."""
    if not tally.fields:
        return
    documents = connection.execute(
        select(cast(houses.c.house, Text)), execution_options={"yield_per": DRIFT_BATCH}
    ).scalars()
    for texts in documents.partitions(DRIFT_BATCH):
        tally.add(list(map(orjson.loads, texts)))


def _verdict(
    name: str, live: float | None, training: float | None, limits: Thresholds, *, enough: bool
) -> str:
    """``name``'s verdict; ``enough``: whether the window holds enough to judge it by."""
    if live is None or training is None or not enough:
        return NOT_ENOUGH
    if name == "warned_share":
        ratio = live / training if training > 0 else (math.inf if live > 0 else 0.0)
        return _above(ratio, limits.warned_ratio_watch, limits.warned_ratio_alert)
    if name == "coverage":
        return _below(live, limits.coverage_watch, limits.coverage_alert)
    return _above(live / training, limits.error_ratio_watch, limits.error_ratio_alert)
