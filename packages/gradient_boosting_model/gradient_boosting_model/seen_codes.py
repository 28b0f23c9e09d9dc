"""The codes of every category and grade field seen in training, and warnings for the others.

A category's code no training house had is priced as if it were unknown: the fitted steps make
it NaN and impute a typical code, and the Lasso has no indicator for it; a grade no training
house had is scored on its scale (``BsmtQual`` Po between none and Fa), a score the trees and
the Lasso never fitted. The holdout's five such houses
(``Exterior1st`` BrkComm, ``Utilities`` NoSeWa, ``MiscFeature`` TenC ...) were priced a median
20% from their sale prices, four times the holdout's median error, with no word said. The input
ranges (``input_ranges``) checked the codes of the most important categories only, and a grade
at the ends of its scale: ``BsmtQual`` Po, between training's none and Fa, went unwarned.

So every category and grade field's seen codes are kept with the model, and a house with a code
given (not null, not left out: those are assumed, never warned about) that is not among them is
warned: ``Exterior1st CBlock was not seen in training`` (since 0.4.0, fitted on the holdout
too, BrkComm is seen). A validated batch is checked on its codes in a few array operations (one
house: a few microseconds); other columns value by value.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.batch_rules import batch_layout, batch_rules
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.house_batch import BatchLayout, HouseBatch, code_offsets
from gradient_boosting_model.missing import is_missing
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.shown_values import shown

Columns = Mapping[str, npt.NDArray[Any]]
#: The kinds of house field whose values are codes.
CODE_KINDS = ("category", "grade")


def as_sent(code: Any) -> Any:
    """A code as a client sends it, for JSON: a whole number as an integer (MSSubClass 20, as
    the house schema takes it and the spec's model card shows it, where training's columns
    kept 20.0), anything else as it is."""
    if isinstance(code, float) and code.is_integer():
        return int(code)
    return code


def is_unseen(code: Any, seen: Container[Any]) -> bool:
    """Whether ``code`` is warned of: given (not null, not left out) and not among the codes
    ``seen`` in training."""
    return not is_missing(code) and code not in seen


def unseen_message(field: str, code: Any) -> str:
    """The warning's text for ``field``'s ``code``, which no training house had."""
    return f"{field} {shown(code)} was not seen in training"


@dataclass(frozen=True, eq=False)
class SeenCodes:
    """Per checked field (a category or a grade), the codes its training houses had."""

    #: Sorted (``given_codes``): a set's pickle follows the process's string hashing, so an
    #: artifact holding sets would differ from one training to the next.
    seen: Mapping[str, tuple[Any, ...]]

    def unseen(self, raw: Columns) -> list[tuple[int, str, Any]]:
        """Each (house, field, code) of ``raw`` whose code was given and not seen in training,
        house by house, each house's in the order of ``seen``."""
        if not (isinstance(raw, HouseBatch) and not raw.uncoded and raw.layout is self._layout):
            return self._unseen_by_value(raw)
        found: list[tuple[int, str, Any]] = []
        flags = self._code_table.take(raw.text_codes + self._offsets)
        if flags.any():  # most batches have no such code: one test of the whole matrix
            names = self._layout.text_names
            # The houses first, then their fields: argwhere of the whole matrix took 1459
            # houses 0.2 ms, most of the check.
            for house in np.flatnonzero(flags.any(axis=1)).tolist():
                found += [
                    (house, names[field], raw.texts[house][field])
                    for field in np.flatnonzero(flags[house]).tolist()
                ]
        for field, position, unseen_values in self._number_codes:
            column = raw.numbers[:, position]
            hits = np.equal.outer(column, unseen_values)  # np.isin: twice the time, one house
            if hits.any():
                houses = np.flatnonzero(hits.any(axis=1)).tolist()
                found += [(house, field, column[house].item()) for house in houses]
        return sorted(found, key=self._house_then_field) if len(found) > 1 else found

    def _house_then_field(self, item: tuple[int, str, Any]) -> tuple[int, int]:
        return item[0], self._order[item[1]]

    def _unseen_by_value(self, raw: Columns) -> list[tuple[int, str, Any]]:
        """``unseen`` for columns of values (the fitted pipeline's, training's)."""
        found = [
            (house, field, code)
            for field in self.seen
            if field in raw
            for house, code in enumerate(_values(raw[field]))
            if is_unseen(code, self._sets[field])
        ]
        return sorted(found, key=self._house_then_field)

    @cached_property
    def _sets(self) -> dict[str, frozenset[Any]]:
        return {field: frozenset(codes) for field, codes in self.seen.items()}

    @cached_property
    def _order(self) -> dict[str, int]:
        return {field: position for position, field in enumerate(self.seen)}

    @cached_property
    def _layout(self) -> BatchLayout:
        return batch_layout()

    @cached_property
    def _code_table(self) -> npt.NDArray[np.bool_]:
        """Per text field of the batches' layout and per allowed value (``text_choices``, one
        run of values a field), whether a house with that value is warned about."""
        flags: list[bool] = []
        for field, choices in zip(self._layout.text_names, self._layout.text_choices, strict=True):
            seen = self._sets.get(field)
            flags.extend(seen is not None and is_unseen(code, seen) for code in choices)
        return np.array(flags, dtype=np.bool_)

    @cached_property
    def _number_codes(self) -> list[tuple[str, int, npt.NDArray[np.float64]]]:
        """The checked fields whose codes are numbers (MSSubClass), with their column in the
        batches' number matrix and the allowed codes training did not see."""
        choices = batch_rules().numbers.choices
        checks = []
        for field, seen in self._sets.items():
            position = self._layout.number_positions.get(field, -1)
            if position not in choices:  # a text field, or a number without codes
                continue
            unseen = [code for code in choices[position].tolist() if code not in seen]
            checks.append((field, position, np.array(unseen, dtype=np.float64)))
        return checks

    @cached_property
    def _offsets(self) -> npt.NDArray[np.intp]:
        """Where each text field's run of values starts in ``_code_table``."""
        return code_offsets(self._layout.text_choices)

    def __getstate__(self) -> dict[str, Any]:
        derived = ("_sets", "_order", "_layout", "_code_table", "_number_codes", "_offsets")
        return trained(self.__dict__, *derived)

    def describe(self) -> dict[str, list[Any]]:
        """JSON-shaped, for the metadata and ``GET /v1/model``: per checked field, its codes
        seen in training."""
        return {field: list(codes) for field, codes in self.seen.items()}


def code_order(code: Any) -> tuple[bool, float, str]:
    """The order codes are kept and shown in: numbers (MSSubClass) by value, first; texts by
    their letters (``given_codes``)."""
    if isinstance(code, int | float) and not isinstance(code, bool):
        return False, float(code), ""
    return True, 0.0, str(code)


def _values(column: Any) -> Iterable[Any]:
    values: Iterable[Any] = column.tolist() if isinstance(column, np.ndarray) else column
    return values


def given_codes(column: Any) -> tuple[Any, ...]:
    """The codes given in ``column`` (not null, not left out), each once, in ``code_order``:
    what a field's training houses had, as the model keeps it (``SeenCodes``, a category's
    range in ``input_ranges``, a code's distribution in ``drift``)."""
    given = {code for code in _values(column) if not is_missing(code)}
    return tuple(sorted(given, key=code_order))


def fit_seen_codes(raw: Columns, skipped: Iterable[str] = ()) -> SeenCodes:
    """The codes each category and grade field had in the training columns ``raw`` (not null,
    not left out), but for the ``skipped`` fields (checked otherwise)."""
    skip = set(skipped)
    return SeenCodes(
        {
            name: given_codes(raw[name])
            for name, field in HOUSE_FIELDS.items()
            if field.metadata["kind"] in CODE_KINDS and name not in skip and name in raw
        }
    )
