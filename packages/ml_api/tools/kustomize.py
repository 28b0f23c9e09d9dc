"""Render a kustomization of deploy/kubernetes without kubectl: the small part of Kustomize used.

    python -m tools.kustomize deploy/kubernetes/overlays/local    # the YAML kubectl would print

A fresh machine has no kubectl (Debian packages none, and no registry we reach ships it), yet
``make kube-test`` must validate what ``kubectl apply -k`` would apply. The base and overlays use
two Kustomize fields only, ``resources`` (files and folders) and ``images`` (a new name and tag
for an image), which take a few lines to render; any other field is refused here, so the
renderer cannot silently disagree with Kustomize. Where kubectl is installed, ``make kube-test``
also renders with ``kubectl kustomize`` and requires the same objects (``compare_with_kubectl``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

#: The kustomization fields this renderer implements.
SUPPORTED_FIELDS = frozenset({"apiVersion", "kind", "resources", "images"})
SUPPORTED_IMAGE_FIELDS = frozenset({"name", "newName", "newTag"})


class UnsupportedKustomizationError(ValueError):
    """A kustomization uses a field this renderer does not implement: use kubectl kustomize."""


def load_manifests(path: Path) -> list[Manifest]:
    """The objects of a YAML file of one or more documents (empty documents left out)."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def write_manifests(path: Path, manifests: list[Manifest]) -> None:
    """Write ``manifests`` to ``path`` as one YAML document each, keys in their order."""
    path.write_text(yaml.safe_dump_all(manifests, sort_keys=False), encoding="utf-8")


def split_image(image: str) -> tuple[str, str | None]:
    """``name`` and ``tag`` of an image reference (a registry's ``host:port/`` is kept in name)."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all, or the colon was the registry's port
        return image, None
    return name, tag


def _containers(manifest: Manifest) -> Iterator[dict[str, Any]]:
    pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
    for key in ("initContainers", "containers"):
        yield from pod.get(key, [])


def render(directory: Path) -> list[Manifest]:
    """The objects ``kubectl kustomize directory`` prints, in the order of ``resources``."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise UnsupportedKustomizationError(
            f"{directory}/kustomization.yaml uses {sorted(unknown)}: tools/kustomize.py renders "
            f"only {sorted(SUPPORTED_FIELDS)}; extend it, or render with kubectl kustomize"
        )
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        manifests += render(path) if path.is_dir() else load_manifests(path)
    for image in kustomization.get("images", []):
        unknown = set(image) - SUPPORTED_IMAGE_FIELDS
        if unknown:
            raise UnsupportedKustomizationError(f"images entry {image} uses {sorted(unknown)}")
        for manifest in manifests:
            for container in _containers(manifest):
                name, tag = split_image(container["image"])
                if name == image["name"]:
                    tag = image.get("newTag", tag)
                    new_name = image.get("newName", name)
                    container["image"] = f"{new_name}:{tag}" if tag else new_name
    return manifests


def _key(manifest: Manifest) -> tuple[str, str]:
    return manifest["kind"], manifest["metadata"]["name"]


def compare_with_kubectl(directory: Path) -> str:
    """Whether ``render`` agrees with ``kubectl kustomize`` (same objects): a one-line verdict.

    Raises AssertionError when they differ; says so when there is no kubectl to compare with.
    """
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return "no kubectl here: rendered by tools/kustomize.py alone"
    printed = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout
    theirs = sorted((doc for doc in yaml.safe_load_all(printed) if doc), key=_key)
    ours = sorted(render(directory), key=_key)
    assert ours == theirs, f"tools/kustomize.py and kubectl kustomize differ on {directory}"
    return f"same {len(ours)} objects as kubectl kustomize"


def main() -> int:
    [directory] = sys.argv[1:] or ["deploy/kubernetes/overlays/local"]
    yaml.safe_dump_all(render(Path(directory)), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
