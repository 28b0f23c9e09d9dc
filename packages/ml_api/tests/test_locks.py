"""The locks agree with the ranges they are written from (`make lock`, see the Makefiles).

Each package's pyproject.toml declares ranges; its requirements.txt pins the runtime and its
requirements-dev.txt the runtime and every extra. A lock is stale when a range changed (or a pin
was edited by hand) and `make lock` was not run again: then a declared dependency is missing or
out of its range, the service pins one of the model's dependencies differently from the model's
lock, or a runtime package needs one that its lock lacks (the image could not be installed).
No network: the pyproject files, the locks and the metadata of the installed packages.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

SERVICE = Path(__file__).resolve().parent.parent
MODEL = SERVICE.parent / "gradient_boosting_model"
REGENERATE = "stale lock: run `make lock` in packages/ml_api (it writes the model's locks too)"


@dataclass(frozen=True)
class Lock:
    package: Path
    file: str  # requirements.txt: the runtime; requirements-dev.txt: the runtime and every extra

    @property
    def dev(self) -> bool:
        return self.file == "requirements-dev.txt"

    def __str__(self) -> str:
        return f"{self.package.name}/{self.file}"


RUNTIME_LOCKS = [Lock(MODEL, "requirements.txt"), Lock(SERVICE, "requirements.txt")]
LOCKS = [*RUNTIME_LOCKS, Lock(MODEL, "requirements-dev.txt"), Lock(SERVICE, "requirements-dev.txt")]


def read_pins(path: Path) -> Pins:
    """``name==version`` lines of a lock; comments and options skipped."""
    pins: Pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        requirement = Requirement(text)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{path}: not a pin: {line}"
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{path}: {name} pinned twice"
        pins[name] = Version(specifiers[0].version)
    return pins


def declared(lock: Lock) -> list[Requirement]:
    """What the lock is written from: the dependencies, and every extra's for a dev lock."""
    project = tomllib.loads((lock.package / "pyproject.toml").read_text(encoding="utf-8"))
    groups: dict[str, list[str]] = {"": project["project"]["dependencies"]}
    if lock.dev:
        groups |= project["project"].get("optional-dependencies", {})
    return [
        requirement
        for extra, lines in groups.items()
        for requirement in map(Requirement, lines)
        if requirement.marker is None or requirement.marker.evaluate({"extra": extra})
    ]


Pins = dict[NormalizedName, Version]


def out_of_lock(requirements: Iterable[Requirement], pins: Pins) -> list[str]:
    problems = []
    for requirement in requirements:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not pinned")
        elif not requirement.specifier.contains(pin, prereleases=True):
            problems.append(f"{requirement} is pinned at {pin}")
    return problems


def unequal(pins: Pins, others: Pins) -> dict[NormalizedName, tuple[Version, Version | None]]:
    """Pins that ``others`` lacks or pins at another version: (pin, other pin)."""
    return {name: (pin, others.get(name)) for name, pin in pins.items() if others.get(name) != pin}


def missing_from_closure(lock: Lock) -> list[str]:
    """Requirements of the lock's packages (their installed metadata, at the pinned versions,
    extras followed from the declared ones) that the lock does not pin."""
    pins = read_pins(lock.package / lock.file)
    problems = []
    seen: set[tuple[NormalizedName, str]] = set()
    todo = [(requirement, "pyproject.toml") for requirement in declared(lock)]
    while todo:
        requirement, wanted_by = todo.pop()
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{name} (wanted by {wanted_by}) is not pinned")
            continue
        extras = {"", *requirement.extras}
        if {(name, extra) for extra in extras} <= seen:
            continue
        seen |= {(name, extra) for extra in extras}
        try:
            installed = Version(importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name} is pinned but not installed: make venv")
            continue
        if installed != pins[name]:
            # The model package is built here: its new version is pinned by relocking.
            fix = "make lock" if name == "gradient-boosting-model" else "make venv"
            problems.append(f"{name} {installed} is installed, pinned {pins[name]}: {fix}")
            continue
        for line in importlib.metadata.requires(name) or []:
            needed = Requirement(line)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                todo.append((needed, f"{name} {installed}"))
    return problems


@pytest.mark.parametrize("lock", LOCKS, ids=str)
def test_each_declared_dependency_is_pinned_within_its_range(lock: Lock) -> None:
    problems = out_of_lock(declared(lock), read_pins(lock.package / lock.file))
    assert not problems, f"{lock}: {'; '.join(problems)}. {REGENERATE}"


@pytest.mark.parametrize("package", [MODEL, SERVICE], ids=lambda package: package.name)
def test_each_dev_lock_pins_its_runtime_lock(package: Path) -> None:
    differ = unequal(
        read_pins(package / "requirements.txt"), read_pins(package / "requirements-dev.txt")
    )
    assert not differ, f"{package.name}: (runtime pin, dev pin) {differ}. {REGENERATE}"


def test_the_service_lock_pins_the_model_lock_and_the_model_being_built() -> None:
    service = read_pins(SERVICE / "requirements.txt")
    differ = unequal(read_pins(MODEL / "requirements.txt"), service)
    assert not differ, f"(model's pin, service's pin) {differ}. {REGENERATE}"
    version = (MODEL / "gradient_boosting_model" / "VERSION").read_text(encoding="utf-8").strip()
    assert service[canonicalize_name("gradient-boosting-model")] == Version(version), REGENERATE


@pytest.mark.parametrize("lock", RUNTIME_LOCKS, ids=str)
def test_each_runtime_lock_holds_everything_its_packages_need(lock: Lock) -> None:
    # what `make wheelhouse` (pip wheel --no-deps) and so the image would otherwise lack
    problems = missing_from_closure(lock)
    assert not problems, f"{lock}: {'; '.join(problems)}. {REGENERATE}"
