"""The released version's answers, committed beside the package: which version, and its files.

A directory (``baseline/`` beside the package) holds ``VERSION``, the one declaration of which
released version the model being built is compared with, that version's snapshot,
``<version>.json.gz``, and its answers for the labelled holdout with the holdout's identity,
``<version>.holdout.json.gz`` (absent from a baseline made before they were kept). Writing a new
baseline replaces them and removes the previous version's files (git keeps them). The files are
gzip-compressed JSON without a timestamp, so the same answers give the same bytes and an
unchanged baseline shows no change in git.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.release.holdout_answers import HoldoutAnswers
from gradient_boosting_model.release.snapshot import Snapshot

#: The file, inside the baseline directory, that names the released version.
DECLARATION = "VERSION"


class BaselineError(ModelError):
    """The baseline directory has no declared version, or its file is missing or unreadable."""


def baseline_file(directory: Path, version: str) -> Path:
    """Where the baseline of ``version`` lives in ``directory``."""
    return directory / f"{version}.json.gz"


def holdout_file(directory: Path, version: str) -> Path:
    """Where the holdout answers of ``version`` live in ``directory``."""
    return directory / f"{version}.holdout.json.gz"


def declared_version(directory: Path) -> str:
    """The version ``directory/VERSION`` declares as the baseline.

    Raises
    ------
    BaselineError
        If the declaration is missing or empty.
    """
    path = directory / DECLARATION
    try:
        version = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise BaselineError(f"no baseline declared: {path}: {error}") from error
    if not version:
        raise BaselineError(f"no baseline declared: {path} is empty")
    return version


def read_baseline(directory: Path) -> Snapshot:
    """The snapshot of the declared version.

    Raises
    ------
    BaselineError
        If nothing is declared, the file is missing or unreadable, or it holds another
        version's answers; the message names the file.
    """
    version = declared_version(directory)
    path = baseline_file(directory, version)
    try:
        snapshot = Snapshot.from_json(_read(path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BaselineError(f"baseline unreadable: {path}: {error!r}") from error
    if snapshot.model_version != version:
        raise BaselineError(f"{path} holds version {snapshot.model_version}'s answers")
    return snapshot


def read_baseline_holdout(directory: Path, version: str) -> HoldoutAnswers | None:
    """The holdout answers of the baseline of ``version``; None if it has none (made before
    they were kept).

    Raises
    ------
    BaselineError
        If the file is unreadable or holds another version's answers; the message names it.
    """
    path = holdout_file(directory, version)
    if not path.exists():
        return None
    try:
        answers = HoldoutAnswers.from_json(_read(path))
    except (OSError, ValueError, KeyError, TypeError, ModelError) as error:
        raise BaselineError(f"baseline unreadable: {path}: {error!r}") from error
    if answers.model_version != version:
        raise BaselineError(f"{path} holds version {answers.model_version}'s answers")
    return answers


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path``, then rename it into place: ``path`` is never half
    written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def write_baseline(directory: Path, snapshot: Snapshot, holdout: HoldoutAnswers) -> Path:
    """Make ``snapshot`` and ``holdout`` (the same version's) the baseline: write their files,
    declare their version, and remove the files of other versions. Each file is written beside
    its place and renamed into it."""
    if holdout.model_version != snapshot.model_version:
        raise ValueError(
            f"the holdout answers are {holdout.model_version}'s, not {snapshot.model_version}'s"
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = baseline_file(directory, snapshot.model_version)
    kept = {path, holdout_file(directory, snapshot.model_version)}
    _write(path, snapshot.to_json())
    _write(holdout_file(directory, snapshot.model_version), holdout.to_json())
    _replace(directory / DECLARATION, f"{snapshot.model_version}\n".encode())
    for old in directory.glob("*.json.gz"):
        if old not in kept:
            old.unlink()
    return path


def _read(path: Path) -> Any:
    return json.loads(gzip.decompress(path.read_bytes()))


def _write(path: Path, data: Any) -> None:
    """Compact JSON, gzip-compressed without a timestamp: the same data, the same bytes."""
    text = json.dumps(data, separators=(",", ":")) + "\n"
    _replace(path, gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
