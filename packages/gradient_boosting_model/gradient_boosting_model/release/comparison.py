"""Two snapshots of the same houses compared: how far each price, range and warning moved.

A price's move is ``after / before - 1``. Why it moved is read off the explanations: a price is
the base price times one factor per field, so a house's log move is the base price's log move
plus the sum of its fields' log factor moves; the fields whose factors moved most (in log) are
the inputs whose effect the new model changed most for that house.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.release.snapshot import Snapshot
from gradient_boosting_model.tolerances import floats_agree, json_differences

FloatArray = npt.NDArray[np.float64]
IdArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FactorChange:
    """One field's factor for one house, before and after (1.0 where a model has no such
    field)."""

    field: str
    before: float
    after: float


@dataclass(frozen=True)
class Mover:
    """A house whose price moved, with the fields whose factors moved most for it."""

    id: int
    before: float
    after: float
    changes: tuple[FactorChange, ...]

    @property
    def move(self) -> float:
        """The price's relative move, ``after / before - 1``."""
        return self.after / self.before - 1


@dataclass(frozen=True)
class Comparison:
    """What changed between the baseline's answers and the current model's, house by house."""

    baseline_version: str
    current_version: str
    ids: IdArray
    #: Each house's price move, ``after / before - 1``.
    moves: FloatArray
    base_before: float
    base_after: float
    #: The houses moving most, the largest first.
    movers: tuple[Mover, ...]
    #: Houses warned about a field now that they were not warned about before, and the reverse.
    gained_warning: IdArray
    lost_warning: IdArray
    #: (Id, message) of each warning gained (on a field not warned about before), and lost.
    gained_messages: tuple[tuple[int, str], ...]
    lost_messages: tuple[tuple[int, str], ...]
    #: Each house's range width after over before.
    width_ratios: FloatArray
    #: Every difference beyond the tolerances of ``tolerances``, naming the house's Id.
    differences: tuple[str, ...]
    #: Values (prices, bounds, factors, the base price) that are not equal to the last bit;
    #: -1 when the explanations do not have the same fields.
    unequal_values: int

    @property
    def same_version(self) -> bool:
        """Whether the current model claims the baseline's version (a retraining)."""
        return self.baseline_version == self.current_version

    @property
    def bit_identical(self) -> bool:
        """Every value equal to the last bit, and the warnings the same."""
        return self.unequal_values == 0 and not self.differences

    def moving_more_than(self, level: float) -> IdArray:
        """The houses whose price moves by more than ``level`` (either way), the largest
        move first."""
        size = np.abs(self.moves)
        order = np.argsort(-size, kind="stable")
        ids: IdArray = self.ids[order][size[order] > level]
        return ids

    def share_moving_more_than(self, level: float) -> float:
        """The share of houses whose price moves by more than ``level``."""
        return float(np.mean(np.abs(self.moves) > level))

    @property
    def median_move(self) -> float:
        """The median size of a move (either way)."""
        return float(np.median(np.abs(self.moves)))

    @property
    def largest_move(self) -> tuple[int, float]:
        """The house moving most, and its move (signed)."""
        house = int(np.argmax(np.abs(self.moves)))
        return int(self.ids[house]), float(self.moves[house])

    def move_of(self, house_id: int) -> float:
        """The move of the house with Id ``house_id``."""
        return float(self.moves[np.flatnonzero(self.ids == house_id)[0]])


def compare(
    baseline: Snapshot, current: Snapshot, *, movers: int = 10, fields_per_mover: int = 3
) -> Comparison:
    """Compare ``current``'s answers with ``baseline``'s, for the same houses.

    Raises
    ------
    ValueError
        If the snapshots do not price the same houses in the same order (naming those that one
        of them lacks): every house is compared, none dropped.
    """
    if not np.array_equal(baseline.ids, current.ids):
        before, after = set(baseline.ids.tolist()), set(current.ids.tolist())
        raise ValueError(
            "the snapshots price different houses: "
            f"missing now {sorted(before - after)[:10]}, new {sorted(after - before)[:10]}"
            if before != after
            else "the snapshots price the same houses in different orders"
        )
    fields = list(dict.fromkeys([*baseline.fields, *current.fields]))
    log_before = _log_factors(baseline, fields)
    log_after = _log_factors(current, fields)
    moves = current.prices / baseline.prices - 1
    order = np.argsort(-np.abs(moves), kind="stable")[:movers]
    changed = np.abs(log_after - log_before)
    return Comparison(
        baseline_version=baseline.model_version,
        current_version=current.model_version,
        ids=baseline.ids,
        moves=moves,
        base_before=baseline.base_price,
        base_after=current.base_price,
        movers=tuple(
            Mover(
                id=int(baseline.ids[house]),
                before=float(baseline.prices[house]),
                after=float(current.prices[house]),
                changes=tuple(
                    FactorChange(
                        field=fields[column],
                        before=float(np.exp(log_before[house, column])),
                        after=float(np.exp(log_after[house, column])),
                    )
                    for column in np.argsort(-changed[house], kind="stable")[:fields_per_mover]
                ),
            )
            for house in order.tolist()
        ),
        gained_warning=_ids_warned(current, baseline),
        lost_warning=_ids_warned(baseline, current),
        gained_messages=_new_warnings(current, baseline),
        lost_messages=_new_warnings(baseline, current),
        width_ratios=_width_ratios(baseline, current),
        differences=tuple(_differences(baseline, current)),
        unequal_values=_unequal_values(baseline, current),
    )


def _log_factors(snapshot: Snapshot, fields: list[str]) -> FloatArray:
    """(houses x ``fields``) log factors, 0 for a field the snapshot's model does not have."""
    logs = np.zeros((len(snapshot), len(fields)), dtype=np.float64)
    columns = [fields.index(name) for name in snapshot.fields]
    logs[:, columns] = np.log(snapshot.factors)
    return logs


def _ids_warned(warned: Snapshot, other: Snapshot) -> IdArray:
    """Houses ``warned`` warns about a field that ``other`` does not."""
    houses = [
        house
        for house in range(len(warned))
        if warned.warned_fields(house) - other.warned_fields(house)
    ]
    ids: IdArray = warned.ids[houses]
    return ids


def _new_warnings(warned: Snapshot, other: Snapshot) -> tuple[tuple[int, str], ...]:
    """(Id, message) of each warning of ``warned`` on a field ``other`` does not warn about."""
    return tuple(
        (int(warned.ids[house]), message)
        for house in range(len(warned))
        for field, message in warned.warnings[house]
        if field not in other.warned_fields(house)
    )


def _width_ratios(baseline: Snapshot, current: Snapshot) -> FloatArray:
    before = baseline.upper - baseline.lower
    ratios: FloatArray = np.divide(
        current.upper - current.lower, before, out=np.full_like(before, np.nan), where=before > 0
    )
    return ratios


def _differences(baseline: Snapshot, current: Snapshot) -> list[str]:
    """The project's rule (``tolerances``) applied to every answer, house by house."""
    found = []
    if baseline.fields != current.fields:
        found.append(f"explained fields: {list(baseline.fields)} != {list(current.fields)}")
    elif not floats_agree(baseline.base_price, current.base_price):
        found.append(f"base price: {baseline.base_price!r} != {current.base_price!r}")
    for house in range(len(baseline)):
        before, after = baseline.record(house), current.record(house)
        if baseline.fields != current.fields:
            del before["factors"], after["factors"]
        found.extend(json_differences(before, after, where=f"Id {before['id']}"))
    return found


def _unequal_values(baseline: Snapshot, current: Snapshot) -> int:
    if baseline.fields != current.fields:
        return -1
    pairs = [
        (baseline.prices, current.prices),
        (baseline.lower, current.lower),
        (baseline.upper, current.upper),
        (baseline.factors, current.factors),
        (np.array([baseline.base_price]), np.array([current.base_price])),
    ]
    return sum(int(np.count_nonzero(before != after)) for before, after in pairs)
