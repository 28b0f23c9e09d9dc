"""Drift of the inputs: how far the houses a model is asked about are from its training houses.

At training, the distribution of each monitored input over the training houses is stored with
the model (``fit_distributions``): the required fields, the fields of the features whose
training range is warned about (``input_ranges``), and any others ``config.yml`` names.

- A number: bins cut at its training quantiles (deciles with ``drift.bins: 10``), each bin
  ``(lower edge, upper edge]`` and the outer two open-ended. Equal edges are merged, so a
  rating has a bin per grade and an area that is 0 for a third of the houses has a bin of
  zeros. Each edge is a value seen in training (the inverted-CDF quantile).
- A code: the share of each code seen in training, and an "other" bucket for codes it never
  saw (empty in training, by definition).
- Both: the share missing (null) is one more bucket.

A value the model works out is counted as that value: a size not given beside its feature's
kind given as null is 0, a detail of a feature of size 0 not given is none (``settled_houses``).
Any other value a house does not give is not counted as missing: a field left out (no key), or
a null where no training house had one (a number, a kind every house has), is an unknown, which
the model takes as typical and which says how a client asks, not what the houses are. A
field's index is over the houses that give it, and the unknowns are counted beside it
(``FieldDrift.unknown``).
Where training houses had nulls (a grade whose null means none, such as a basement's), a null
is a value, missing, counted as training counted it. Counted as missing, test.csv's houses sent
with the seven required fields (the others left out, or null) scored a PSI of 16 to 17 on each
of the six other monitored fields: alerts that no retraining could clear.

Live, ``input_drift`` compares a batch of houses (the last ones priced) with each by the
population stability index over those buckets (``drift_tally`` the same over houses added a
batch at a time, keeping only the counts of each bucket),
``PSI = sum((live - ref) * ln(live / ref))``, a symmetrised Kullback-Leibler divergence: 0 for
the same shares, below 0.1 stable, 0.1 to 0.25 worth watching, above 0.25 a real change (the
levels are ``drift.watch`` and ``drift.alert``).

Shares are floored at ``drift.floor`` (1e-4) before the sum: an empty bucket on one side would
make the logarithm infinite. The floor bounds what one new bucket can add: a code never seen in
training held by a share ``s`` of the live houses adds ``(s - floor) * ln(s / floor)``, 0.046
for 1 house in 100, 0.31 for 5 in 100: a new code alone alerts from about 1 house in 20.

A sample of houses like the training ones does not score 0, and small samples score high:
random windows of test.csv's houses score on ``Neighborhood`` (25 codes, several held by under
1% of houses, so often absent from a small window) 0.40 on average in windows of 100, 0.12 in
windows of 300, 0.05 in windows of 1000, where every field stays below 0.08. Judge windows of
1000 houses or more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import repeat
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.errors import InvalidInputError, ModelArtifactError
from gradient_boosting_model.house_values import (
    GivenValues,
    Houses,
    as_numbers,
    read_values,
    refused_values,
    value_fault,
)
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.seen_codes import as_sent, given_codes
from gradient_boosting_model.settled_houses import RULE_FIELDS, SETTLED_FIELDS, settled_houses

if TYPE_CHECKING:
    from gradient_boosting_model.trained_model import TrainedModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
Status = Literal["ok", "watch", "alert"]

#: Digits the metadata JSON keeps of a share (the artifact keeps them whole).
_SHARE_DIGITS = 6


def _shares(buckets: IntArray, size: int) -> FloatArray:
    """The share of ``buckets`` in each of ``size`` buckets."""
    return _divided(np.bincount(buckets, minlength=size), buckets.size)


def _divided(counts: IntArray, houses: int) -> FloatArray:
    """Counts of houses per bucket as shares of ``houses``: the training shares and the live
    ones are divided so alike, so that the training houses themselves score exactly 0."""
    shares: FloatArray = counts.astype(np.float64) / max(houses, 1)
    return shares


def _rounded(shares: Sequence[float]) -> list[float]:
    return [round(share, _SHARE_DIGITS) for share in shares]


@dataclass(frozen=True)
class NumberDistribution:
    """A number's training distribution: the shares of houses in bins, and missing."""

    field: str
    #: Ascending, distinct inner edges: bin 0 is ``(-inf, edges[0]]``, bin ``i``
    #: ``(edges[i-1], edges[i]]``, the last ``(edges[-1], inf)``.
    edges: tuple[float, ...]
    #: The share of training houses in each bin (``len(edges) + 1``).
    shares: tuple[float, ...]
    #: The share of training houses without a value.
    missing: float

    def buckets(self, values: Sequence[Any] | npt.NDArray[Any], *, sent: bool = True) -> IntArray:
        """Each value's bucket: its bin, or ``len(edges) + 1`` where it is missing (``None``;
        NaN too in a validated column, ``sent`` false: see ``house_values.as_numbers``)."""
        numbers = as_numbers(values, self.field, sent=sent)
        found = np.searchsorted(np.asarray(self.edges, dtype=np.float64), numbers, side="left")
        return np.where(np.isnan(numbers), len(self.edges) + 1, found).astype(np.intp)

    @property
    def reference(self) -> FloatArray:
        """The training shares of every bucket, in ``buckets`` order."""
        return np.array([*self.shares, self.missing])

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata."""
        return {
            "kind": "number",
            "edges": list(self.edges),
            "shares": _rounded(self.shares),
            "missing": round(self.missing, _SHARE_DIGITS),
        }


@dataclass(frozen=True)
class CodeDistribution:
    """A code's training distribution: the share of each code seen, and missing."""

    field: str
    #: The codes seen in training (numbers for numeric codes such as ``MSSubClass``).
    codes: tuple[str | int | float, ...]
    #: The share of training houses with each code, in ``codes`` order.
    shares: tuple[float, ...]
    #: The share of training houses without a value.
    missing: float

    def buckets(self, values: Sequence[Any] | npt.NDArray[Any], *, sent: bool = True) -> IntArray:
        """Each value's bucket: its code's place in ``codes``, ``len(codes)`` ("other") for a
        code never seen in training, ``len(codes) + 1`` where it is missing (``None``; NaN too
        in a validated column, ``sent`` false, where a numeric code is a float).

        Raises
        ------
        InvalidInputError
            If a value is not of the field's type (a text, or for a numeric code such as
            ``MSSubClass`` a number), or, ``sent``, is NaN, naming each such row in the
            schema's words (``house_values.refused_values``).
        """
        listed = values.tolist() if isinstance(values, np.ndarray) else list(values)
        other, missing = len(self.codes), len(self.codes) + 1
        places: dict[Any, int] = {code: place for place, code in enumerate(self.codes)}
        places[None] = missing
        try:
            found = np.array(list(map(places.get, listed, repeat(other))), dtype=np.intp)
        except TypeError as error:  # an unhashable value (a list, an object)
            raise refused_values(listed, self.field, sent=sent) from error
        for row in np.flatnonzero(found == other).tolist():  # rare: a code never seen, a NaN
            value = listed[row]
            if not sent and isinstance(value, float) and math.isnan(value):
                found[row] = missing
            elif value_fault(value, self.field, sent=sent):  # pd.NA, a number for a text, a NaN
                raise refused_values(listed, self.field, sent=sent)
        return found

    @property
    def reference(self) -> FloatArray:
        """The training shares of every bucket, in ``buckets`` order ("other" is empty)."""
        return np.array([*self.shares, 0.0, self.missing])

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata."""
        return {
            "kind": "code",
            "codes": list(self.codes),
            "shares": _rounded(self.shares),
            "missing": round(self.missing, _SHARE_DIGITS),
        }


FieldDistribution = NumberDistribution | CodeDistribution


@dataclass(frozen=True)
class FieldDrift:
    """How far one input of a batch of houses is from its training distribution."""

    #: The population stability index against the training distribution (0: the same shares),
    #: over the houses that give the field; NaN when none does.
    psi: float
    #: The houses it was measured on: those that give the field (a null where training had
    #: nulls counts, as missing) or whose value the model works out (``settled_houses``: a
    #: size left out beside its kind null is 0). Not every house added (``DriftTally.houses``).
    houses: int
    #: ``ok`` below the watch level, ``watch`` from it, ``alert`` from the alert level; ``ok``
    #: when no house gives the field (nothing was measured: ``houses`` is 0, ``psi`` NaN).
    status: Status
    #: The houses whose value is unknown: the field left out, or null where no training house
    #: had a null, and not worked out by the model either. Not measured.
    unknown: int


def population_stability_index(reference: FloatArray, live: FloatArray, *, floor: float) -> float:
    """``sum((live - ref) * ln(live / ref))`` over buckets, both shares floored at ``floor``.

    Parameters
    ----------
    reference, live
        The shares of the same buckets, each summing to 1.
    floor
        The smallest share counted, so that an empty bucket gives a finite index.
    """
    ref = np.maximum(reference, floor)
    now = np.maximum(live, floor)
    return float(np.sum((now - ref) * np.log(now / ref)))


@dataclass(frozen=True)
class InputDistributions:
    """The training distributions of the monitored inputs, and the drift levels."""

    fields: tuple[FieldDistribution, ...]
    #: The training houses the shares were counted on.
    houses: int
    #: The smallest share the index counts (``population_stability_index``).
    floor: float
    #: The index from which a field is worth watching, and from which it is an alert.
    watch: float
    alert: float

    @property
    def names(self) -> tuple[str, ...]:
        """The monitored fields, in order."""
        return tuple(distribution.field for distribution in self.fields)

    def status(self, psi: float) -> Status:
        """``ok``, ``watch`` or ``alert`` for an index of ``psi``."""
        return "alert" if psi >= self.alert else "watch" if psi >= self.watch else "ok"

    def drift(self, houses: Houses) -> dict[str, FieldDrift]:
        """Each monitored field's index over ``houses`` (``input_drift``)."""
        tally = DriftTally(self)
        tally.add(houses)
        return tally.drift()

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata."""
        return {
            "method": "population stability index over training quantile bins and codes",
            "houses": self.houses,
            "floor": self.floor,
            "watch": self.watch,
            "alert": self.alert,
            "fields": {d.field: d.describe() for d in self.fields},
        }


class DriftTally:
    """Drift over houses added a batch at a time (``drift_tally``): only each monitored
    field's count of houses in each bucket is kept, so a window of any size is measured in
    the memory of one batch. The same indexes as ``input_drift`` on all the houses at once
    (whole counts, divided once). One tally a window, added to by one thread."""

    def __init__(self, distributions: InputDistributions) -> None:
        self.distributions = distributions
        #: Per monitored field, in ``fields`` order: the houses in each of its buckets (of
        #: those that give the field).
        self.counts = [
            np.zeros(field.reference.size, dtype=np.int64) for field in distributions.fields
        ]
        #: The houses added.
        self.houses = 0

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields counted."""
        return self.distributions.names

    @cached_property
    def read_fields(self) -> tuple[str, ...]:
        """The fields read of each house: a caller may send only these. Those counted, and
        those that say whether a house has a feature (``settled_houses``): a garage's size a
        client left out beside its kind given as null is 0, as the model read it."""
        return tuple(dict.fromkeys([*self.fields, *RULE_FIELDS]))

    def add(self, houses: Houses) -> None:
        """Count ``houses`` (JSON-shaped, as ``input_drift`` takes them; none is fine).

        Raises
        ------
        InvalidInputError
            If ``houses`` is not a list of houses, or a value is not of its field's type
            (rows numbered within ``houses``); the batch is not counted, the tally goes on.
        """
        if isinstance(houses, str | bytes | Mapping) or not isinstance(houses, Sequence):
            raise InvalidInputError({}, "houses must be a list of house-detail objects")
        if len(houses) == 0:
            return
        values = read_values(houses, self.fields)
        counted = self._counted(values)
        # What the model works out of a house (``settled_houses``) is counted as it: the
        # houses it changes are counted again, settled, in place of as sent.
        not_given = self._not_given(values, len(houses))
        changed, settled = settled_houses(houses, not_given, self.fields)
        if changed:
            as_sent = self._counted(read_values([houses[row] for row in changed], self.fields))
            as_read = self._counted(read_values(settled, self.fields))
            for counts, sent, read in zip(counted, as_sent, as_read, strict=True):
                counts += read - sent
        # Added only once every field is read: a refused batch leaves the tally as it was.
        for counts, more in zip(self.counts, counted, strict=True):
            counts += more
        self.houses += len(houses)

    def _counted(self, values: list[GivenValues]) -> list[IntArray]:
        """Each field's houses in each of its buckets, of ``values`` (``read_values``).

        Raises
        ------
        InvalidInputError
            Naming every refused value of every field, by row, as ``make_prediction`` names
            them (the first field's alone hid the others, and a client fixing it met a second
            refusal).
        """
        counted: list[IntArray] = []
        refused: dict[int, dict[str, list[str]]] = {}
        for distribution, given, counts in zip(
            self.distributions.fields, values, self.counts, strict=True
        ):
            try:
                counted.append(np.bincount(_buckets(distribution, given), minlength=counts.size))
            except InvalidInputError as error:
                for row, faults in error.errors.items():
                    refused.setdefault(row, {}).update(faults)
        if refused:
            raise InvalidInputError(refused)  # which lists the rows in order
        return counted

    def _not_given(self, values: list[GivenValues], houses: int) -> set[int]:
        """The rows that leave out a counted field the rules may fill in, or give a number of
        them as null (a text's null is a value: none); a complete record, none. Found
        without reading a house again."""
        rows: set[int] = set()
        everyone: set[int] | None = None  # made once, for the first field some house leaves out
        for distribution, given in zip(self.distributions.fields, values, strict=True):
            if distribution.field not in SETTLED_FIELDS:
                continue
            if given.rows is not None:  # some house leaves it out
                everyone = everyone or set(range(houses))
                rows.update(everyone.difference(given.rows))
            if isinstance(distribution, NumberDistribution) and None in given.values:
                numbered = given.rows or range(len(given.values))
                rows.update(r for r, v in zip(numbered, given.values, strict=True) if v is None)
        return rows

    def drift(self) -> dict[str, FieldDrift]:
        """Each monitored field's index over the houses added.

        Raises
        ------
        InvalidInputError
            If no house was added.
        """
        if self.houses == 0:
            raise InvalidInputError({}, "no houses given: drift needs at least one")
        found = self.distributions
        drifts = {}
        for distribution, counts in zip(found.fields, self.counts, strict=True):
            given = int(counts.sum())
            psi = (
                population_stability_index(
                    distribution.reference, _divided(counts, given), floor=found.floor
                )
                if given
                else math.nan
            )
            status = found.status(psi) if given else "ok"
            drifts[distribution.field] = FieldDrift(psi, given, status, self.houses - given)
        return drifts


def _buckets(distribution: FieldDistribution, given: GivenValues) -> IntArray:
    """The buckets of the values given, a refused value named by its row in the batch; without
    the nulls of a field no training house had a null of (unknowns, as a field left out)."""
    try:
        found = distribution.buckets(given.values)
    except InvalidInputError as error:
        raise given.named_rows(error) from None
    if distribution.missing == 0:
        found = found[found != distribution.reference.size - 1]  # the missing bucket, last
    return found


def input_drift(model: TrainedModel, houses: Houses) -> dict[str, FieldDrift]:
    """How far ``houses`` are from the model's training houses, per monitored input.

    Parameters
    ----------
    model
        A trained model (``load_model()``): it holds its training distributions.
    houses
        JSON-shaped houses, as ``make_prediction`` takes them (``None`` for a missing value,
        no key for one left out), such as the last ones the model priced.

    Returns
    -------
    dict of str to FieldDrift
        Per monitored field (the required ones, those the warnings check, those
        ``config.yml`` adds), its population stability index over the houses that give it,
        how many those are, its status, and how many houses did not give it (``unknown``).

    Raises
    ------
    InvalidInputError
        If ``houses`` is empty, or a value is not of its field's type (houses the model
        accepted never are).
    ModelArtifactError
        If the model was trained without its inputs' distributions.

    Examples
    --------
    >>> drift = input_drift(load_model(), last_houses)  # doctest: +SKIP
    >>> drift["GrLivArea"]  # doctest: +SKIP
    FieldDrift(psi=0.0254, houses=1459, status='ok', unknown=0)
    """
    return _distributions(model).drift(houses)


def drift_tally(model: TrainedModel) -> DriftTally:
    """An empty ``DriftTally`` of ``model``'s monitored inputs: ``input_drift`` over houses
    added a batch at a time (a stored window read a few hundred houses at a time, say),
    holding only counts.

    Raises
    ------
    ModelArtifactError
        If the model was trained without its inputs' distributions.

    Examples
    --------
    >>> tally = drift_tally(load_model())  # doctest: +SKIP
    >>> for batch in batches_of_houses:  # doctest: +SKIP
    ...     tally.add(batch)
    >>> tally.drift()["GrLivArea"]  # doctest: +SKIP
    FieldDrift(psi=0.0254, houses=10000, status='ok', unknown=0)
    """
    return DriftTally(_distributions(model))


def monitored_fields(model: TrainedModel) -> tuple[str, ...]:
    """The fields ``input_drift`` measures. A caller sending it only some fields of each house
    sends ``drift_tally(model).read_fields``: these and those that say whether a house has a
    feature."""
    return _distributions(model).names


def _distributions(model: TrainedModel) -> InputDistributions:
    distributions: InputDistributions | None = getattr(model, "distributions", None)
    if distributions is None:
        raise ModelArtifactError("the model holds no input distributions: retrain it")
    return distributions


def fit_distributions(
    columns: Mapping[str, npt.NDArray[Any]],
    *,
    fields: Sequence[str],
    bins: int,
    floor: float,
    watch: float,
    alert: float,
) -> InputDistributions:
    """The distributions of ``fields`` over the training houses' validated ``columns``.

    A number's inner edges are its quantiles at ``1/bins, ..., (bins-1)/bins``, equal ones
    merged; a code's are the codes seen.
    """
    size = len(next(iter(columns.values())))
    made: list[FieldDistribution] = []
    for name in fields:
        column = columns[name]
        if HOUSE_FIELDS[name].metadata["kind"] == "number":
            edges = _edges(np.asarray(column, dtype=np.float64), bins)
            number = NumberDistribution(name, edges, (), 0.0)
            shares = _shares(number.buckets(column, sent=False), len(edges) + 2)
            made.append(replace(number, shares=_floats(shares[:-1]), missing=float(shares[-1])))
            continue
        seen = tuple(as_sent(code) for code in given_codes(column))
        code = CodeDistribution(name, seen, (), 0.0)
        shares = _shares(code.buckets(column, sent=False), len(code.codes) + 2)
        made.append(replace(code, shares=_floats(shares[:-2]), missing=float(shares[-1])))
    return InputDistributions(tuple(made), size, floor=floor, watch=watch, alert=alert)


def _edges(numbers: FloatArray, bins: int) -> tuple[float, ...]:
    """The distinct quantiles at ``1/bins ... (bins-1)/bins`` of the known ``numbers``."""
    known = numbers[~np.isnan(numbers)]
    if known.size == 0:
        return ()
    cuts = np.quantile(known, np.arange(1, bins) / bins, method="inverted_cdf")
    return tuple(float(edge) for edge in np.unique(cuts))


def _floats(shares: FloatArray) -> tuple[float, ...]:
    return tuple(float(share) for share in shares)
