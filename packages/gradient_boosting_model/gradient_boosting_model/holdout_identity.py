"""Which houses a model's holdout figures were measured on, and the check that a tool measuring it
again (the diff-test, the service's replay) reads the same ones.

Training records the holdout's identity in the metadata JSON and the card (``holdout_split``;
null for a model made before it was recorded): the split's settings, how many houses, and
SHA-256 digests of their sorted ``Id`` values and of their rows (every field, the sale price
too). Two holdouts are the same when the houses and the rows are: a changed seed, share,
threshold or CSV changes the Ids or the rows, and then a model's figures on the holdout read now
would be of houses it may have trained on. The settings are kept to say what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gradient_boosting_model.config import Config
from gradient_boosting_model.data import LabelledSplit
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.schemas import ID_FIELD

#: Hex digits of a digest shown in a message (the record keeps all 64).
SHOWN_DIGITS = 12
#: A SHA-256 digest as the record holds it: 64 lower-case hex digits.
SHA256_PATTERN = "^[0-9a-f]{64}$"


def _recorded(description: str, **more: str) -> Any:
    """A field of the record, its ``description`` (and any ``pattern``) in its metadata: the
    service's spec documents the card's ``holdout_split`` from them (``tools/house_spec.py``)."""
    return field(metadata={"description": description, **more})


class HoldoutMismatchError(ModelError):
    """The holdout a tool would read is not the one a model's figures were measured on."""


@dataclass(frozen=True)
class HoldoutIdentity:
    """The holdout's settings, its size, and digests of its houses' Ids and rows."""

    training_file: str = _recorded("The labelled file split, in the model package's datasets.")
    holdout_fraction: float = _recorded("The share of its houses held out of training.")
    split_seed: int = _recorded("The seed of the split.")
    max_living_area: float = _recorded(
        "Houses of a larger living area (GrLivArea) are in neither part."
    )
    houses: int = _recorded("The houses held out.")
    ids_sha256: str = _recorded("SHA-256 of their Ids, sorted, one a line.", pattern=SHA256_PATTERN)
    rows_sha256: str = _recorded(
        "SHA-256 of their rows as read (every field, the sale price too), in the Ids' order, "
        "one JSON text a line.",
        pattern=SHA256_PATTERN,
    )

    def to_json(self) -> dict[str, Any]:
        """As the metadata JSON records it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HoldoutIdentity:
        """The identity ``to_json`` wrote.

        Raises
        ------
        ModelError
            If ``data`` lacks a key of it.
        """
        try:
            return cls(
                training_file=str(data["training_file"]),
                holdout_fraction=float(data["holdout_fraction"]),
                split_seed=int(data["split_seed"]),
                max_living_area=float(data["max_living_area"]),
                houses=int(data["houses"]),
                ids_sha256=str(data["ids_sha256"]),
                rows_sha256=str(data["rows_sha256"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"a holdout record unreadable ({error!r}): {dict(data)}") from error

    def same_houses(self, other: HoldoutIdentity) -> bool:
        """Whether both are the same houses with the same rows (whatever the settings)."""
        return (self.houses, self.ids_sha256, self.rows_sha256) == (
            other.houses,
            other.ids_sha256,
            other.rows_sha256,
        )

    def __str__(self) -> str:
        return (
            f"{self.houses} houses of {self.training_file} (holdout_fraction "
            f"{self.holdout_fraction:g}, split_seed {self.split_seed}, max_living_area "
            f"{self.max_living_area:g}; Ids sha256 {self.ids_sha256[:SHOWN_DIGITS]}, rows "
            f"sha256 {self.rows_sha256[:SHOWN_DIGITS]})"
        )


def holdout_identity(split: LabelledSplit, config: Config) -> HoldoutIdentity:
    """The identity of ``split``'s holdout, made by ``config``'s settings."""
    rows = sorted(split.holdout, key=lambda row: int(row[ID_FIELD]))
    ids = "\n".join(str(row[ID_FIELD]) for row in rows)
    # JSON of each row as read (None for NA; ints where whole), keys sorted: one text a row.
    texts = "\n".join(json.dumps(row, sort_keys=True, separators=(",", ":")) for row in rows)
    data = config.data
    return HoldoutIdentity(
        training_file=data.training_file,
        holdout_fraction=data.holdout_fraction,
        split_seed=data.split_seed,
        max_living_area=data.max_living_area,
        houses=len(rows),
        ids_sha256=hashlib.sha256(ids.encode("utf-8")).hexdigest(),
        rows_sha256=hashlib.sha256(texts.encode("utf-8")).hexdigest(),
    )


def check_holdout(
    current: HoldoutIdentity, recorded: Mapping[str, Any] | None, *, measured: str
) -> str | None:
    """Check that the holdout read now is the one ``measured`` (say "model 0.3.4") was measured
    on, by its ``recorded`` identity. None when it is; a warning (one line) when nothing is
    recorded (an artifact or baseline made before the record was): the check cannot be made.

    Raises
    ------
    HoldoutMismatchError
        If the record names other houses or rows, the message naming both identities.
    """
    if recorded is None:
        return (
            f"{measured} records no holdout identity (made before it was recorded): not checked "
            f"that its holdout figures are of the houses read now, {current}"
        )
    theirs = HoldoutIdentity.from_json(recorded)
    if not theirs.same_houses(current):
        raise HoldoutMismatchError(
            f"the holdout read now, {current}, is not the one {measured} was measured on, "
            f"{theirs}: its figures would be of other houses, some perhaps trained on; use the "
            "config and data it was trained with"
        )
    return None
