"""Render a kustomization of deploy/kubernetes without kubectl: the small part of Kustomize used.

    python -m tools.kustomize deploy/kubernetes/overlays/local    # the YAML kubectl would print

A fresh machine has no kubectl (Debian packages none, and no registry we reach ships it), yet
``make kube-test`` must validate what ``kubectl apply -k`` would apply. The base and overlays use
three Kustomize fields only, which take a few lines to render: ``resources`` (files and
folders), ``patches`` given as files of strategic-merge patches (``- path: FILE``: an object's
kind and name, and what to merge into it), and ``images`` (a new name and tag for an image).
Any other field, and any other form of patch (a JSON 6902 patch, an inline one, a ``target``,
a ``$patch`` directive), is refused here, so the renderer cannot silently disagree with
Kustomize. Where kubectl is installed, ``make kube-test`` also renders with ``kubectl kustomize``
and requires the same objects (``compare_with_kubectl``).
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
SUPPORTED_FIELDS = frozenset({"apiVersion", "kind", "resources", "patches", "images"})
SUPPORTED_IMAGE_FIELDS = frozenset({"name", "newName", "newTag"})
SUPPORTED_PATCH_FIELDS = frozenset({"path"})
#: The lists of a pod spec that a strategic-merge patch merges item by item, and the key that
#: identifies an item (Kubernetes' ``patchMergeKey``); any other list is replaced whole.
MERGE_KEYS = {
    "initContainers": "name",
    "containers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
}


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


def pod_template(manifest: Manifest) -> dict[str, Any]:
    """The pod template (its ``metadata`` and ``spec``) of a workload: a Deployment's or a
    StatefulSet's ``spec.template``, a CronJob's its Job template's; ``{}`` for other kinds."""
    spec = manifest.get("spec", {})
    if "jobTemplate" in spec:  # a CronJob's pod is its Job template's
        spec = spec["jobTemplate"].get("spec", {})
    template: dict[str, Any] = spec.get("template", {})
    return template


def _containers(manifest: Manifest) -> Iterator[dict[str, Any]]:
    pod = pod_template(manifest).get("spec", {})
    for key in ("initContainers", "containers"):
        yield from pod.get(key, [])


def merge_patch(target: Any, patch: Any, *, key: str | None = None) -> Any:
    """``patch`` merged into ``target`` as a strategic-merge patch does, for what our patches
    use: maps merged key by key, the lists of ``MERGE_KEYS`` item by item (an item of the patch
    merged into the target's item of the same key, or appended), any other value replaced.

    Raises
    ------
    UnsupportedKustomizationError
        On a ``$patch`` (or other ``$``) directive, or a ``null`` (a deletion).
    """
    if isinstance(patch, dict):
        directives = [name for name in patch if str(name).startswith("$")]
        if directives:
            raise UnsupportedKustomizationError(f"patch directives {directives} not supported")
        merged = dict(target) if isinstance(target, dict) else {}
        for name, value in patch.items():
            merged[name] = merge_patch(merged.get(name), value, key=name)
        return merged
    if patch is None:
        raise UnsupportedKustomizationError(f"a null in a patch (a deletion of {key!r})")
    if isinstance(patch, list) and key in MERGE_KEYS and isinstance(target, list):
        # As kubectl kustomize (v5.5) orders them: the patch's items first, in its order, each
        # merged into the target's item of the same key if any; then the target's other items.
        merge_key = MERGE_KEYS[key]
        originals = {item[merge_key]: item for item in target}
        patched = [merge_patch(originals.get(item[merge_key]), item) for item in patch]
        named = {item[merge_key] for item in patch}
        return patched + [item for item in target if item[merge_key] not in named]
    return patch


def _apply_patch(manifests: list[Manifest], path: Path) -> None:
    """Merge the strategic-merge patch in ``path`` into the object of its kind and name."""
    [patch] = load_manifests(path)
    wanted = (patch["kind"], patch["metadata"]["name"])
    targets = [index for index, manifest in enumerate(manifests) if _key(manifest) == wanted]
    if len(targets) != 1:
        raise UnsupportedKustomizationError(f"{path}: {len(targets)} objects {wanted}, not one")
    [index] = targets
    manifests[index] = merge_patch(manifests[index], patch)


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
    # Kustomize's order: the patches, then the images (of the patched containers too).
    for entry in kustomization.get("patches", []):
        unknown = set(entry) - SUPPORTED_PATCH_FIELDS
        if unknown or "path" not in entry:
            raise UnsupportedKustomizationError(
                f"patches entry {entry} uses {sorted(unknown) or 'no path'}: only files of "
                "strategic-merge patches (- path: FILE) are rendered here"
            )
        _apply_patch(manifests, directory / entry["path"])
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


def patch_files(root: Path) -> set[Path]:
    """The files the kustomizations under ``root`` name as patches: partial objects, valid only
    once merged (check them in what ``render`` makes)."""
    found = set()
    for path in root.rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
        found |= {
            (path.parent / entry["path"]).resolve() for entry in kustomization.get("patches", [])
        }
    return found


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
