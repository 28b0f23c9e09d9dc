"""A release's last check: the holdout replayed through the service, the new model as the
challenger of the one served, and ``/v1/monitoring``'s side-by-side verdict.

    python -m tools.replay --challenger NEW.joblib [--champion OLD.joblib]

A real server (gunicorn, 127.0.0.1 only, its own SQLite store) serves ``--champion`` (by
default the packaged model) with ``--challenger`` priced in the shadow; the package's labelled
holdout is priced through it, its sale prices posted back, and the comparison printed as JSON,
then the conclusion in one line. The holdout is the one set neither model trained on, so this is
read once per release.

Exit status: 1 when the challenger is ``worse`` (the release stops); 0 when it is ``better``, the
``same``, or ``not yet known`` on the whole holdout (no difference the holdout can detect: the
release may go if its purpose is met, the interval quoted in its commit); 2 when the replay could
not start, or counted fewer sales than the holdout's houses (no verdict of the holdout).

Exit status 3: the holdout the installed config splits off is not the one either model's holdout
figures were measured on (its ``holdout_split``; one line naming both); a model whose metadata
does not record it is said so ("warning: ...") and the replay goes on.

Each side is measured by the model the holdout measures for its file
(``persistence.holdout_model_path``): the file itself, or, for a model fitted on the holdout too
(``fitted_on`` ``all_labelled``, 0.4.0 on), its twin beside it, the same version's procedure
fitted on the training split alone (``..._v0.4.0.twin.joblib``, version ``0.4.0+twin``): the
server serves and shadows those, and a line on stderr says each side so replaced. A model
fitted on the holdout whose twin is missing is refused in one line, exit status 2. The
versions are ordered as the files given are (a release after the one before it); the twins'
are what the service compares, so the comparison and the last line name them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from gradient_boosting_model import ModelError, load_card
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import LabelledSplit, features_and_target, split_holdout
from gradient_boosting_model.holdout_identity import (
    HoldoutMismatchError,
    check_holdout,
    holdout_identity,
)
from gradient_boosting_model.persistence import artifact_path, holdout_model_path
from gradient_boosting_model.versions import is_after

from tools import server as real_server

#: The exit status of a replay refused for another holdout than the models were measured on.
HOLDOUT_MISMATCH = 3
TOKEN = "replay-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@cache
def _split() -> LabelledSplit:
    """The package's labelled houses split as its config says: read once, for the holdout's
    identity (``check_models``) and its houses (``holdout``)."""
    return split_holdout(load_config())


def holdout() -> tuple[list[dict[str, Any]], npt.NDArray[np.float64]]:
    """The houses of the holdout the replay prices and their sale prices (the package's
    config)."""
    return features_and_target(_split().holdout, load_config())


@dataclass(frozen=True)
class Side:
    """One model of the replay: the file given for it and the one the holdout measures for it
    (``measured_side``)."""

    #: ``challenger`` or ``champion``.
    role: str
    #: The file given (for a champion not given, the packaged model's).
    named: Path
    #: Whether ``named`` was given on the command line (``--champion``).
    given: bool
    #: The file the replay serves for it: ``named``, or its twin where ``named`` was fitted on
    #: the holdout too.
    measured: Path
    #: The cards of ``named`` and of ``measured`` (one card when they are one file), read once.
    named_card: dict[str, Any]
    measured_card: dict[str, Any]

    @property
    def named_version(self) -> str:
        return str(self.named_card["version"])

    @property
    def where(self) -> str:
        """The side as the command line gave it, for messages."""
        if self.role == "challenger":
            return f"the challenger {self.named}"
        return f"--champion {self.named}" if self.given else "the packaged model (no --champion)"

    def replacement(self) -> str | None:
        """The line that says the side is replaced by its twin; ``None`` if it is not."""
        if self.measured == self.named:
            return None
        return (
            f"replay: {self.role} {self.named_version} ({self.where}) was fitted on the holdout "
            f"too: its twin {self.measured_card['version']}, fitted on the training split "
            f"alone, is replayed in its place ({self.measured})"
        )


def measured_side(role: str, path: Path | None) -> Side:
    """The replay's ``role`` for the file at ``path`` (``None``: the packaged model's).

    Raises
    ------
    ModelError
        If the file's metadata is unreadable, or says it was fitted on the holdout too and its
        twin is missing (the holdout would measure a model fitted on it).
    """
    config = load_config()
    named = path if path is not None else artifact_path(config)
    measured = holdout_model_path(config, path=named)
    named_card = load_card(named)
    return Side(
        role=role,
        named=named,
        given=path is not None,
        measured=measured,
        named_card=named_card,
        measured_card=named_card if measured == named else load_card(measured),
    )


def replay(
    challenger: Path,
    champion: Path | None = None,
    *,
    houses: list[dict[str, Any]],
    prices: npt.NDArray[np.float64],
) -> dict[str, Any]:
    """``houses`` priced by ``champion`` with ``challenger`` in the shadow, sold back at
    ``prices``; the ``challenger`` part of ``/v1/monitoring``."""
    with tempfile.TemporaryDirectory(prefix="ml_api_replay_") as scratch:
        env = {
            "ML_API_STATE_DIR": scratch,
            "ML_API_CHALLENGER_ARTIFACT": str(challenger.resolve()),
            "ML_API_FEEDBACK_TOKENS": TOKEN,
            **({"ML_API_MODEL_ARTIFACT": str(champion.resolve())} if champion else {}),
        }
        with real_server.running(Path(scratch) / "server.log", env) as server:
            priced = httpx.post(f"{server.url}/v1/predictions", json=houses, timeout=60)
            priced.raise_for_status()
            sold = [
                {"prediction_id": i, "sale_price": float(price), "sold_on": "2010-06-30"}
                for i, price in zip(priced.json()["prediction_ids"], prices, strict=True)
            ]
            window = {"predictions": len(houses), "sales": len(houses)}
            deadline = time.monotonic() + 30
            while True:  # the houses are written within a second or so: then they can sell
                posted = httpx.post(
                    f"{server.url}/v1/sales",
                    json=sold,
                    headers=AUTH,
                    timeout=30,
                )
                if posted.status_code != 422 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            posted.raise_for_status()
            deadline = time.monotonic() + 30
            while True:  # the challenger's prices are written apart, within a second or so
                figures = httpx.get(
                    f"{server.url}/v1/monitoring", params=window, headers=AUTH, timeout=60
                )
                figures.raise_for_status()
                compared: dict[str, Any] = figures.json()["challenger"]
                if compared["sales"] >= len(houses) or time.monotonic() > deadline:
                    return compared
                time.sleep(0.5)


def check_models(challenger: Side, champion: Side) -> list[str]:
    """Refuse, in one sentence, a replay that could not start or would mean nothing; the
    warnings (one line each) of a model whose holdout is not recorded, and so not checked.

    The versions are ordered as the files given are (``named``): a twin's local label
    (``0.4.0+twin``) names no release, and orders by letter among a release's labelled builds
    (``0.4.0+replayed`` before it). The holdout each was measured on is the measured model's.

    Raises
    ------
    ModelError
        If either model's files are missing or unreadable.
    ValueError
        If the challenger is of the champion's version: with no ``--champion``, the packaged
        model is the one installed last, the new release itself once its wheel is installed
        (``make replay`` installs it), so the version before must be given. Or if its version
        is before the champion's: the two files swapped (a probe's ``--challenger OLD
        --champion NEW``) replayed a worse new release as ``better``, exit status 0. Or if
        the two are measured by models of one version (a model's twin given as the challenger
        of the model): the service would compare a model with itself.
    HoldoutMismatchError
        If the holdout the config splits off now is not the one either model was measured on
        (a changed seed, share or CSV): the replay would price houses one of them may have
        trained on.
    """
    new, served = challenger.named_version, champion.named_version
    where = champion.where
    if new == served:
        raise ValueError(
            f"{challenger.where} is version {new}, as {where} is: give the file of the "
            "version served before it as --champion (CHAMPION=...; keep a copy of it before "
            "training the new one, which replaces it)"
        )
    if not is_after(new, served):
        raise ValueError(
            f"{challenger.where} is version {new}, before {served} ({where}): the "
            "replay judges a new release served in the shadow of the one before it; give the "
            "new version's file as --challenger (CHALLENGER=...) and the older one's as "
            "--champion (CHAMPION=...)"
        )
    new_card, served_card = challenger.measured_card, champion.measured_card
    if new_card["version"] == served_card["version"]:
        raise ValueError(
            f"{challenger.where} (version {new}) and {where} (version {served}) are both "
            f"measured by version {new_card['version']} ({challenger.measured}): the replay "
            "would compare a model with itself; give the files of two releases"
        )
    read_now = holdout_identity(_split(), load_config())
    checked = [
        check_holdout(read_now, card["holdout_split"], measured=f"{name} {card['version']}")
        for name, card in (
            (f"{challenger.where}, version", new_card),
            (f"the champion, {where}, version", served_card),
        )
    ]
    return [warning for warning in checked if warning]


def conclusion(compared: dict[str, Any], houses: int) -> tuple[int, str]:
    """The replay's exit status and its one-line conclusion, from ``/v1/monitoring``'s
    ``challenger`` after the ``houses`` of the holdout were priced and sold back.

    ``not_yet_known`` on the service means that more sales may yet tell the two models apart;
    on the whole holdout there are no more to come: its interval, across zero, is all the
    holdout can say.
    """
    new, served = compared["model_version"], compared["champion_version"]
    sales, verdict = compared["sales"], compared["verdict"]
    if sales < houses:
        return 2, (
            f"replay: no verdict: {sales} of the holdout's {houses} sales were counted (the "
            "service did not record them all in time); run the replay again"
        )
    difference = compared["rmsle_difference"]
    low, high = difference["interval"] if difference else (float("nan"), float("nan"))
    measured = (
        f"challenger {new}'s RMSLE minus champion {served}'s on the holdout's {sales} sales: "
        f"{difference['estimate']:+.4f} ({difference['confidence']:.0%} interval "
        f"{low:+.4f} to {high:+.4f})"
        if difference
        else f"the holdout's {sales} sales"
    )
    ranges = _coverages(compared)
    if verdict == "worse":
        reasons = [
            reason
            for reason, holds in (
                ("the whole interval above zero", low > 0),
                ("its ranges would alert", compared["ranges_would_alert"]),
            )
            if holds
        ]
        why = " and ".join(reasons)  # one or both: what makes the comparison worse
        return 1, f"replay: WORSE, the release stops: {measured}, {why}{ranges}"
    if verdict == "better":
        return 0, f"replay: better: {measured}, the whole interval below zero{ranges}"
    if verdict == "same":
        return 0, f"replay: the same: {new} answered every house as {served} did ({measured})"
    return 0, (
        f"replay: no difference the holdout can detect: {measured}, an interval across zero; "
        "the whole holdout was replayed, no more sales will come: the release may go if its "
        f"purpose is met, this interval quoted in its commit{ranges}"
    )


def _coverages(compared: dict[str, Any]) -> str:
    """The two models' coverage of the sale prices by their calibrated ranges, as a clause,
    where both have one: what tells apart a release that moves the ranges alone (its RMSLE
    difference 0, its verdict not the same)."""
    champion, challenger = (
        (compared.get(role) or {}).get("coverage") for role in ("champion", "challenger")
    )
    if champion is None or challenger is None:
        return ""
    return f"; ranges' coverage {challenger:.3f} against the champion's {champion:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    paragraphs = (__doc__ or "").split("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m tools.replay",
        description=textwrap.fill(" ".join(paragraphs[0].split()), 79),  # was its first line
        epilog="\n\n".join(part for part in paragraphs if part.startswith("Exit status")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--challenger", type=Path, required=True, help="the new model's file")
    parser.add_argument("--champion", type=Path, help="the served model's file (packaged)")
    args = parser.parse_args(argv)
    try:
        challenger = measured_side("challenger", args.challenger)
        champion = measured_side("champion", args.champion)
        warnings = check_models(challenger, champion)
        replaced = [line for side in (challenger, champion) if (line := side.replacement())]
    except HoldoutMismatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return HOLDOUT_MISMATCH
    except (ModelError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in replaced:
        print(line, file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    houses, prices = holdout()
    compared = replay(challenger.measured, champion.measured, houses=houses, prices=prices)
    print(json.dumps(compared, indent=2))
    status, line = conclusion(compared, len(houses))
    print(line, file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
