"""Save and load the versioned model artifact and the metadata JSON beside it."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import joblib

from gradient_boosting_model import __version__
from gradient_boosting_model.card import fitted_on
from gradient_boosting_model.config import ALL_LABELLED, PACKAGE_ROOT, Config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.versions import VersionError, is_after


def artifact_path(config: Config, *, version: str = __version__) -> Path:
    """Where the model of this package version lives: ``<name>_v<version>.joblib``."""
    artifacts = config.artifacts
    return PACKAGE_ROOT / artifacts.directory / f"{artifacts.name}_v{version}.joblib"


def metadata_path(config: Config, *, version: str = __version__) -> Path:
    """The metadata JSON beside the artifact."""
    return artifact_path(config, version=version).with_suffix(".json")


#: Where, in ``kept_path``, training puts the artifacts of versions after the one it trains:
#: never released (a try the release refused, its version's files left behind when the version
#: before was trained again), so not among the released ones that a replay's champion or a
#: rollback is taken from.
NOT_RELEASED = "not-released"


def save_model(
    model: TrainedModel,
    metadata: dict[str, Any],
    config: Config,
    *,
    twin: tuple[TrainedModel, dict[str, Any]] | None = None,
) -> Path:
    """Write the trained model and its metadata (and its ``twin``'s, a model fitted on every
    labelled house having one: ``twin_path``; the model's metadata then records the twin's
    digest, ``twin_sha256``), then move the artifacts of other versions to
    ``artifacts.kept_directory`` (``kept_path``), out of the package: the version served until
    now is the release's champion in the shadow replay, and what a rollback serves. A version
    after this one goes to its ``NOT_RELEASED`` folder instead. A twin of this version left by
    an earlier training is removed when this one has none.

    Each file is written beside its place and renamed into it, so that an interrupted run
    leaves each file whole; a twin written by a run that did not write its model is told from
    the model's own by its digest (``holdout_model_path``).
    """
    path = artifact_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = {path, path.with_suffix(".json")}
    if twin is not None:
        twin_at = twin_path(path)
        _write_artifact(*twin, path=twin_at)
        written |= {twin_at, twin_at.with_suffix(".json")}
        metadata = {**metadata, "twin_sha256": _sha256(twin_at)}
    _write_artifact(model, metadata, path=path)
    prefix, kept = f"{config.artifacts.name}_v", kept_path(config)
    for old in path.parent.glob(f"{prefix}*"):
        if old in written:
            continue
        version = old.stem.removeprefix(prefix).removesuffix(TWIN_SUFFIX)
        if version == __version__:  # this version's twin, from a training that made one
            old.unlink()
            continue
        folder = kept if _released_before(version) else kept / NOT_RELEASED
        folder.mkdir(parents=True, exist_ok=True)
        old.replace(folder / old.name)
    return path


def _write_artifact(model: TrainedModel, metadata: dict[str, Any], *, path: Path) -> None:
    """``model`` at ``path`` and ``metadata`` beside it, each written beside its place and
    renamed into it."""
    partial = path.with_suffix(".joblib.partial")
    joblib.dump(model, partial, compress=3)
    partial_metadata = partial.with_suffix(".json.partial")
    partial_metadata.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    partial_metadata.replace(path.with_suffix(".json"))


#: A twin's label: its file name adds ``.twin`` to its model's (``twin_path``), its version
#: ``+twin`` (``twin_version``).
TWIN_LABEL = "twin"
TWIN_SUFFIX = f".{TWIN_LABEL}"


def twin_version(version: str) -> str:
    """The version of the twin of the model of ``version`` (its local part: no release)."""
    return f"{version}+{TWIN_LABEL}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def twin_path(path: Path) -> Path:
    """Where the twin of the model at ``path`` is: the same version's procedure fitted on the
    training split alone, beside a model fitted on every labelled house (``data.served_fit``
    ``all_labelled``), to be measured on the holdout in its place."""
    return path.with_name(f"{path.stem}{TWIN_SUFFIX}.joblib")


def holdout_model_path(config: Config, *, path: Path | None = None) -> Path:
    """The artifact that the holdout measures for the model at ``path`` (the packaged one by
    default): its twin if the model was fitted on the holdout too, else the model itself.

    Raises
    ------
    ModelArtifactError
        If the model's metadata is unreadable, or it says the model was fitted on the holdout
        and its twin is not beside it, or is not the twin trained with it (its digest is not
        the one the model's metadata records: a twin of another try of the version, or of an
        interrupted training): the holdout would measure another model than the one named.
    """
    path = path or artifact_path(config)
    metadata = load_metadata(config, path=path.with_suffix(".json"))
    if fitted_on(metadata) != ALL_LABELLED:
        return path
    twin = twin_path(path)
    if not twin.is_file():
        raise ModelArtifactError(
            f"model {path} was fitted on the holdout too, and its twin fitted on the training "
            f"split alone, which the holdout measures in its place, is missing: {twin}"
        )
    if _sha256(twin) != metadata.get("twin_sha256"):
        raise ModelArtifactError(
            f"model {path} was fitted on the holdout too, and the twin beside it is not the one "
            f"trained with it (its SHA-256 is not the model's record, twin_sha256): {twin}; "
            "train the version again"
        )
    return twin


def load_holdout_model(config: Config, *, path: Path | None = None) -> TrainedModel:
    """The model that the holdout measures for the model at ``path`` (``holdout_model_path``)."""
    return load_model(config, path=holdout_model_path(config, path=path))


def _released_before(version: str) -> bool:
    """Whether an artifact of ``version`` found beside this version's can be one released
    before it: a release number not after this package's (``is_after``)."""
    try:
        return not is_after(version, __version__)
    except VersionError:  # no release number: no release either
        return False


def kept_path(config: Config) -> Path:
    """Where training keeps the artifacts of the versions before (``save_model``)."""
    return (PACKAGE_ROOT / config.artifacts.kept_directory).resolve()


def load_model(config: Config, *, path: Path | None = None) -> TrainedModel:
    """Load the trained model of this package version, or the artifact at ``path``.

    Raises
    ------
    ModelArtifactError
        If the file is missing, unreadable, corrupt, or holds something other than a trained
        model, or its metadata JSON (beside it) is unreadable or says it was trained with
        another scikit-learn release; the message names the file.
    """
    return load_model_and_metadata(config, path=path)[0]


def load_model_and_metadata(
    config: Config, *, path: Path | None = None
) -> tuple[TrainedModel, dict[str, Any]]:
    """``load_model``, and the metadata JSON it read to check the model: for a caller that
    needs both (the card, ``loading.load_model_with_card``), read once.

    Raises
    ------
    ModelArtifactError
        As ``load_model``.
    """
    packaged = path is None
    path = path or artifact_path(config)
    if not path.is_file():
        # Training makes the packaged model; a file named by its path is the caller's to find.
        hint = " (train it with `make train`)" if packaged else ""
        raise ModelArtifactError(f"model artifact not found: {path}{hint}")
    try:
        model = joblib.load(path)
    # A damaged pickle can raise almost anything (the pickle docs list UnpicklingError,
    # AttributeError, EOFError, ImportError, IndexError "and others"; struct.error is one).
    except Exception as error:
        raise ModelArtifactError(_unloadable(config, path, error)) from error
    if not isinstance(model, TrainedModel):
        raise ModelArtifactError(
            f"model artifact holds {type(model).__name__}, not a TrainedModel: {path}"
        )
    metadata_file = path.with_suffix(".json")
    metadata = load_metadata(config, path=metadata_file)
    trained_with = _library_versions(metadata)
    if "scikit-learn" not in trained_with:
        raise ModelArtifactError(
            f"model metadata {metadata_file} does not say which scikit-learn trained the model "
            "(its library_versions): a pickle is only good for that release; train it again here"
        )
    if trained_with["scikit-learn"] != version("scikit-learn"):  # a pickle is only good there
        raise ModelArtifactError(
            f"model {path} was trained with scikit-learn {trained_with['scikit-learn']}, "
            f"this is {version('scikit-learn')}"
        )
    model.version = str(metadata.get("model_version", __version__))
    return model, metadata


def _library_versions(metadata: dict[str, Any]) -> dict[str, str]:
    """The library releases a metadata JSON says trained the model, each as text; ``{}`` where it
    says none (a hand-edited or older JSON's: a missing ``library_versions`` escaped
    ``load_model`` as a ``KeyError``, and dropped the house fields from a refusal's message)."""
    trained_with = metadata.get("library_versions")
    if not isinstance(trained_with, dict):
        return {}
    return {str(name): str(release) for name, release in trained_with.items()}


def _unloadable(config: Config, path: Path, error: Exception) -> str:
    """Why the artifact at ``path`` could not be unpickled: written by other releases of the
    libraries or of this package, if its metadata JSON says so (an artifact of another
    package release can name a class this one lacks), else corrupt."""
    try:
        metadata = load_metadata(config, path=path.with_suffix(".json"))
    except ModelArtifactError:
        metadata = {}
    trained_with = _library_versions(metadata)
    if "model_version" in metadata:
        trained_with = {"gradient_boosting_model": str(metadata["model_version"]), **trained_with}
    others = []
    for name, release in trained_with.items():
        here = __version__ if name == "gradient_boosting_model" else _installed(name)
        # A version's local part names an artifact, not a release (0.3.2+challenger: made by
        # tools/challengers.py with 0.3.2).
        if str(release).split("+")[0] != here:
            where = "not installed here" if here is None else f"this is {here}"
            others.append(f"{name} {release} ({where})")
    fields = _other_fields(metadata.get("input_fields"))
    if fields:
        others.append(fields)
    if not others:
        return f"model artifact is corrupt: {path}: {error!r}"
    return (
        f"model artifact cannot be loaded: {path}: {error!r}; it was written with "
        f"{', '.join(others)}: train it again here, or load it where those are installed"
    )


def _other_fields(trained_for: Any) -> str:
    """How the house fields an artifact was trained for (its metadata's ``input_fields``)
    differ from this package's schema, or ``""``: a model trained on a schema with a field
    removed was refused only as "compiled for other house fields", naming none (a probe's)."""
    if not isinstance(trained_for, list):
        return ""
    lacking = [name for name in HOUSE_FIELDS if name not in trained_for]
    # A name that is no text (a hand-edited JSON's) is named too, never looked up: a list's
    # lookup raised a TypeError out of the refusal.
    besides = [
        name for name in trained_for if not isinstance(name, str) or name not in HOUSE_FIELDS
    ]
    parts = [
        *([f"without {', '.join(lacking)}"] if lacking else []),
        *([f"with {', '.join(map(str, besides))} besides"] if besides else []),
    ]
    return f"house fields other than this package's schema ({'; '.join(parts)})" if parts else ""


def _installed(name: str) -> str | None:
    """The installed release of library ``name``, if it is installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def load_metadata(config: Config, *, path: Path | None = None) -> dict[str, Any]:
    """The metadata JSON written at training time (metrics, versions, features)."""
    path = path or metadata_path(config)
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelArtifactError(f"model metadata unreadable: {path}: {error}") from error
    if not isinstance(metadata, dict):  # a hand-edited file's: every reader takes an object
        raise ModelArtifactError(f"model metadata is not a JSON object: {path}")
    return metadata
