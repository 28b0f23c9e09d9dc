"""Check the Kubernetes manifests (deploy/kubernetes) offline, then run them under podman.

    python -m tools.kube validate    # every manifest against the Kubernetes schemas
    python -m tools.kube test        # validate, then play: make kube-test

(tools/kube_measure.py measures, with the same plays, the figures behind the Deployment's
probes and resources.)

No cluster runs here. ``kubernetes-validate --strict`` checks each file, and what ``kubectl
apply -k`` would apply (tools/kustomize.py renders it), against the schemas of the newest
Kubernetes release the package knows; a planted mistake in a scratch copy must fail it, every
run. Then ``podman kube play`` runs the Deployment with its ConfigMap, the image
localhost/house-price-api:latest (tools/container.py builds it): 2 replicas with no published
port, each checked from inside with ``podman exec`` (podman ignores readiness probes), then 1
replica published on 127.0.0.1 only, checked from here. Everything it played is taken down and
removed on the way out, on failure too; the images are kept, as ``make image`` keeps them.

The prediction store is played too, with what podman 4.3 can play. It ignores a StatefulSet
(and Services): the StatefulSet's pod template is played as a Pod named after its headless
Service (podman's DNS resolves a pod's name on the kube network, as the cluster's DNS resolves
the Service), the volumeClaimTemplate an emptyDir (a podman volume), with the image
localhost/house-price-db:latest. It stores a Secret, but reads the Secret of a ``secretKeyRef``
back as JSON, which it did not write (``not valid JSON``): each ``secretKeyRef`` is played as
the local overlay's Secret's value, and no Secret is played. The Deployment's initContainer (the
migrations) is run by ``podman run`` before each play, on the same network, image, command and
environment (podman 4.3 restarts init containers by the pod's policy and then fails the play:
``run_init_containers``). The published pod's price is then looked up in the store by its id.
The rest (the StatefulSet itself, its claim, the Secret, the init container in the pod) is
checked offline only: the schemas here, the values in tests/test_kube_manifests.py.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import functools
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate  # type: ignore[import-untyped]
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.tolerances import json_differences

from tools.container import API_IMAGE_SPEC, DB_IMAGE_SPEC, PREDICTION_ID, build_image, run
from tools.kustomize import (
    Manifest,
    compare_with_kubectl,
    load_manifests,
    patch_files,
    pod_template,
    render,
    write_manifests,
)
from tools.server import free_port

ROOT = Path(__file__).resolve().parent.parent
KUBE_DIR = ROOT / "deploy" / "kubernetes"
BASE = KUBE_DIR / "base"
LOCAL_OVERLAY = KUBE_DIR / "overlays" / "local"
#: The Kubernetes release whose schemas the manifests must pass: the newest the package has.
KUBERNETES_VERSION = kubernetes_validate.latest_version()
#: Volumes in a play file are named after the manifest's, with this prefix: podman makes each
#: emptyDir a named volume, which must not meet another one of the same name on the machine.
VOLUME_PREFIX = "house-price-api-kube-test-"
#: The same for the prediction store's pod, whose volumes outlive the API's plays.
STORE_VOLUME_PREFIX = "house-price-db-kube-test-"
#: The network podman kube play puts pods on (it makes it when missing).
KUBE_NETWORK = "podman-default-kube-network"
#: The image of a pod's infra container, which podman builds when it first makes a pod.
PAUSE_IMAGE = "localhost/podman-pause"
#: podman's settings for these machines (runc, explicit ulimits), as the Makefile exports them.
CONTAINERS_CONF = ROOT / "docker" / "podman" / "containers.conf"
_MEMORY_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
#: What the container reads of its own cgroup, v2 or v1: memory limit, CPU quota and period.
_CGROUP_PROBE = """
from pathlib import Path
v2 = Path("/sys/fs/cgroup/memory.max")
if v2.exists():
    quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    print(v2.read_text().strip(), quota, period)
else:
    read = lambda p: Path("/sys/fs/cgroup", p).read_text().strip()
    print(read("memory/memory.limit_in_bytes"), read("cpu/cpu.cfs_quota_us"),
          read("cpu/cpu.cfs_period_us"))
"""


def memory_bytes(quantity: str) -> int:
    """Bytes of a Kubernetes memory quantity such as ``1Gi`` or ``512M``."""
    match = re.fullmatch(r"(\d+)([KMG]i?)?", quantity)
    assert match, f"not a memory quantity: {quantity!r}"
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2) or ""]


def cpu_cores(quantity: str) -> float:
    """Cores of a Kubernetes CPU quantity such as ``2`` or ``1500m``."""
    if quantity.endswith("m"):
        return int(quantity[:-1]) / 1000
    return float(quantity)


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The one object of ``kind`` (named ``name``, when there are several)."""
    [found] = [
        manifest
        for manifest in manifests
        if manifest["kind"] == kind and name in (None, manifest["metadata"]["name"])
    ]
    return found


def pod_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """A pod spec's init containers and containers."""
    return [*pod.get("initContainers", []), *pod["containers"]]


def secret_values(manifests: list[Manifest]) -> dict[tuple[str, str], str]:
    """Each Secret's values by (its name, the key): ``data`` decoded, ``stringData`` over it."""
    values = {}
    for secret in (manifest for manifest in manifests if manifest["kind"] == "Secret"):
        name = secret["metadata"]["name"]
        for key, value in secret.get("data", {}).items():
            values[(name, key)] = base64.b64decode(value).decode()
        for key, value in secret.get("stringData", {}).items():
            values[(name, key)] = value
    return values


def inline_secrets(pod: dict[str, Any], values: dict[tuple[str, str], str]) -> None:
    """Each ``secretKeyRef`` of the pod spec ``pod``'s containers replaced by its value (podman
    4.3 cannot read a Secret it has stored: see the module's docstring); one marked
    ``optional`` whose Secret is not played is left out, as Kubernetes leaves the variable
    unset."""
    for container in pod_containers(pod):
        kept = []
        for entry in container.get("env", []):
            reference = entry.get("valueFrom", {}).get("secretKeyRef")
            if reference is not None:
                key = (reference["name"], reference["key"])
                if key not in values and reference.get("optional", False):
                    continue
                del entry["valueFrom"]
                entry["value"] = values[key]
            kept.append(entry)
        if "env" in container:
            container["env"] = kept


def container_of(deployment: Manifest) -> dict[str, Any]:
    """The Deployment's one container."""
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def max_connections(container: dict[str, Any]) -> int:
    """The connections the PostgreSQL of a container takes: its ``max_connections=N``
    argument (deploy/kubernetes/base/db-statefulset.yaml)."""
    [limit] = [int(a.split("=")[1]) for a in container["args"] if a.startswith("max_connections=")]
    return limit


def probe_budget(probe: dict[str, Any]) -> float:
    """Seconds a probe gives a container before it gives up on it."""
    return float(
        probe.get("initialDelaySeconds", 0)
        + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)
    )


# --- Validation -------------------------------------------------------------------------------


def _kubernetes_validate(*files: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet"]
    return subprocess.run(
        [*command, "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def _unknown_field(deployment: Manifest) -> None:
    container_of(deployment)["readinessProbe"]["periodSecs"] = 5


def _wrong_type(deployment: Manifest) -> None:
    container_of(deployment)["ports"][0]["containerPort"] = "5000"


#: Mistakes planted in a copy of the Deployment, and what the validator must say of each.
PLANTED: tuple[tuple[str, Callable[[Manifest], None], str], ...] = (
    ("an unknown field", _unknown_field, "'periodSecs' was unexpected"),
    ("a wrong type", _wrong_type, "'5000' is not of type 'integer'"),
)


def validate(scratch: Path) -> None:
    """Each manifest file and each rendered kustomization valid under ``--strict``; each planted
    mistake caught. AssertionError otherwise."""
    started = time.monotonic()
    # Each file but the kustomizations and their patches (checked once merged, as rendered).
    partial = patch_files(KUBE_DIR)
    files = sorted(
        p
        for p in KUBE_DIR.rglob("*.yaml")
        if p.name != "kustomization.yaml" and p.resolve() not in partial
    )
    rendered = []
    for directory in (BASE, *sorted((KUBE_DIR / "overlays").iterdir())):
        print(f"{directory.relative_to(ROOT)}: {compare_with_kubectl(directory)}")
        path = scratch / f"{directory.name}.rendered.yaml"
        write_manifests(path, render(directory))
        rendered.append(path)
    done = _kubernetes_validate(*files, *rendered)
    assert done.returncode == 0, f"invalid manifests:\n{done.stdout}{done.stderr}"
    print(
        f"valid under --strict for Kubernetes {KUBERNETES_VERSION}: {len(files)} files, "
        f"{len(rendered)} rendered kustomizations"
    )
    for what, plant, expected in PLANTED:
        manifests = render(LOCAL_OVERLAY)
        plant(find(manifests, "Deployment"))
        path = scratch / "planted.yaml"
        write_manifests(path, manifests)
        done = _kubernetes_validate(path)
        assert done.returncode != 0 and expected in done.stdout, (
            f"{what} planted in the Deployment passed the validator:\n{done.stdout}{done.stderr}"
        )
        print(f"planted {what}: refused ({expected})")
    print(f"validation in {time.monotonic() - started:.1f} s")


# --- podman kube play -------------------------------------------------------------------------


def play_manifests(*, replicas: int, host_port: int | None) -> list[Manifest]:
    """What ``podman kube play`` gets: the local overlay's ConfigMap and Deployment, with
    ``replicas``, and the container's port published on 127.0.0.1:``host_port``, or no port at
    all (podman would publish a bare containerPort on every address). Volumes renamed, the
    Secret's values inlined. The init containers stay in it: ``played`` runs them before the
    play and leaves them out of what podman gets (see ``run_init_containers``)."""
    manifests = render(LOCAL_OVERLAY)
    deployment = find(manifests, "Deployment")
    inline_secrets(deployment["spec"]["template"]["spec"], secret_values(manifests))
    deployment["spec"]["replicas"] = replicas
    pod = deployment["spec"]["template"]["spec"]
    container = container_of(deployment)
    if host_port is None:
        del container["ports"]
    else:
        [port] = container["ports"]
        port.update(hostPort=host_port, hostIP="127.0.0.1")
    for volume in pod["volumes"]:
        volume["name"] = VOLUME_PREFIX + volume["name"]
    for mount in container["volumeMounts"]:
        mount["name"] = VOLUME_PREFIX + mount["name"]
    return [find(manifests, "ConfigMap"), deployment]


def run_options(container: dict[str, Any]) -> list[str]:
    """``podman run``'s options for a container's read-only root, dropped capabilities, no new
    privileges and environment (its secrets inlined: ``inline_secrets``)."""
    security = container.get("securityContext", {})
    options = []
    if security.get("readOnlyRootFilesystem"):
        options.append("--read-only")
    if security.get("capabilities", {}).get("drop") == ["ALL"]:
        options += ["--cap-drop", "all"]
    if security.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    for entry in container.get("env", []):
        options += ["--env", f"{entry['name']}={entry['value']}"]
    return options


def podman_run(options: list[str], image: str, command: list[str]) -> str:
    """``podman run`` of ``command`` on ``image`` to a zero exit (AssertionError with its stderr
    otherwise); its stdout. Printed without the options, which hold the Secret's values."""
    print(f"+ podman run ... {image} {' '.join(command)}", flush=True)
    done = subprocess.run(
        ["podman", "run", *options, image, *command],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"podman run ... {image} {' '.join(command)}:\n{done.stderr}"
    return done.stdout.strip()


def run_init_containers(deployment: Manifest) -> Manifest:
    """Run the Deployment's init containers as podman containers on the kube network, one after
    the other, each to a zero exit (its image, command, environment, read-only root and no
    capabilities as declared); the Deployment without them, for ``podman kube play``.

    podman 4.3's kube play gives init containers the pod's restart policy (a Deployment's is
    Always): the migrations, once done, start again, and the play fails removing the init
    container it finds running ("cannot remove container ... as it is running"). Here they run
    once for the play, not once for each replica as in a cluster."""
    played = copy.deepcopy(deployment)
    pod = played["spec"]["template"]["spec"]
    for container in pod.pop("initContainers", []):
        options = ["--rm", "--network", KUBE_NETWORK, "--name", f"{VOLUME_PREFIX}init"]
        options += run_options(container)
        started = time.monotonic()
        said = podman_run(options, container["image"], container["command"])
        print(
            f"init container {container['name']}: done in {time.monotonic() - started:.1f} s: "
            f"{said}"
        )
    return played


@dataclass(frozen=True)
class Played:
    """Pods of a played Deployment: their containers' names, and the URL of a published one."""

    containers: list[str]
    url: str | None

    def exec(self, container: str, code: str) -> str:
        """Run python ``code`` in ``container``; its stdout."""
        return _podman("exec", container, "python3", "-c", code)

    def ready(self, container: str) -> bool:
        """``/ready`` answers 200 inside ``container``."""
        code = (
            "import urllib.request as u\n"
            "print(u.urlopen('http://127.0.0.1:5000/ready', timeout=1).status)"
        )
        try:
            return self.exec(container, code) == "200"
        except subprocess.CalledProcessError:
            return False


def kube_play(path: Path) -> None:
    """``podman kube play`` of the manifests in ``path`` (RuntimeError with its output when it
    fails)."""
    print(f"+ podman kube play {path}", flush=True)
    done = subprocess.run(["podman", "kube", "play", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"podman kube play failed:\n{done.stdout}{done.stderr}")


def _podman(*arguments: str) -> str:
    """podman's stdout, quietly (for commands run often, or polled)."""
    command = ["podman", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def _leftovers() -> tuple[list[str], list[str]]:
    """Pods and volumes a play of ours made and left."""
    pods = _podman("pod", "ps", "-q", "--filter", "name=house-price-api-pod")
    volumes = _podman("volume", "ls", "-q", "--filter", f"name={VOLUME_PREFIX}")
    return pods.split(), volumes.split()


@contextlib.contextmanager
def podman_made() -> Iterator[None]:
    """Around plays: after them, the network and the pods' infra image that podman made for them
    (when there were none before) are removed too."""
    had_network = _podman("network", "ls", "-q", "--filter", f"name=^{KUBE_NETWORK}$") != ""
    had_pause = _podman("images", "-q", PAUSE_IMAGE) != ""
    try:
        yield
    finally:
        if not had_network:
            run("podman", "network", "rm", KUBE_NETWORK, check=False, capture=True)
        if not had_pause:
            # By id (its tag is podman's version); not --force: someone's pod may use it by now.
            for image in _podman("images", "-q", PAUSE_IMAGE).split():
                run("podman", "rmi", image, check=False, capture=True)


def store_manifests() -> list[Manifest]:
    """What ``podman kube play`` gets for the prediction store: the local overlay's StatefulSet's
    pod, as a Pod named after its Service, its claim an emptyDir, no port published, volumes
    renamed, the Secret's values inlined (see the module's docstring)."""
    manifests = render(LOCAL_OVERLAY)
    statefulset = find(manifests, "StatefulSet")
    service = find(manifests, "Service", statefulset["spec"]["serviceName"])
    template = copy.deepcopy(statefulset["spec"]["template"])
    pod = template["spec"]
    claims = [claim["metadata"]["name"] for claim in statefulset["spec"]["volumeClaimTemplates"]]
    pod["volumes"] = [*({"name": name, "emptyDir": {}} for name in claims), *pod["volumes"]]
    for volume in pod["volumes"]:
        volume["name"] = STORE_VOLUME_PREFIX + volume["name"]
    for container in pod_containers(pod):
        container.pop("ports", None)
        for mount in container.get("volumeMounts", []):
            mount["name"] = STORE_VOLUME_PREFIX + mount["name"]
    inline_secrets(pod, secret_values(manifests))
    metadata = {"name": service["metadata"]["name"], "labels": template["metadata"]["labels"]}
    return [{"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod}]


@dataclass(frozen=True)
class PlayedStore:
    """The prediction store's pod: its container, and the database's owner and name."""

    container: str
    user: str
    database: str

    def psql(self, sql: str, database: str | None = None) -> str:
        """``sql`` run by psql in the container (on its own socket), on the store's database or
        ``database``: rows, ``|`` between values."""
        command = ("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", self.user)
        on = database or self.database
        return _podman("exec", self.container, *command, "-d", on, "-c", sql)


def _store_leftovers() -> tuple[list[str], list[str]]:
    """The store's pod and volumes, of an earlier play of ours."""
    [pod] = store_manifests()
    pods = _podman("pod", "ps", "-q", "--filter", f"name=^{pod['metadata']['name']}$")
    volumes = _podman("volume", "ls", "-q", "--filter", f"name={STORE_VOLUME_PREFIX}")
    return pods.split(), volumes.split()


@contextlib.contextmanager
def store_played(scratch: Path) -> Iterator[PlayedStore]:
    """The prediction store played by podman and accepting connections (its readiness probe's
    command, run with ``podman exec``) for the ``with`` block; down and removed after it."""
    left = _store_leftovers()
    assert left == ([], []), f"the store's pod or volumes of an earlier play are left: {left}"
    path = scratch / "play-store.yaml"
    manifests = store_manifests()
    write_manifests(path, manifests)
    [pod] = manifests
    [container] = pod["spec"]["containers"]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    name = f"{pod['metadata']['name']}-{container['name']}"
    store = PlayedStore(name, env["POSTGRES_USER"], env["POSTGRES_DB"])
    started = time.monotonic()
    try:
        kube_play(path)
        probe = ["podman", "exec", name, *container["readinessProbe"]["exec"]["command"]]

        def accepting() -> bool:
            return subprocess.run(probe, capture_output=True, check=False).returncode == 0

        wait(accepting, probe_budget(container["startupProbe"]), f"{name} accepting connections")
        print(f"{name}: accepting connections {time.monotonic() - started:.1f} s after kube play")
        yield store
    except BaseException:
        logs = subprocess.run(["podman", "logs", name], capture_output=True, text=True)
        print(f"--- last lines of {name}", *logs.stderr.splitlines()[-20:], sep="\n")
        raise
    finally:
        run("podman", "kube", "down", str(path), check=False, capture=True)
        pods, volumes = _store_leftovers()
        for each in pods:
            run("podman", "pod", "rm", "--force", each, check=False, capture=True)
        for volume in volumes:
            run("podman", "volume", "rm", "--force", volume, check=False, capture=True)


@contextlib.contextmanager
def played(
    scratch: Path, *, replicas: int, publish: bool, store: PlayedStore | None = None
) -> Iterator[Played]:
    """The Deployment played by podman for the ``with`` block; down and removed after it. Its
    prediction store is ``store``, else one played for the block (``store_played``)."""
    if store is None:
        with (
            store_played(scratch) as own,
            played(scratch, replicas=replicas, publish=publish, store=own) as played_pods,
        ):
            yield played_pods
        return
    assert _leftovers() == ([], []), f"pods or volumes of an earlier play are left: {_leftovers()}"
    port = free_port() if publish else None
    path = scratch / f"play-{replicas}.yaml"
    manifests = play_manifests(replicas=replicas, host_port=port)
    manifests = [run_init_containers(m) if m["kind"] == "Deployment" else m for m in manifests]
    write_manifests(path, manifests)
    deployment = find(manifests, "Deployment")
    name, container = deployment["metadata"]["name"], container_of(deployment)["name"]
    try:
        kube_play(path)
        containers = [f"{name}-pod-{index}-{container}" for index in range(replicas)]
        yield Played(containers, f"http://127.0.0.1:{port}" if port else None)
    except BaseException:
        for each in _podman("ps", "-a", "--format", "{{.Names}}").split():
            if each.startswith(f"{name}-pod-"):
                logs = subprocess.run(["podman", "logs", each], capture_output=True, text=True)
                print(f"--- last lines of {each}", *logs.stderr.splitlines()[-20:], sep="\n")
        raise
    finally:
        started = time.monotonic()
        run("podman", "kube", "down", str(path), check=False, capture=True)
        pods, volumes = _leftovers()  # kube down removes the volumes it made; in case not
        for pod in pods:
            run("podman", "pod", "rm", "--force", pod, check=False, capture=True)
        for volume in volumes:
            run("podman", "volume", "rm", "--force", volume, check=False, capture=True)
        print(f"podman kube down in {time.monotonic() - started:.1f} s")


def wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until ``condition()``; TimeoutError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if condition():
                return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def smoke_checks(pod: Played, deployment: Manifest) -> int:
    """The published pod as a client sees it, and what podman applied to it; how many requests
    were checked (any unexpected answer fails)."""
    assert pod.url is not None
    [container] = pod.containers
    rows = read_dataset("test.csv")[:25]
    health = httpx.get(f"{pod.url}/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    served = httpx.post(f"{pod.url}/v1/predictions", json=rows, timeout=10)
    assert served.status_code == 200, served.text
    expected = {"predictions": make_prediction(rows).predictions}
    differ = json_differences(expected, {"predictions": served.json()["predictions"]})
    assert not differ, f"the pod's prices differ from in-process: {differ}"
    wrong = [{**rows[0], "GrLivArea": -1}]
    refused = httpx.post(f"{pod.url}/v1/predictions", json=wrong, timeout=10)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json", refused.headers

    spec = container_of(deployment)
    limits = spec["resources"]["limits"]
    memory, quota, period = pod.exec(container, _CGROUP_PROBE).split()
    assert int(memory) == memory_bytes(limits["memory"]), f"memory limit {memory}"
    assert int(quota) / int(period) == cpu_cores(limits["cpu"]), f"CPU quota {quota}/{period}"
    status = pod.exec(container, "print(open('/proc/1/status').read())")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    user = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert fields["Uid"].split() == [str(user)] * 4, f"main process uid {fields['Uid']}"
    assert fields["NoNewPrivs"].strip() == "1", "privilege escalation allowed"
    assert int(fields["CapEff"], 16) == 0, f"capabilities {fields['CapEff'].strip()}"
    metrics_dir = {e["name"]: e.get("value") for e in spec["env"]}["PROMETHEUS_MULTIPROC_DIR"]
    writes = pod.exec(
        container,
        "import os\n"
        "try:\n    open('/app/written', 'w')\nexcept OSError as e:\n    print(e.errno)\n"
        f"print(len([n for n in os.listdir({metrics_dir!r}) if n.endswith('.db')]))",
    ).split()
    assert writes[0] == "30", f"the root filesystem is writable: {writes}"  # EROFS
    assert int(writes[1]) > 0, "no metrics files in the metrics folder"
    print(
        f"checked on {pod.url}: /health, {len(rows)} predictions as in-process, a 400 "
        f"problem+json; memory limit {int(memory)} B, CPU quota {int(quota) / int(period):g}, "
        f"uid {user}, no new privileges, no capabilities, read-only root, "
        f"{writes[1]} metrics files in {metrics_dir}"
    )
    return 3


def store_check(pod: Played, store: PlayedStore) -> int:
    """A price from the published pod is in the store's PostgreSQL, by its prediction id: the
    URL from the Secret, the initContainer's migrations, the pod's writer. Requests made."""
    assert pod.url is not None
    served = httpx.post(f"{pod.url}/v1/predictions", json=read_dataset("test.csv")[:1], timeout=10)
    assert served.status_code == 200, served.text
    [prediction_id] = served.json()["prediction_ids"]
    [price] = served.json()["predictions"]
    assert PREDICTION_ID.fullmatch(prediction_id), prediction_id  # safe in an SQL literal
    query = f"SELECT price FROM predictions WHERE id = '{prediction_id}'"
    seconds = wait(lambda: store.psql(query) != "", 10, f"house {prediction_id} recorded")
    assert float(store.psql(query)) == price, (store.psql(query), price)
    # The StatefulSet's arguments reach the server (its connection budget).
    [db_pod] = store_manifests()
    [db] = db_pod["spec"]["containers"]
    wanted = max_connections(db)
    assert store.psql("SHOW max_connections") == str(wanted), store.psql("SHOW max_connections")
    print(
        f"house {prediction_id} in the store's PostgreSQL {seconds:.1f} s after its price; "
        f"max_connections {wanted}, as the StatefulSet says"
    )
    return 1


def copy_check(scratch: Path, volume: str, image: str, dump: str) -> None:
    """deploy/kubernetes/backups/db-backup-copy.yaml played over the backup job's ``volume``
    (its claim's name), with the job's ``image``, as README's commands use it: the newest dump
    is ``dump``, ``cat`` gives the bytes ``sha256sum`` there sums, and the volume is read-only."""
    [pod] = load_manifests(KUBE_DIR / "backups" / "db-backup-copy.yaml")
    [container] = pod["spec"]["containers"]
    [claim] = pod["spec"]["volumes"]
    container["image"] = image
    claim["persistentVolumeClaim"]["claimName"] = volume
    path = scratch / "play-copy.yaml"
    write_manifests(path, [pod])
    name = f"{pod['metadata']['name']}-{container['name']}"
    try:
        kube_play(path)
        newest = _podman("exec", name, "sh", "-c", "ls /backups/house_price-*.dump | tail -n 1")
        assert newest == dump, (newest, dump)
        copied = subprocess.run(["podman", "exec", name, "cat", newest], capture_output=True,
                                check=True).stdout  # fmt: skip
        summed = _podman("exec", name, "sha256sum", newest).split()[0]
        assert hashlib.sha256(copied).hexdigest() == summed
        written = subprocess.run(["podman", "exec", name, "touch", "/backups/written"],
                                 capture_output=True, check=False)  # fmt: skip
        assert written.returncode != 0, "the copy pod could write to the backups' volume"
    finally:
        run("podman", "kube", "down", str(path), check=False, capture=True)
    print(f"copy pod: {newest} read out whole ({len(copied)} bytes, its sha256), volume read-only")


def backup_check(store: PlayedStore, scratch: Path) -> None:
    """The backup CronJob's container run once (``podman run`` on the kube network: its image,
    command, environment and security, its claim a podman volume, its emptyDirs tmpfs); its
    dump put back by the same script's restore (docker/postgres/store.sh) into a new database
    of the played store, which then holds the store's houses and migrations; and read out of
    the volume by the copy pod (``copy_check``)."""
    manifests = render(LOCAL_OVERLAY)
    pod = copy.deepcopy(pod_template(find(manifests, "CronJob")))
    inline_secrets(pod["spec"], secret_values(manifests))
    [container] = pod["spec"]["containers"]
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    options = ["--rm", "--network", KUBE_NETWORK, *run_options(container)]
    claimed = f"{STORE_VOLUME_PREFIX}backups"
    for mount in container["volumeMounts"]:
        if "emptyDir" in volumes[mount["name"]]:
            options += ["--tmpfs", mount["mountPath"]]
        else:  # the claim: made for the run, owned by the image's user (fsGroup's part)
            options += ["--volume", f"{claimed}:{mount['mountPath']}:U"]
    image = container["image"]
    started = time.monotonic()
    try:
        dump = podman_run(options, image, container["command"])
        seconds = time.monotonic() - started
        store.psql("CREATE DATABASE restored")
        into = [*options, "--env", "PGDATABASE=restored"]
        podman_run(into, image, [container["command"][0], "restore", dump])
        copy_check(scratch, claimed, image, dump)
    finally:
        run("podman", "volume", "rm", "--force", claimed, check=False, capture=True)
    query = "SELECT count(*), sum(price) FROM predictions; SELECT version_num FROM alembic_version"
    stored, restored = store.psql(query), store.psql(query, "restored")
    assert restored == stored and stored.split()[0] != "0|", (stored, restored)
    print(f"backup job: {dump} in {seconds:.1f} s, restored into a new database: {restored!r}")


def inspect_field(container: str, template: str) -> str:
    """``podman inspect`` of one field."""
    return _podman("inspect", container, "--format", template)


def restart_check(pod: Played) -> float:
    """SIGKILL the container's main process (gunicorn's master) from the host; seconds until
    the pod's restarted container answers /health again."""
    assert pod.url is not None
    [container] = pod.containers
    pid, restarts = inspect_field(container, "{{.State.Pid}} {{.RestartCount}}").split()
    os.kill(int(pid), signal.SIGKILL)

    def restarted() -> bool:
        count = inspect_field(container, "{{.RestartCount}}")
        return int(count) > int(restarts) and http_ok(f"{pod.url}/health")

    seconds = wait(restarted, 60, "the killed container restarted and answering")
    print(
        f"main process (pid {pid} on the host) killed: restarted and answering in {seconds:.1f} s"
    )
    return seconds


def kube_test() -> None:
    """Validate, then the store, then 2 replicas ready, then 1 published replica checked (its
    prices recorded in the store) and restarted."""
    for spec in (API_IMAGE_SPEC, DB_IMAGE_SPEC):
        build_image("podman", spec)  # from the layer cache where nothing changed
    started = time.monotonic()  # the target: under 60 s on top of a built image
    deployment = find(render(LOCAL_OVERLAY), "Deployment")
    budget = probe_budget(container_of(deployment)["startupProbe"])
    requests = 0
    with tempfile.TemporaryDirectory(prefix="kube_test_") as name, podman_made():
        scratch = Path(name)
        validate(scratch)

        # One store for both plays (the second's initContainer finds it migrated).
        with store_played(scratch) as store:
            play_started = time.monotonic()
            with played(scratch, replicas=2, publish=False, store=store) as pods:
                for container in pods.containers:
                    wait(functools.partial(pods.ready, container), budget, f"{container} ready")
                    print(
                        f"{container}: /ready answered {time.monotonic() - play_started:.1f} s "
                        f"after kube play (startup probe's budget {budget:.0f} s)"
                    )

            with played(scratch, replicas=1, publish=True, store=store) as pod:
                assert pod.url is not None
                seconds = wait(lambda: http_ok(f"{pod.url}/ready"), budget, "published pod ready")
                print(f"published pod ready {seconds:.1f} s after kube play, on {pod.url} only")
                requests += smoke_checks(pod, deployment)
                requests += store_check(pod, store)
                backup_check(store, scratch)
                restart_check(pod)
                requests += 1  # /health after the restart
    print(
        f"kube-test passed in {time.monotonic() - started:.1f} s (an image build not counted): "
        f"{requests} smoke-check requests, 0 failed"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["validate", "test"])
    os.environ.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    if parser.parse_args().command == "validate":
        with tempfile.TemporaryDirectory(prefix="kube_validate_") as name:
            validate(Path(name))
    else:
        kube_test()
    return 0


if __name__ == "__main__":
    sys.exit(main())
