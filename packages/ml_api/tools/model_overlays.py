"""The Kubernetes model overlays name the files of the version the service is locked to.

overlays/challenger (``models.yaml``) and overlays/promoted (``promote.yaml``) name files by
their version: the made-up challenger that ``python -m tools.challengers docker/models`` writes
for the demo (``/models/gradient_boosting_model_v<version>+challenger.joblib``) and the packaged
model's file where the API's image installs it (``packaged_in_image``). ``<version>`` is the
model's pin in requirements.txt, which ``make lock`` writes at a release (tests/test_locks.py
keeps it the model package's VERSION) and the image installs: one place. ``make lock`` runs
this after the locks, so a release's step 5 leaves the overlays naming its files;
tests/test_kube_manifests.py fails, naming each line, while an overlay names another version's.

    python -m tools.model_overlays            # rewrite the values that differ (make overlays)
    python -m tools.model_overlays --check    # list them; exit status 1 if any

Only the ``value:`` of each artifact setting is rewritten: the files, their comments included,
stay as written by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.challengers import artifact_name, challenger_version
from tools.kube import KUBE_DIR, ROOT
from tools.model_lock import locked_version
from tools.model_versions import (
    CHALLENGER_FILE,
    MODELS_MOUNT,
    PACKAGED_FILE,
    PROMOTED,
    SHADOW,
    packaged_in_image,
)

#: The service's runtime lock: the model's version the image installs.
LOCK = ROOT / "requirements.txt"
#: The overlays' patch files that name model files, under the kubernetes folder.
SHADOW_PATCH = Path("overlays", "challenger", "models.yaml")
PROMOTION_PATCH = Path("overlays", "promoted", "promote.yaml")
REGENERATE = "run `make overlays` in packages/ml_api (make lock runs it)"


def demo_challenger(version: str) -> str:
    """The made-up challenger of a packaged ``version`` as the pod sees it."""
    return f"{MODELS_MOUNT}/{artifact_name(challenger_version(version))}"


def expected_values(version: str) -> dict[Path, dict[str, str]]:
    """Each patch's artifact settings for a service locked to ``version``, as
    ``model_versions`` plays them: in the shadow, the packaged model served (its setting unset)
    and the demo challenger beside it; promoted, the two swapped."""
    files = {CHALLENGER_FILE: demo_challenger(version), PACKAGED_FILE: packaged_in_image(version)}
    return {
        SHADOW_PATCH: {setting: files[name] for setting, name in SHADOW.items() if name},
        PROMOTION_PATCH: {setting: files[name] for setting, name in PROMOTED.items()},
    }


@dataclass(frozen=True)
class StaleValue:
    """A setting's ``value:`` line that names another file than the locked version's."""

    path: Path
    line: int  # 1-based
    setting: str
    found: str
    expected: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.setting} names {self.found}, not {self.expected} "
            f"(the locked version's file: {REGENERATE})"
        )


def _value_lines(lines: list[str]) -> dict[str, tuple[int, re.Match[str]]]:
    """Each env entry's ``value:`` line in ``lines``, by the entry's name (0-based index)."""
    found: dict[str, tuple[int, re.Match[str]]] = {}
    for index, line in enumerate(lines[:-1]):
        name = re.fullmatch(r"\s*- name: (\S+)\s*", line)
        value = re.fullmatch(r"(\s*value: )(\S+)(\s*)", lines[index + 1])
        if name and value:
            found[name.group(1)] = (index + 1, value)
    return found


def stale_values(version: str, kube_dir: Path = KUBE_DIR) -> list[StaleValue]:
    """The settings of ``kube_dir``'s overlays that differ from ``version``'s files."""
    stale = []
    for relative, settings in expected_values(version).items():
        path = kube_dir / relative
        values = _value_lines(path.read_text(encoding="utf-8").splitlines())
        for setting, expected in settings.items():
            if setting not in values:
                raise LookupError(f"{path} sets no {setting} (`- name:` then `value:`)")
            index, value = values[setting]
            if value.group(2) != expected:
                stale.append(StaleValue(path, index + 1, setting, value.group(2), expected))
    return stale


def write_overlays(version: str, kube_dir: Path = KUBE_DIR) -> list[StaleValue]:
    """Rewrite the stale values of ``kube_dir``'s overlays to ``version``'s files; those
    rewritten."""
    stale = stale_values(version, kube_dir)
    for path in sorted({each.path for each in stale}):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for each in (each for each in stale if each.path == path):
            lines[each.line - 1] = lines[each.line - 1].replace(each.found, each.expected, 1)
        path.write_text("".join(lines), encoding="utf-8")
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list stale values, write nothing")
    arguments = parser.parse_args()
    version = locked_version(LOCK)
    if arguments.check:
        stale = stale_values(version)
        for each in stale:
            print(each)
        return 1 if stale else 0
    for each in write_overlays(version):
        print(f"{each.path}:{each.line}: {each.setting} {each.found} -> {each.expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
