"""A checked batch priced straight into the prices table's Arrow columns (``writing.PRICED``).

``predict.price_batch`` answers the API: a Python float, a ``PriceInterval`` and a list of
warnings per house, which score-houses then turned back into columns. Here the same stages
(``TrainedModel.compiled_stages`` and ``evidence``) give the same numbers, kept as arrays from
the log prices to the table: the dollars are ``price_batch``'s (``predict.rounded_dollars``,
the same function), a house is calibrated and partial as there (``Evidence.calibrated`` and
``Evidence.partial``), and only the few houses with warnings are visited one by one. That
per-house Python was a third of a worker's time. ``tests/integration/test_column_path.py``
holds it to ``price_batch`` house by house.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gradient_boosting_model.batch.writing import PRICED, WARNING
from gradient_boosting_model.house_batch import HouseBatch
from gradient_boosting_model.input_ranges import RangeWarning
from gradient_boosting_model.predict import default_model, rounded_dollars
from gradient_boosting_model.trained_model import TrainedModel


def warnings_column(warnings: Sequence[list[RangeWarning]]) -> pa.Array:
    """Each house's warnings as a ``list<WARNING>`` array (an empty list for most houses)."""
    counts = np.fromiter(map(len, warnings), dtype=np.int32, count=len(warnings))
    offsets = np.zeros(len(warnings) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    found = [warning for house in np.flatnonzero(counts).tolist() for warning in warnings[house]]
    items = pa.StructArray.from_arrays(
        [
            pa.array([warning.field for warning in found], type=pa.string()),
            pa.array([warning.message for warning in found], type=pa.string()),
        ],
        fields=list(WARNING),
    )
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=pa.list_(WARNING))


def priced_table(
    batch: HouseBatch,
    *,
    rows: npt.NDArray[np.int64],
    ids: pa.Array | pa.ChunkedArray,
    model: TrainedModel | None = None,
) -> pa.Table:
    """``price_batch(batch)`` as the prices table's columns, ``rows`` and ``ids`` (int64, null
    where a row has none) naming each house."""
    trained = model or default_model()
    evidence = trained.evidence(trained.compiled_stages(batch))
    prices, lower, upper = rounded_dollars(evidence)  # as price_batch's
    warnings = warnings_column(evidence.warnings)
    columns: dict[str, Any] = {
        "row": rows,
        "Id": ids,
        "price": prices,
        "lower": lower,
        "upper": upper,
        "level": np.full(batch.houses, trained.intervals.level),
        # As ``predict.PriceInterval``'s (``Evidence.calibrated``, ``Evidence.partial``).
        "calibrated": evidence.calibrated,
        "partial": evidence.partial,
        "warnings": warnings,
    }
    return pa.table(columns, schema=PRICED)
