"""A second model version in the compose stack: mounted, in the shadow, promoted, rolled back.

``make container-test`` (tools/container.py) starts its stack on a models folder of its own:

    with models_folder() as models, compose_stack(env=models.settings(SHADOW)) as stack:
        ...
        version_checks(stack, models)

``models_folder`` writes a challenger (tools/challengers.py: the model the holdout measures for
the packaged one, its twin where it was fitted on the holdout too, with its learning rate
scaled, saved as version <packaged>+challenger) into a temporary folder, which compose mounts
read-only at /models in place of docker/models (``ML_API_MODELS_DIR``); the stack starts with
``ML_API_CHALLENGER_ARTIFACT`` naming the file as the container sees it and
``ML_API_MODEL_ARTIFACT`` empty, which the settings read as no file (the packaged model
served). ``version_checks`` then checks, through the proxy and in PostgreSQL, three settings of
the same stack, each applied as a user would (``compose up -d api``, which recreates the api
alone):

- in the shadow: the packaged version served; the challenger's prices stored beside, by
  prediction id, with its version; ``/v1/model`` names it;
- promoted (``ML_API_MODEL_ARTIFACT`` the challenger's file, ``ML_API_CHALLENGER_ARTIFACT`` the
  packaged file inside the image): the challenger's version and prices in every answer,
  ``/health``, ``/v1/model``, ``ml_api_model_info`` and the store, the old version in the shadow;
- rolled back (the first settings again): the packaged version served, the challenger in the
  shadow again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradient_boosting_model
import httpx
from gradient_boosting_model import TrainedModel, load_model_with_card, make_prediction
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.persistence import artifact_path
from gradient_boosting_model.tolerances import json_differences

from tools.challengers import write_challenger
from tools.container import PREDICTION_ID, ROOT, Stack, wait_healthy

#: Where docker-compose.yml mounts the models folder in the api container.
MODELS_MOUNT = "/models"
#: The settings of the model versions (compose passes each to the api; empty means unset).
MODEL = "ML_API_MODEL_ARTIFACT"
CHALLENGER = "ML_API_CHALLENGER_ARTIFACT"
#: The host folder docker-compose.yml mounts at MODELS_MOUNT.
MODELS_DIR = "ML_API_MODELS_DIR"
#: Names standing for files in ``ModelsFolder.settings``.
CHALLENGER_FILE = "challenger"
PACKAGED_FILE = "packaged"
#: The three settings version_checks applies, in order: (the model served, the challenger).
SHADOW = {MODEL: "", CHALLENGER: CHALLENGER_FILE}
PROMOTED = {MODEL: CHALLENGER_FILE, CHALLENGER: PACKAGED_FILE}
ROLLED_BACK = SHADOW
#: Asks the image where its packaged model's file is.
PACKAGED_PATH_CODE = (
    "from gradient_boosting_model.config import load_config; "
    "from gradient_boosting_model.persistence import artifact_path; "
    "print(artifact_path(load_config()))"
)


def packaged_in_image(version: str = gradient_boosting_model.__version__) -> str:
    """Where the API's image installs the packaged model's file: docker/Dockerfile's virtual
    environment, this Python's site-packages (the image's Python is 3.11, as ours), and the
    file's place in the package (``PACKAGED_PATH_CODE`` asks a running image); ``version``:
    an image whose package is that version (by default the installed one's)."""
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    venv = re.search(r"^COPY --from=build (\S+) ", dockerfile, re.MULTILINE)
    assert venv, "docker/Dockerfile copies a virtual environment from its build stage"
    packaged = artifact_path(load_config(), version=version)
    site_packages = Path(gradient_boosting_model.__file__ or "").parent.parent
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    relative = packaged.relative_to(site_packages).as_posix()
    return f"{venv.group(1)}/lib/{python}/site-packages/{relative}"


@dataclass(frozen=True)
class ModelsFolder:
    """A host folder of model artifacts for the stack, and the challenger's file in it."""

    folder: Path
    challenger: Path

    @property
    def challenger_in_container(self) -> str:
        """The challenger's file as the api container sees it."""
        return f"{MODELS_MOUNT}/{self.challenger.name}"

    def settings(self, chosen: Mapping[str, str], packaged: str = "") -> dict[str, str]:
        """Compose's environment for ``chosen`` (SHADOW, PROMOTED, ...): this folder mounted,
        each model setting the file it names, as the container sees it (``packaged``: the
        image's packaged file), or empty."""
        files = {"": "", CHALLENGER_FILE: self.challenger_in_container, PACKAGED_FILE: packaged}
        chosen_files = {name: files[file] for name, file in chosen.items()}
        return {MODELS_DIR: str(self.folder), **chosen_files}


@contextlib.contextmanager
def models_folder() -> Iterator[ModelsFolder]:
    """A temporary folder holding a challenger's artifact, readable by the container's user."""
    with tempfile.TemporaryDirectory(prefix="ml_api_models_") as name:
        folder = Path(name)
        challenger = write_challenger(folder)
        folder.chmod(0o755)  # mkdtemp's 0700 would keep the container's uid 10001 out
        for path in folder.iterdir():
            path.chmod(0o644)
        yield ModelsFolder(folder, challenger)


@dataclass(frozen=True)
class Version:
    """A model the stack should serve or price in the shadow: its version and, for its prices,
    the model itself loaded here."""

    version: str
    model: TrainedModel

    @classmethod
    def load(cls, path: Path | None = None) -> Version:
        """The model at ``path`` (the packaged one by default), its metadata read once."""
        model, card = load_model_with_card(path)
        return cls(str(card["version"]), model)


def _metric_versions(metrics: str) -> set[str]:
    """The ``model_version`` labels of ``ml_api_model_info`` samples valued 1."""
    pattern = r'^ml_api_model_info\{[^}]*model_version="([^"]+)"[^}]*\} 1\.0$'
    return set(re.findall(pattern, metrics, re.MULTILINE))


def _rows(stack: Stack, table: str, key: str, ids: list[str]) -> dict[str, tuple[str, float]]:
    """``(model_version, price)`` of each of ``ids`` found in ``table`` (by its ``key``)."""
    assert all(PREDICTION_ID.fullmatch(each) for each in ids), ids  # safe in an SQL literal
    listed = ", ".join(f"'{each}'" for each in ids)
    query = f"SELECT {key}, model_version, price FROM {table} WHERE {key} IN ({listed})"
    found = (row.split("|") for row in stack.psql(query).splitlines())
    return {each: (version, float(price)) for each, version, price in found}


def _wait_rows(
    stack: Stack, table: str, key: str, ids: list[str], timeout: float = 15.0
) -> dict[str, tuple[str, float]]:
    deadline = time.monotonic() + timeout
    while len(found := _rows(stack, table, key, ids)) < len(ids):
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {len(ids)} houses in {table} after {timeout} s")
        time.sleep(0.2)
    return found


def _prices(model: TrainedModel, houses: list[dict[str, Any]]) -> list[float]:
    return list(make_prediction(houses, model=model).predictions)


def check_served(stack: Stack, served: Version, challenger: Version | None) -> str:
    """The stack serves ``served`` and prices ``challenger`` in the shadow (or none), as a
    client and the store see it; what was checked, in a few words."""
    url, houses = stack.url, read_dataset("test.csv")[:5]
    answer = httpx.post(f"{url}/v1/predictions", json=houses, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_version"] == served.version, body["model_version"]
    expected = _prices(served.model, houses)
    differ = json_differences(expected, body["predictions"])
    assert not differ, f"prices are not {served.version}'s: {differ}"
    health = httpx.get(f"{url}/health", timeout=5).json()
    assert health["model_version"] == served.version, health
    described = httpx.get(f"{url}/v1/model", timeout=5).json()
    assert described["version"] == served.version, described["version"]
    assert described.get("challenger_version") == (challenger and challenger.version), described
    metrics = stack.app_metrics()  # the proxy does not pass /metrics on
    assert _metric_versions(metrics) == {served.version}, _metric_versions(metrics)

    ids, prices = body["prediction_ids"], body["predictions"]
    stored = _wait_rows(stack, "predictions", "id", ids)
    assert stored == {i: (served.version, p) for i, p in zip(ids, prices, strict=True)}, stored
    checked = f"{served.version} served (answers, /health, /v1/model, ml_api_model_info, store)"
    if challenger is None:
        assert _rows(stack, "challenger_prices", "prediction_id", ids) == {}
        return f"{checked}, no challenger"
    shadow = _wait_rows(stack, "challenger_prices", "prediction_id", ids)
    assert {version for version, _ in shadow.values()} == {challenger.version}, shadow
    differ = json_differences(_prices(challenger.model, houses), [shadow[each][1] for each in ids])
    assert not differ, f"the shadow's prices are not {challenger.version}'s: {differ}"
    moved = max(abs(shadow[i][1] / p - 1) for i, p in zip(ids, prices, strict=True))
    return (
        f"{checked}; {challenger.version} in the shadow: its prices of the {len(ids)} houses in "
        f"challenger_prices by prediction id (largest move {moved:.1%}), named by /v1/model"
    )


def apply_settings(stack: Stack, settings: Mapping[str, str], expected: str) -> Stack:
    """``compose up -d api`` with ``settings`` (the api alone is recreated); the stack with them,
    once ``/ready`` through the proxy says it serves ``expected``."""
    changed = dataclasses.replace(stack, env={**stack.env, **settings})
    started = time.monotonic()
    changed.compose("up", "-d", "--no-build", "api")
    recreated = time.monotonic() - started
    deadline = started + 90
    while True:
        wait_healthy(stack.url, timeout=max(deadline - time.monotonic(), 1), path="/ready")
        with contextlib.suppress(httpx.HTTPError):
            ready = httpx.get(f"{stack.url}/ready", timeout=2).json()
            if ready["model_version"] == expected:
                break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the api does not serve {expected} 90 s after compose up -d api")
        time.sleep(0.2)
    applied = ", ".join(f"{name}={settings[name]!r}" for name in (MODEL, CHALLENGER))
    print(
        f"compose up -d api with {applied}: serving {expected} through the proxy in "
        f"{time.monotonic() - started:.1f} s ({recreated:.1f} s of it in compose up)"
    )
    return changed


def version_checks(stack: Stack, models: ModelsFolder) -> None:
    """The stack started with ``models.settings(SHADOW)``: the challenger in the shadow, then
    promoted, then rolled back (see the module's docstring)."""
    packaged, challenger = Version.load(), Version.load(models.challenger)
    assert challenger.version != packaged.version
    print(f"shadow: {check_served(stack, packaged, challenger)}")
    packaged_path = stack.exec_api("python3", "-c", PACKAGED_PATH_CODE).stdout.strip()
    # The path overlays/promoted names (tests/test_kube_manifests.py) is the image's.
    assert packaged_path == packaged_in_image(), (packaged_path, packaged_in_image())
    promoted = apply_settings(
        stack, models.settings(PROMOTED, packaged=packaged_path), challenger.version
    )
    print(f"promoted: {check_served(promoted, challenger, packaged)}")
    rolled_back = apply_settings(promoted, models.settings(ROLLED_BACK), packaged.version)
    print(f"rolled back: {check_served(rolled_back, packaged, challenger)}")
