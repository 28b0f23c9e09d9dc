"""The Kubernetes manifests (deploy/kubernetes) agree with the settings, the image and nginx.conf.

Each value a manifest restates is checked against its one declaration: the settings
(api/config.py, read with the ConfigMap's variables set), the Dockerfile, the spec's paths (the
Ingress routes every path the app serves but the one Prometheus scrapes), and the compose
proxy's docker/nginx/nginx.conf for the edge limits the Ingress carries. Every limit
in nginx.conf must be carried to the Ingress or to the controller's ConfigMap, or be listed in
``NOT_CARRIED`` with the reason. The prediction store's PostgreSQL (a StatefulSet and its
Service) and the API's URL of it (from a Secret, never a ConfigMap) agree with each other and
with docker/postgres. Reads files only: no cluster, no podman (``make kube-test``).
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import stat
import subprocess
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from api.config import ServerSettings, Settings
from api.store.database import STORE_CONNECTIONS, WRITER_CONNECTIONS, make_engine
from tests.test_proxy_config import (
    NGINX_CONF,
    nginx_seconds,
    nginx_size,
    nginx_value,
    served_paths,
)
from tools.kube import (
    KUBE_DIR,
    LOCAL_OVERLAY,
    ROOT,
    container_of,
    cpu_cores,
    find,
    inline_secrets,
    max_connections,
    memory_bytes,
    pod_containers,
    probe_budget,
    secret_values,
)
from tools.kustomize import (
    UnsupportedKustomizationError,
    load_manifests,
    merge_patch,
    patch_files,
    pod_template,
    render,
    split_image,
)
from tools.model_lock import locked_version
from tools.model_overlays import (
    LOCK,
    PROMOTION_PATCH,
    SHADOW_PATCH,
    stale_values,
    write_overlays,
)
from tools.model_versions import CHALLENGER, MODEL, MODELS_MOUNT, packaged_in_image

BASE = render(KUBE_DIR / "base")
CONFIG_MAP = find(BASE, "ConfigMap")
DEPLOYMENT = find(BASE, "Deployment")
CONTAINER = container_of(DEPLOYMENT)
POD = DEPLOYMENT["spec"]["template"]["spec"]
INGRESS = find(BASE, "Ingress")
SERVICE = find(BASE, "Service", DEPLOYMENT["metadata"]["name"])
LOCAL = render(LOCAL_OVERLAY)
STATEFUL_SET = find(BASE, "StatefulSet")
DB_POD = STATEFUL_SET["spec"]["template"]["spec"]
[DB_CONTAINER] = DB_POD["containers"]
DB_SERVICE = find(BASE, "Service", STATEFUL_SET["spec"]["serviceName"])
CONTROLLER = load_manifests(KUBE_DIR / "ingress-nginx" / "controller-configmap.yaml")[0]["data"]
ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
ANNOTATIONS = {
    key.removeprefix(ANNOTATION_PREFIX): value
    for key, value in INGRESS["metadata"]["annotations"].items()
}
UPSTREAM = re.search(r"upstream api \{(.*?)\n    \}", NGINX_CONF, re.DOTALL)
assert UPSTREAM, "nginx.conf has an `upstream api` block"
#: The upstream block's body.
UPSTREAM_CONF = UPSTREAM.group(1)
#: nginx.conf without its upstream block: the http, server and location levels.
EDGE_CONF = NGINX_CONF.replace(UPSTREAM.group(0), "")


def _same_seconds(nginx: str, kube: str) -> bool:
    return nginx_seconds(nginx) == nginx_seconds(kube)


def _same_size(nginx: str, kube: str) -> bool:
    return nginx_size(nginx) == nginx_size(kube)


def _same_text(nginx: str, kube: str) -> bool:
    return nginx == kube


def _same_switch(nginx: str, kube: str) -> bool:  # nginx's on/off, a ConfigMap's true/false
    return {"on": "true", "off": "false"}[nginx] == kube


def _same_words(nginx: str, kube: str) -> bool:  # a list such as gzip_types, in any order
    return sorted(nginx.split()) == sorted(kube.split())


def _same_limit(nginx: str, kube: str) -> bool:  # "per_client 64": the zone's limit
    return nginx.split()[-1] == kube


Compare = Callable[[str, str], bool]
#: nginx.conf's limits, as (block, directive), and where ingress-nginx takes each:
#: (the Ingress's annotations or the controller's ConfigMap, its key, how values compare).
CARRIED: dict[tuple[str, str], tuple[dict[str, str], str, Compare]] = {
    ("http", "client_max_body_size"): (ANNOTATIONS, "proxy-body-size", _same_size),
    ("http", "client_body_buffer_size"): (ANNOTATIONS, "client-body-buffer-size", _same_size),
    ("http", "proxy_request_buffering"): (ANNOTATIONS, "proxy-request-buffering", _same_text),
    ("http", "proxy_buffering"): (ANNOTATIONS, "proxy-buffering", _same_text),
    ("http", "proxy_http_version"): (ANNOTATIONS, "proxy-http-version", _same_text),
    ("http", "proxy_connect_timeout"): (ANNOTATIONS, "proxy-connect-timeout", _same_seconds),
    ("http", "proxy_read_timeout"): (ANNOTATIONS, "proxy-read-timeout", _same_seconds),
    ("http", "proxy_send_timeout"): (ANNOTATIONS, "proxy-send-timeout", _same_seconds),
    ("http", "proxy_next_upstream"): (ANNOTATIONS, "proxy-next-upstream", _same_text),
    ("http", "proxy_next_upstream_tries"): (ANNOTATIONS, "proxy-next-upstream-tries", _same_text),
    ("http", "limit_conn"): (ANNOTATIONS, "limit-connections", _same_limit),
    ("http", "client_header_timeout"): (CONTROLLER, "client-header-timeout", _same_seconds),
    ("http", "client_body_timeout"): (CONTROLLER, "client-body-timeout", _same_seconds),
    ("http", "client_header_buffer_size"): (CONTROLLER, "client-header-buffer-size", _same_size),
    ("http", "large_client_header_buffers"): (
        CONTROLLER,
        "large-client-header-buffers",
        _same_text,
    ),
    ("http", "keepalive_timeout"): (CONTROLLER, "keep-alive", _same_seconds),
    ("http", "limit_conn_status"): (CONTROLLER, "limit-conn-status-code", _same_text),
    ("http", "limit_req_status"): (CONTROLLER, "limit-req-status-code", _same_text),
    ("upstream", "keepalive_timeout"): (CONTROLLER, "upstream-keepalive-timeout", _same_seconds),
    ("upstream", "keepalive_time"): (CONTROLLER, "upstream-keepalive-time", _same_seconds),
    ("http", "gzip"): (CONTROLLER, "use-gzip", _same_switch),
    ("http", "gzip_comp_level"): (CONTROLLER, "gzip-level", _same_text),
    ("http", "gzip_min_length"): (CONTROLLER, "gzip-min-length", _same_size),
    ("http", "gzip_types"): (CONTROLLER, "gzip-types", _same_words),
}
#: nginx.conf's limits that ingress-nginx cannot take, and why each is left out.
NOT_CARRIED = {
    ("http", "limit_req"): (
        "2 requests a second (burst 4) per address for bodies of 1 MB or more: keyed on "
        "Content-Length, which ingress-nginx's limit-rps cannot do (it would count every "
        "request); only a configuration snippet could, and snippets are off by default as a "
        "security risk. In the cluster the app's ML_API_MAX_INFLIGHT_BODY_BYTES (503 with "
        "Retry-After) bounds what large bodies cost each worker."
    ),
    ("http", "send_timeout"): (
        "no ingress-nginx key: the controller keeps nginx's 60 s for a client that stops "
        "reading; the response is buffered there, so the pod is never held by it."
    ),
    ("http", "gzip_proxied"): (
        "no key: the controller writes gzip_proxied any whenever use-gzip is true, as here."
    ),
    ("http", "gzip_vary"): (
        "no key: the controller writes gzip_vary on whenever use-gzip is true, as here."
    ),
    ("upstream", "keepalive"): (
        "the controller's upstream-keepalive-connections is per nginx worker and shared by every "
        "Ingress: 16, sized for the compose proxy's one upstream, would starve the others. Its "
        "default (320) holds more idle connections to the pods, closed after 4 s all the same."
    ),
}
#: What counts as an edge limit in nginx.conf: timeouts, sizes, buffers, connection and request
#: limits, keep-alive, retries, buffering; and its compression of responses.
EDGE_LIMIT = re.compile(
    r"timeout|_size$|_buffers$|^limit_(conn|req)(_status)?$|^keepalive|next_upstream|"
    r"buffering$|_http_version$|_time$|^gzip"
)


def _directives(conf: str) -> Iterator[str]:
    """The name of each directive in ``conf``, outside ``map`` blocks (their lines are data)."""
    in_map = False
    for raw in conf.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("map "):
            in_map = True
        if in_map:
            in_map = line != "}"
            continue
        if line and line[0].isalpha():
            yield line.split()[0]


def _edge_limits() -> set[tuple[str, str]]:
    limits = {("http", name) for name in _directives(EDGE_CONF) if EDGE_LIMIT.search(name)}
    upstream = _directives(UPSTREAM_CONF)
    return limits | {("upstream", name) for name in upstream if EDGE_LIMIT.search(name)}


def _nginx(block: str, directive: str) -> str:
    return nginx_value(directive, UPSTREAM_CONF if block == "upstream" else EDGE_CONF)


@pytest.fixture
def kube_settings(monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, ServerSettings]:
    """The settings a pod runs with: the ConfigMap's variables over the defaults."""
    for name, value in CONFIG_MAP["data"].items():
        monkeypatch.setenv(name, value)
    return Settings(), ServerSettings()


# --- Edge limits: the Ingress and the controller's ConfigMap against nginx.conf ---------------


def test_every_limit_of_nginx_conf_is_carried_or_said_not_to_be() -> None:
    limits = _edge_limits()
    assert limits, "no limits found in nginx.conf"
    unclassified = limits - CARRIED.keys() - NOT_CARRIED.keys()
    assert not unclassified, f"nginx.conf limits neither carried nor in NOT_CARRIED: {unclassified}"
    gone = (CARRIED.keys() | NOT_CARRIED.keys()) - limits
    assert not gone, f"listed here but no longer in nginx.conf: {gone}"
    assert not CARRIED.keys() & NOT_CARRIED.keys()


@pytest.mark.parametrize(("block", "directive"), sorted(CARRIED))
def test_carried_limit_equals_nginx_conf(block: str, directive: str) -> None:
    values, key, same = CARRIED[(block, directive)]
    assert key in values, f"{key} missing for nginx.conf's {directive}"
    nginx = _nginx(block, directive)
    assert same(nginx, values[key]), f"{key}: {values[key]!r}, nginx.conf {directive}: {nginx!r}"


def test_no_annotation_or_key_is_left_unchecked() -> None:
    """Every value in the two files is one of nginx.conf's limits (or server_tokens)."""
    carried_annotations = {key for values, key, _ in CARRIED.values() if values is ANNOTATIONS}
    assert set(ANNOTATIONS) == carried_annotations
    carried_keys = {key for values, key, _ in CARRIED.values() if values is CONTROLLER}
    assert set(CONTROLLER) == carried_keys | {"server-tokens"}
    assert nginx_value("server_tokens") == "off" and CONTROLLER["server-tokens"] == "false"
    assert all(key.startswith(ANNOTATION_PREFIX) for key in INGRESS["metadata"]["annotations"])


def test_a_planted_annotation_mismatch_is_caught() -> None:
    _, key, same = CARRIED[("http", "client_max_body_size")]
    assert not same(_nginx("http", "client_max_body_size"), "20m")
    assert key == "proxy-body-size"


def test_edge_limits_follow_the_pods_settings(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    """Where an edge limit restates a setting, it follows the settings the pod runs with."""
    settings, server = kube_settings
    assert nginx_size(ANNOTATIONS["proxy-body-size"]) == settings.max_body_bytes
    assert int(ANNOTATIONS["proxy-read-timeout"]) == server.timeout
    assert int(ANNOTATIONS["proxy-send-timeout"]) == server.timeout
    count, size = CONTROLLER["large-client-header-buffers"].split()
    assert nginx_size(size) == server.max_header_field_bytes
    assert int(count) * nginx_size(size) == server.max_header_bytes
    assert int(CONTROLLER["upstream-keepalive-timeout"]) < server.keepalive


def test_a_sale_the_store_stalls_is_answered_before_the_ingress_gives_up(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    """A sale held by a stalled store is a 503 at ML_API_STORE_STATEMENT_TIMEOUT: the client
    must get it, not the ingress's own 504 at its read timeout."""
    settings, _ = kube_settings
    assert settings.store_statement_timeout < int(ANNOTATIONS["proxy-read-timeout"])


# --- Routes: what the public reaches through the Ingress -------------------------------------

#: The path Prometheus scrapes each pod at (the pod's annotation): never through the edge.
SCRAPED = DEPLOYMENT["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
#: What the public should reach: every path the app serves (the spec's, Swagger UI's, the spec
#: document's) but the scraped one.
PUBLIC = served_paths() - {SCRAPED}
[RULE] = INGRESS["spec"]["rules"]
ROUTES: list[dict[str, Any]] = RULE["http"]["paths"]
#: The characters ingress-nginx takes in an Exact or Prefix path (its strict-validate-path-type,
#: on by default; internal/ingress/inspector/rules.go): any other refuses the whole Ingress.
VALID_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")


def _routed(path: str, routes: list[dict[str, Any]] = ROUTES) -> bool:
    """Whether one of ``routes`` matches ``path`` (normalised, as ingress-nginx matches it), by
    Kubernetes' rule: Exact the whole path, Prefix whole path elements (``/ui`` takes ``/ui``,
    ``/ui/`` and ``/ui/x``, not ``/uix``; ``/`` takes every path)."""
    for route in routes:
        if route["pathType"] == "Exact" and path == route["path"]:
            return True
        if route["pathType"] == "Prefix":
            elements = route["path"].rstrip("/").split("/")
            if path.split("/")[: len(elements)] == elements:
                return True
    return False


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_the_ingress_routes_every_public_path(path: str) -> None:
    assert _routed(path), f"{path} is served by the app but not routed by the Ingress"


def test_the_ingress_does_not_route_the_scraped_path() -> None:
    """Nor /metrics/, which the app redirects to it; the spec has the path (no typo)."""
    spec = yaml.safe_load((ROOT / "api" / "spec" / "api.yaml").read_text(encoding="utf-8"))
    assert SCRAPED in spec["paths"]
    for path in (SCRAPED, f"{SCRAPED}/"):
        assert not _routed(path), f"{path} is routed by the Ingress"


def test_every_route_is_a_public_path_to_the_service() -> None:
    """No other route, each Exact or Prefix (no regex, no snippet) in characters ingress-nginx
    takes, to the Service's port."""
    for route in ROUTES:
        assert route["path"] in PUBLIC, f"{route['path']} is not a path the app serves"
        assert route["pathType"] in {"Exact", "Prefix"}
        assert VALID_PATH.fullmatch(route["path"]), route["path"]
        backend = route["backend"]["service"]
        assert backend["name"] == SERVICE["metadata"]["name"]
        assert backend["port"]["name"] in {port["name"] for port in SERVICE["spec"]["ports"]}
    assert len({route["path"] for route in ROUTES}) == len(ROUTES)
    assert INGRESS["spec"]["ingressClassName"] == "nginx"
    assert "defaultBackend" not in INGRESS["spec"]


@pytest.mark.parametrize(
    ("route", "path", "routed"),
    [
        ({"path": "/", "pathType": "Prefix"}, "/metrics", True),
        ({"path": "/", "pathType": "Exact"}, "/metrics", False),
        ({"path": "/", "pathType": "Exact"}, "/", True),
        ({"path": "/ui", "pathType": "Prefix"}, "/ui", True),
        ({"path": "/ui", "pathType": "Prefix"}, "/ui/swagger-ui.css", True),
        ({"path": "/ui", "pathType": "Prefix"}, "/uix", False),
        ({"path": "/ui/", "pathType": "Prefix"}, "/ui", True),
        ({"path": "/openapi.json", "pathType": "Exact"}, "/openapi.json/", False),
    ],
)
def test_routes_match_as_kubernetes_defines_path_types(
    route: dict[str, str], path: str, routed: bool
) -> None:
    """The old catch-all (Prefix /) would route /metrics: the check above sees it."""
    assert _routed(path, [route]) is routed


# --- The Deployment against the settings and the image ---------------------------------------


def test_every_configmap_variable_is_a_setting() -> None:
    """A misspelt name would be ignored by the settings (extra="ignore"): none is."""
    names = [*Settings.model_fields, *ServerSettings.model_fields]
    fields = {f"ML_API_{name.upper()}" for name in names}
    assert set(CONFIG_MAP["data"]) <= fields
    assert CONTAINER["envFrom"] == [{"configMapRef": {"name": CONFIG_MAP["metadata"]["name"]}}]


def test_workers_match_the_cpu_limit(kube_settings: tuple[Settings, ServerSettings]) -> None:
    _, server = kube_settings
    resources = CONTAINER["resources"]
    assert server.workers == cpu_cores(resources["limits"]["cpu"])
    # Guaranteed QoS: requests equal limits, so the pod is the last to be evicted.
    assert resources["requests"] == resources["limits"]
    assert memory_bytes(resources["limits"]["memory"]) > 0


def test_the_container_port_and_probes_are_the_apps(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    _, server = kube_settings
    [port] = CONTAINER["ports"]
    assert port["containerPort"] == server.port
    spec = yaml.safe_load((ROOT / "api" / "spec" / "api.yaml").read_text(encoding="utf-8"))
    probes = {name: CONTAINER[name]["httpGet"] for name in CONTAINER if name.endswith("Probe")}
    assert {name: probe["path"] for name, probe in probes.items()} == {
        "startupProbe": "/ready",
        "readinessProbe": "/ready",
        "livenessProbe": "/health",
    }
    for probe in probes.values():
        assert probe["path"] in spec["paths"] and probe["port"] == port["name"]
    assert [p["targetPort"] for p in SERVICE["spec"]["ports"]] == [port["name"]]
    # Prometheus' pod discovery scrapes the port and path the pod's annotations name (a
    # review's: without a port, the init container too, at port 80, down for good).
    scrape = DEPLOYMENT["spec"]["template"]["metadata"]["annotations"]
    assert int(scrape["prometheus.io/port"]) == port["containerPort"]
    assert scrape["prometheus.io/path"] in spec["paths"]


def test_liveness_gives_gunicorn_its_own_worker_timeout_first(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    """gunicorn replaces a stuck worker after ML_API_TIMEOUT; the kubelet restarts the whole pod
    only after /health has failed for at least as long."""
    _, server = kube_settings
    liveness = CONTAINER["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= server.timeout
    assert liveness["timeoutSeconds"] < liveness["periodSeconds"]
    assert probe_budget(CONTAINER["startupProbe"]) > 0


def test_termination_grace_outlasts_the_drain_and_the_graceful_timeout(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    _, server = kube_settings
    # gunicorn kills a worker shutdown_seconds (the drain, then the graceful timeout) after
    # SIGTERM; the kubelet must not kill the pod sooner.
    assert POD["terminationGracePeriodSeconds"] > server.shutdown_seconds


def test_a_reload_does_not_take_the_pod_out(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    """A reload (HUP) drains the old workers while the new ones serve, and a draining worker
    answers /ready with 503 (api/draining.py): no two readiness probes in a row may both fall
    within one drain."""
    _, server = kube_settings
    readiness = CONTAINER["readinessProbe"]
    assert readiness["periodSeconds"] * (readiness["failureThreshold"] - 1) >= server.drain_seconds


def test_the_pod_runs_as_the_images_user_locked_down() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    context = POD["securityContext"]
    assert context["runAsNonRoot"] is True
    assert str(context["runAsUser"]) == users[-1]
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert CONTAINER["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert POD["automountServiceAccountToken"] is False


def test_what_the_server_writes_is_on_writable_volumes() -> None:
    """The root filesystem is read-only: the metrics folder (gunicorn.conf.py) and the temp
    folder (gunicorn's worker heartbeat files: no worker_tmp_dir is set) are emptyDirs."""
    env = {entry["name"]: entry.get("value") for entry in CONTAINER["env"]}
    empty_dirs = {volume["name"] for volume in POD["volumes"] if "emptyDir" in volume}
    mounted = {m["mountPath"] for m in CONTAINER["volumeMounts"] if m["name"] in empty_dirs}
    gunicorn_conf = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    assert env["PROMETHEUS_MULTIPROC_DIR"] in mounted
    assert "PROMETHEUS_MULTIPROC_DIR" in gunicorn_conf
    assert "worker_tmp_dir" not in gunicorn_conf
    assert "/tmp" in mounted


def test_the_autoscaler_and_the_disruption_budget_keep_a_pod_serving() -> None:
    hpa = find(BASE, "HorizontalPodAutoscaler")
    pdb = find(BASE, "PodDisruptionBudget")
    service = SERVICE
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert "replicas" not in DEPLOYMENT["spec"], "the HorizontalPodAutoscaler owns the count"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", DEPLOYMENT["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    assert pdb["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    for selector in (pdb["spec"]["selector"]["matchLabels"], service["spec"]["selector"]):
        assert selector.items() <= labels.items()
    assert DEPLOYMENT["spec"]["selector"]["matchLabels"].items() <= labels.items()


# --- The kustomizations and their renderer (tools/kustomize.py) -------------------------------


def test_the_local_overlay_changes_only_the_images_and_adds_the_stores_secret() -> None:
    local = render(LOCAL_OVERLAY)
    secret = find(local, "Secret")
    local.remove(secret)
    assert [m["kind"] for m in local] == [m["kind"] for m in BASE]
    deployment, statefulset = find(local, "Deployment"), find(local, "StatefulSet")
    containers = pod_containers(deployment["spec"]["template"]["spec"])
    assert {c["image"] for c in containers} == {"localhost/house-price-api:latest"}
    [db] = statefulset["spec"]["template"]["spec"]["containers"]
    # The database's image, renamed in a CronJob's pod too (as kubectl kustomize does).
    [backup] = pod_template(find(local, "CronJob"))["spec"]["containers"]
    assert db["image"] == backup["image"] == "localhost/house-price-db:latest"
    for container in containers:
        container["image"] = CONTAINER["image"]
    db["image"] = backup["image"] = DB_CONTAINER["image"]
    assert local == BASE


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("house-price-api", ("house-price-api", None)),
        ("localhost/house-price-api:latest", ("localhost/house-price-api", "latest")),
        ("registry:5000/api", ("registry:5000/api", None)),
        ("registry:5000/api:1.2", ("registry:5000/api", "1.2")),
    ],
)
def test_image_references_are_split_as_kustomize_does(
    image: str, expected: tuple[str, str | None]
) -> None:
    assert split_image(image) == expected


def test_a_kustomize_field_the_renderer_lacks_is_refused(tmp_path: Path) -> None:
    kustomization: dict[str, Any] = {"resources": [], "namePrefix": "x-"}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    with pytest.raises(UnsupportedKustomizationError, match="namePrefix"):
        render(tmp_path)


def test_a_strategic_merge_patch_orders_merged_lists_as_kubectl_kustomize() -> None:
    """Items by their key (env by name, mounts by path), the patch's first, as kustomize v5.5
    prints them (checked against ``kubectl kustomize`` by hand, and by make kube-test's
    compare_with_kubectl on every overlay); other lists replaced whole."""
    env = [{"name": name, "value": name.lower()} for name in "ABC"]
    target = {"env": env, "args": ["x", "y"], "volumeMounts": [{"mountPath": "/a", "name": "a"}]}
    patch = {
        "env": [{"name": "C", "value": "9"}, {"name": "D", "value": "d"}],
        "args": ["z"],
        "volumeMounts": [{"mountPath": "/a", "readOnly": True}],
    }
    assert merge_patch(target, patch) == {
        "env": [{"name": "C", "value": "9"}, {"name": "D", "value": "d"}, *env[:2]],
        "args": ["z"],
        "volumeMounts": [{"mountPath": "/a", "name": "a", "readOnly": True}],
    }
    assert target["env"] == env, "the target is not changed in place"


@pytest.mark.parametrize(
    ("entry", "patch", "refused"),
    [
        ({"path": "p.yaml", "target": {"kind": "Deployment"}}, {}, "target"),
        ({"patch": "[]"}, {}, "patch"),
        ({"path": "p.yaml"}, {"spec": {"template": {"$patch": "replace"}}}, r"\$patch"),
        ({"path": "p.yaml"}, {"spec": {"replicas": None}}, "null"),
        ({"path": "p.yaml"}, {"metadata": {"name": "elsewhere"}}, "0 objects"),
    ],
)
def test_a_patch_the_renderer_lacks_is_refused(
    tmp_path: Path, entry: dict[str, Any], patch: dict[str, Any], refused: str
) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(deployment))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({**deployment, **patch}))
    kustomization = {"resources": ["d.yaml"], "patches": [entry]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    with pytest.raises(UnsupportedKustomizationError, match=refused):
        render(tmp_path)


# --- The prediction store: PostgreSQL's StatefulSet, its Service, the API's URL from a Secret ---

DB_DOCKERFILE = (ROOT / "docker" / "postgres" / "Dockerfile").read_text(encoding="utf-8")
CHALLENGER_OVERLAY = KUBE_DIR / "overlays" / "challenger"
PROMOTED_OVERLAY = KUBE_DIR / "overlays" / "promoted"
URL_VARIABLE = "ML_API_DATABASE_URL"


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def test_the_stores_url_comes_from_a_secret_and_no_configmap_holds_one() -> None:
    for container in pod_containers(POD):
        reference = _env(container)[URL_VARIABLE]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": DB_SERVICE["metadata"]["name"], "key": "database-url"}
    password = _env(DB_CONTAINER)["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert password["name"] == reference["name"]
    for manifests in (BASE, LOCAL):
        for config_map in (m for m in manifests if m["kind"] == "ConfigMap"):
            assert URL_VARIABLE not in config_map["data"]
            assert not any("postgresql" in str(v) for v in config_map["data"].values())
    assert not any(m["kind"] == "Secret" for m in BASE), "the base ships no credentials"


def test_the_feedback_tokens_come_from_an_optional_secret_and_no_configmap_holds_them() -> None:
    """Who may post sale prices back: no way to give tokens but the ConfigMap, which anyone who
    may read ConfigMaps reads, had left feedback off on Kubernetes (a review's). Optional:
    without the Secret the pod starts, feedback off."""
    reference = _env(CONTAINER)["ML_API_FEEDBACK_TOKENS"]["valueFrom"]["secretKeyRef"]
    assert reference["optional"] is True and reference["name"] != DB_SERVICE["metadata"]["name"]
    for manifests in (BASE, LOCAL, render(CHALLENGER_OVERLAY), render(PROMOTED_OVERLAY)):
        for config_map in (m for m in manifests if m["kind"] == "ConfigMap"):
            assert "ML_API_FEEDBACK_TOKENS" not in config_map["data"]


def test_an_optional_secret_not_played_leaves_its_variable_unset() -> None:
    """make kube-test plays no feedback Secret: its variable is left out, as Kubernetes does,
    and a Secret that is not optional must be there."""
    pod = copy.deepcopy(POD)
    inline_secrets(pod, secret_values(LOCAL))
    assert "ML_API_FEEDBACK_TOKENS" not in _env(pod["containers"][0])
    assert "value" in _env(pod["containers"][0])[URL_VARIABLE]
    required = copy.deepcopy(POD)
    del _env(required["containers"][0])["ML_API_FEEDBACK_TOKENS"]["valueFrom"]["secretKeyRef"][
        "optional"
    ]
    with pytest.raises(KeyError):
        inline_secrets(required, secret_values(LOCAL))


@pytest.mark.parametrize("overlay", [LOCAL_OVERLAY, CHALLENGER_OVERLAY, PROMOTED_OVERLAY])
def test_every_container_of_every_pod_has_requests_equal_to_limits(overlay: Path) -> None:
    """Guaranteed QoS, as the Deployment says, needs every container's requests equal to its
    limits, its init containers' too: the migration's and the models' copy were not, and the
    pods were Burstable (a review's)."""
    for manifest in render(overlay):
        if manifest["kind"] == "Deployment":  # the database: memory alone (its comment)
            for container in pod_containers(manifest["spec"]["template"]["spec"]):
                resources = container["resources"]
                assert resources["requests"] == resources["limits"], container["name"]


def test_the_local_secrets_url_names_the_db_service_user_database_and_password() -> None:
    values = secret_values(LOCAL)
    name = DB_SERVICE["metadata"]["name"]
    url = make_url(values[(name, "database-url")])
    env = _env(DB_CONTAINER)
    assert (url.get_backend_name(), url.get_driver_name()) == ("postgresql", "psycopg")
    assert url.host == name
    [port] = DB_SERVICE["spec"]["ports"]
    [container_port] = DB_CONTAINER["ports"]
    assert url.port == port["port"] == container_port["containerPort"]
    assert port["targetPort"] == container_port["name"]
    assert url.username == env["POSTGRES_USER"]["value"]
    assert url.database == env["POSTGRES_DB"]["value"]
    assert url.password == values[(name, "password")]
    assert "dev" in url.password, "the local overlay's password says what it is for"


def test_the_init_container_runs_make_migrate_on_the_apis_image() -> None:
    [init] = POD["initContainers"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    migrate = re.search(r"^migrate:.*\n\t\$\(BIN\)/(python -m \S+)$", makefile, re.MULTILINE)
    assert migrate and init["command"] == shlex.split(migrate.group(1))
    assert init["image"] == CONTAINER["image"]
    assert init["securityContext"] == CONTAINER["securityContext"]
    assert init["resources"]["requests"].keys() == init["resources"]["limits"].keys()
    # The server's settings too: the store's bound and the address its status is served on
    # (ML_API_PORT, which Prometheus scrapes) are the server's.
    assert init["envFrom"] == CONTAINER["envFrom"]


def test_the_api_pod_keeps_no_embedded_store() -> None:
    """The store is PostgreSQL: no volume for the SQLite default's folder (ML_API_STATE_DIR)."""
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    state_dir = re.search(r"ML_API_STATE_DIR=(\S+)", dockerfile)
    assert state_dir
    assert state_dir.group(1) not in {m["mountPath"] for m in CONTAINER["volumeMounts"]}


def test_the_database_runs_as_the_images_user_on_its_claimed_volume() -> None:
    assert DB_CONTAINER["image"] == "house-price-db:latest"  # the overlay's `images:` name
    assert STATEFUL_SET["spec"]["replicas"] == 1
    labels = STATEFUL_SET["spec"]["template"]["metadata"]["labels"]
    assert STATEFUL_SET["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert DB_SERVICE["spec"]["selector"].items() <= labels.items()
    assert DB_SERVICE["spec"]["clusterIP"] == "None"  # headless: the StatefulSet's serviceName
    users = re.findall(r"^USER (\S+)$", DB_DOCKERFILE, re.MULTILINE)
    context = DB_POD["securityContext"]
    assert str(context["runAsUser"]) == users[-1] == str(context["fsGroup"])
    assert context["runAsNonRoot"] is True
    # A volume's mount does not make PGDATA group-writable again (PostgreSQL would not start).
    assert context["fsGroupChangePolicy"] == "OnRootMismatch"
    # PGDATA in a folder of the claimed volume (its root may hold lost+found).
    [claim] = STATEFUL_SET["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in DB_CONTAINER["volumeMounts"]}
    pgdata = _env(DB_CONTAINER)["PGDATA"]["value"]
    assert pgdata.startswith(mounts[claim["metadata"]["name"]] + "/")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    # The root is read-only: the socket folder (the image's) and /tmp are emptyDirs.
    empty_dirs = {volume["name"] for volume in DB_POD["volumes"] if "emptyDir" in volume}
    writable = {path for name, path in mounts.items() if name in empty_dirs}
    assert DB_CONTAINER["securityContext"]["readOnlyRootFilesystem"] is True
    assert writable == {"/run/postgresql", "/tmp"}
    assert "/var/run/postgresql" in DB_DOCKERFILE  # /var/run links to /run in Debian


def test_the_database_is_ready_when_pg_isready_says_so() -> None:
    probes = {name: DB_CONTAINER[name] for name in DB_CONTAINER if name.endswith("Probe")}
    assert probes.keys() == {"startupProbe", "readinessProbe", "livenessProbe"}
    healthcheck = re.search(r"^\s+CMD (\[.+\])$", DB_DOCKERFILE, re.MULTILINE)
    assert healthcheck, "docker/postgres/Dockerfile has an exec-form HEALTHCHECK"
    for probe in probes.values():
        assert probe["exec"]["command"] == yaml.safe_load(healthcheck.group(1))
    assert probe_budget(probes["livenessProbe"]) >= 60


# --- A second model version: overlays/challenger (in the shadow), overlays/promoted ------------

MODEL_SETTINGS = (MODEL, CHALLENGER)
MODELS_DOCKERFILE = (ROOT / "docker" / "models" / "Dockerfile").read_text(encoding="utf-8")


def _model_settings(overlay: Path) -> dict[str, str]:
    """The artifact settings of the overlay's API container."""
    env = _env(container_of(find(render(overlay), "Deployment")))
    return {name: env[name]["value"] for name in MODEL_SETTINGS if name in env}


def _without_models(deployment: dict[str, Any]) -> dict[str, Any]:
    """``deployment`` without what overlays/challenger adds: the copy, the volume, its mount in
    the API container and the artifact settings."""
    pod = deployment["spec"]["template"]["spec"]
    pod["initContainers"] = [c for c in pod["initContainers"] if c["name"] != "copy-models"]
    pod["volumes"] = [volume for volume in pod["volumes"] if volume["name"] != "models"]
    container = container_of(deployment)
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "models"]
    container["env"] = [e for e in container["env"] if e["name"] not in MODEL_SETTINGS]
    return deployment


def test_the_challenger_overlays_add_only_the_models_and_their_settings_to_the_local_one() -> None:
    local = render(LOCAL_OVERLAY)
    for overlay in (CHALLENGER_OVERLAY, PROMOTED_OVERLAY):
        rendered = render(overlay)
        assert [m for m in rendered if m["kind"] != "Deployment"] == [
            m for m in local if m["kind"] != "Deployment"
        ]
        assert _without_models(find(rendered, "Deployment")) == find(local, "Deployment")


@pytest.mark.parametrize("overlay", [CHALLENGER_OVERLAY, PROMOTED_OVERLAY], ids=lambda p: p.name)
def test_the_models_volume_is_filled_from_the_models_image_and_mounted_read_only(
    overlay: Path,
) -> None:
    deployment = find(render(overlay), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [volume] = [volume for volume in pod["volumes"] if volume["name"] == "models"]
    assert set(volume) == {"name", "emptyDir"} and volume["emptyDir"]["sizeLimit"]
    [mount] = [m for m in container_of(deployment)["volumeMounts"] if m["name"] == "models"]
    assert mount == {"name": "models", "mountPath": MODELS_MOUNT, "readOnly": True}
    # The copy: the models image's files into the volume, before the server starts.
    [copy] = [c for c in pod["initContainers"] if c["name"] == "copy-models"]
    [target] = [m["mountPath"] for m in copy["volumeMounts"] if m["name"] == "models"]
    copied = re.search(r"^COPY \S+ \S+ (\S+)/$", MODELS_DOCKERFILE, re.MULTILINE)
    assert copied, "docker/models/Dockerfile copies the artifacts into a folder"
    assert copy["command"] == ["cp", "-R", f"{copied.group(1)}/.", f"{target}/"]
    assert copy["image"] == "localhost/house-price-models:latest"
    assert copy["securityContext"] == container_of(deployment)["securityContext"]
    assert copy["resources"]["requests"].keys() == copy["resources"]["limits"].keys()
    assert "FROM ${BASE_IMAGE}" in MODELS_DOCKERFILE


@pytest.mark.parametrize("overlay", [CHALLENGER_OVERLAY, PROMOTED_OVERLAY], ids=lambda p: p.name)
def test_the_artifact_settings_are_settings_naming_files_the_pod_has(
    overlay: Path, kube_settings: tuple[Settings, ServerSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _model_settings(overlay)
    names = {f"ML_API_{name.upper()}" for name in Settings.model_fields}
    assert settings and set(settings) <= names
    for value in settings.values():
        assert value.startswith(f"{MODELS_MOUNT}/") or value == packaged_in_image(), value
        assert value.endswith(".joblib")
    # The settings the pod runs with load (a challenger needs recording, on by default).
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    loaded = Settings()
    assert loaded.recording
    assert str(loaded.challenger_artifact) == settings[CHALLENGER]


def test_promotion_serves_the_challengers_file_and_shadows_the_packaged_one() -> None:
    """In the shadow: the packaged model served (no ML_API_MODEL_ARTIFACT), a file of the
    models' volume priced beside it. Promoted: that file served, the packaged file (where the
    API's image installs it: container-test asks the image) in the shadow; nothing else
    changes. Rollback is overlays/challenger applied again."""
    shadow, promoted = _model_settings(CHALLENGER_OVERLAY), _model_settings(PROMOTED_OVERLAY)
    assert shadow == {CHALLENGER: shadow[CHALLENGER]}
    assert promoted == {MODEL: shadow[CHALLENGER], CHALLENGER: packaged_in_image()}
    rendered = [find(render(o), "Deployment") for o in (CHALLENGER_OVERLAY, PROMOTED_OVERLAY)]
    for deployment in rendered:
        container = container_of(deployment)
        container["env"] = [e for e in container["env"] if e["name"] not in MODEL_SETTINGS]
    assert rendered[0] == rendered[1]


def test_the_model_overlays_name_the_files_of_the_version_the_service_is_locked_to() -> None:
    """A release's make lock pinned the new version and left the overlays naming the old one's
    files: promote.yaml's packaged file, no longer in the image, and the demo challenger, no
    longer what tools.challengers writes (a colleague's, at 0.3.3 to 0.3.4). make lock now
    rewrites them (tools/model_overlays.py); each stale line is named here."""
    version = locked_version(LOCK)
    stale = stale_values(version)
    assert not stale, "\n".join(map(str, stale))
    # The values the other tests check are that version's files.
    promoted = _model_settings(PROMOTED_OVERLAY)
    assert promoted[CHALLENGER].endswith(f"_v{version}.joblib")
    assert promoted[MODEL] == _model_settings(CHALLENGER_OVERLAY)[CHALLENGER]
    assert promoted[MODEL].endswith(f"_v{version}+challenger.joblib")


def test_make_overlays_rewrites_only_the_values_naming_another_versions_files(
    tmp_path: Path,
) -> None:
    """The overlays of a release to come (9.9.9): the three values are named stale, by file
    and line; rewritten, they render that version's files, and rewritten back the files are
    the committed ones, byte for byte (comments and all)."""
    kube = tmp_path / "kubernetes"
    shutil.copytree(KUBE_DIR, kube)
    version, release = locked_version(LOCK), "9.9.9"
    stale = stale_values(release, kube)
    assert {(each.path, each.setting) for each in stale} == {
        (kube / SHADOW_PATCH, CHALLENGER),
        (kube / PROMOTION_PATCH, MODEL),
        (kube / PROMOTION_PATCH, CHALLENGER),
    }
    for each in stale:
        line = each.path.read_text(encoding="utf-8").splitlines()[each.line - 1]
        assert line.strip() == f"value: {each.found}" and f"_v{version}" in each.found
        assert f"{each.path}:{each.line}: {each.setting} names {each.found}" in str(each)
    assert write_overlays(release, kube) == stale
    assert stale_values(release, kube) == []
    promoted = _model_settings(kube / "overlays" / "promoted")
    assert promoted == {
        MODEL: f"{MODELS_MOUNT}/gradient_boosting_model_v9.9.9+challenger.joblib",
        CHALLENGER: packaged_in_image("9.9.9"),
    }
    assert packaged_in_image("9.9.9").endswith("/gradient_boosting_model_v9.9.9.joblib")
    write_overlays(version, kube)
    for patch in (SHADOW_PATCH, PROMOTION_PATCH):
        assert (kube / patch).read_bytes() == (KUBE_DIR / patch).read_bytes()


def test_make_lock_writes_the_model_overlays() -> None:
    """Step 5 of a release is make lock: it must leave the overlays naming the new files."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lock:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "the Makefile has a lock target"
    steps = recipe.group(1).splitlines()
    assert steps[-1].strip() == "$(MAKE) --no-print-directory overlays", steps
    overlays = re.search(r"^overlays:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert overlays, "the Makefile has an overlays target"
    assert overlays.group(1).strip() == "$(BIN)/python -m tools.model_overlays"


def test_patches_are_left_out_of_the_validation_of_whole_files() -> None:
    """A patch is a partial object (a Deployment with no selector): make kube-test validates
    it merged, in the rendered overlay, and each other manifest file alone."""
    assert patch_files(KUBE_DIR) == {
        (CHALLENGER_OVERLAY / "models.yaml").resolve(),
        (PROMOTED_OVERLAY / "promote.yaml").resolve(),
    }


def test_the_database_entrypoint_makes_pgdata_its_own_at_every_start(tmp_path: Path) -> None:
    """A volume mounted with an fsGroup left PGDATA group-writable (2770), and PostgreSQL
    refuses such a folder: the entrypoint set its mode on the first start only (a review's).
    Played with a stand-in for postgres on a PGDATA that holds a database already."""
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("15\n")
    pgdata.chmod(0o2770)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "postgres").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "postgres").chmod(0o755)
    entrypoint = ROOT / "docker" / "postgres" / "entrypoint.sh"
    env = {**os.environ, "PGDATA": str(pgdata), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", str(entrypoint), "postgres"], env=env, timeout=30, check=False)
    assert done.returncode == 0
    assert stat.S_IMODE(pgdata.stat().st_mode) == 0o700


def test_the_database_takes_every_connection_the_api_may_open_at_its_largest(
    kube_settings: tuple[Settings, ServerSettings],
) -> None:
    """A review's: each worker holds two pools (the writers' and the store's), 16 connections
    a pod by their settings then, and 8 pods and a surge went past PostgreSQL's default 100;
    a refused connection fails a new pod's start. Now: each worker's allowance, times the
    workers, the autoscaler's most pods and the rollout's surge, and a new pod's migration,
    within max_connections less the superusers' reserve."""
    _, server = kube_settings
    per_pod = server.workers * (WRITER_CONNECTIONS + STORE_CONNECTIONS)
    hpa = find(BASE, "HorizontalPodAutoscaler")
    pods = hpa["spec"]["maxReplicas"] + DEPLOYMENT["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    arguments = DB_CONTAINER["args"]
    assert arguments[0] == "postgres"  # what the image's entrypoint makes a database for
    limit = max_connections(DB_CONTAINER)
    reserved = 3  # PostgreSQL's superuser_reserved_connections
    assert per_pod * pods + 1 <= limit - reserved, (per_pod, pods, limit)


@pytest.mark.external
def test_an_engine_opens_no_more_connections_than_it_is_allowed(
    postgres_server: Any,
) -> None:
    """make_engine's allowance is its pool's: with every connection held, one more waits until
    one is given back."""
    engine = make_engine(postgres_server.url, connections=WRITER_CONNECTIONS)
    held = [engine.connect() for _ in range(WRITER_CONNECTIONS)]
    extra: list[Any] = []
    waiting = threading.Thread(target=lambda: extra.append(engine.connect()), daemon=True)
    try:
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive() and not extra  # no connection beyond the allowance
        held.pop().close()
        waiting.join(10.0)
        assert len(extra) == 1
    finally:
        for connection in [*held, *extra]:
            connection.close()
        engine.dispose()


def test_only_the_api_pods_reach_the_database() -> None:
    """A review's: any pod of the cluster could connect to PostgreSQL. The policy selects the
    database's pods, by the labels the StatefulSet gives them, and lets in the API's pods
    (those of the Deployment's template, whose migrate initContainer runs there too) on the
    database's port alone."""
    policy = find(BASE, "NetworkPolicy", DB_SERVICE["metadata"]["name"])
    spec = policy["spec"]
    db_labels = STATEFUL_SET["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= db_labels.items()
    assert spec["policyTypes"] == ["Ingress"]
    [rule] = spec["ingress"]
    api_source, backup_source = rule["from"]
    api_labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    for source, labels in ((api_source, api_labels), (backup_source, BACKUP_LABELS)):
        assert source.keys() == {"podSelector"}  # no namespace or address beyond these pods
        assert source["podSelector"]["matchLabels"].items() <= labels.items()
    [port] = rule["ports"]
    [container_port] = DB_CONTAINER["ports"]
    assert port == {"port": container_port["name"], "protocol": "TCP"}


# --- The store's backups: deploy/kubernetes/base/db-backup.yaml ---------------------------------

BACKUP_JOB = find(BASE, "CronJob")
BACKUP_POD = pod_template(BACKUP_JOB)["spec"]
BACKUP_LABELS = pod_template(BACKUP_JOB)["metadata"]["labels"]
[BACKUP_CONTAINER] = BACKUP_POD["containers"]
#: The top README, whose "Backups" gives the commands these files are used by.
README = ROOT.parent.parent / "README.md"


def _backup_claim(folder: str) -> str:
    """The name of the claim the backup job's container mounts at ``folder``."""
    mounts = {mount["mountPath"]: mount["name"] for mount in BACKUP_CONTAINER["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in BACKUP_POD["volumes"]}
    claim: str = volumes[mounts[folder]]["persistentVolumeClaim"]["claimName"]
    return claim


def test_the_backup_job_runs_the_images_script_as_the_database_is_made() -> None:
    """The CronJob runs docker/postgres/store.sh's backup as the database's image installs it,
    with the database's user, name and password as the StatefulSet makes them, against its
    Service (tests/test_backups.py runs the script against a real PostgreSQL)."""
    assert BACKUP_CONTAINER["image"] == DB_CONTAINER["image"]
    installed = re.search(r"^COPY store\.sh (\S+)$", DB_DOCKERFILE, re.MULTILINE)
    assert installed, "docker/postgres/Dockerfile installs store.sh"
    script, backup, folder, keep = BACKUP_CONTAINER["command"]
    assert (script, backup) == (Path(installed.group(1)).name, "backup") and int(keep) >= 1
    env, db_env = _env(BACKUP_CONTAINER), _env(DB_CONTAINER)
    assert env["PGHOST"]["value"] == DB_SERVICE["metadata"]["name"]
    for name in ("POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"):
        assert env[name] == db_env[name], name
    # The dumps go onto a claim of their own, not the database's volume or the pod's.
    claim = _backup_claim(folder)
    assert find(BASE, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert BACKUP_JOB["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_backup_pods_reach_the_database_without_being_taken_for_it() -> None:
    """Its pods are let through the database's NetworkPolicy (above), and are not the
    database: the database's Service and StatefulSet select none of them."""
    for selector in (
        DB_SERVICE["spec"]["selector"],
        STATEFUL_SET["spec"]["selector"]["matchLabels"],
    ):
        assert not selector.items() <= BACKUP_LABELS.items()


def test_the_backup_pod_runs_as_the_images_user_locked_down() -> None:
    users = re.findall(r"^USER (\S+)$", DB_DOCKERFILE, re.MULTILINE)
    context = BACKUP_POD["securityContext"]
    assert str(context["runAsUser"]) == users[-1] == str(context["fsGroup"])
    assert context["runAsNonRoot"] is True
    assert BACKUP_POD["restartPolicy"] == "Never"
    security = BACKUP_CONTAINER["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = BACKUP_CONTAINER["resources"]
    assert resources["requests"] == resources["limits"]


# --- The backups copied off the cluster: deploy/kubernetes/backups/db-backup-copy.yaml -----------

[BACKUP_COPY] = load_manifests(KUBE_DIR / "backups" / "db-backup-copy.yaml")
COPY_POD = BACKUP_COPY["spec"]
[COPY_CONTAINER] = COPY_POD["containers"]


def test_the_copy_pod_mounts_the_backup_jobs_claim_read_only_where_the_job_writes() -> None:
    """The claim the CronJob writes its dumps to, at the folder it writes them in (README's
    commands read them there), read-only: a copy never removes or changes a backup."""
    folder = BACKUP_CONTAINER["command"][2]
    claim = _backup_claim(folder)
    [volume] = COPY_POD["volumes"]
    [mount] = COPY_CONTAINER["volumeMounts"]
    assert volume["persistentVolumeClaim"] == {"claimName": claim, "readOnly": True}
    assert mount == {"name": volume["name"], "mountPath": folder, "readOnly": True}


def test_the_copy_pod_runs_as_the_backup_job_does_locked_down() -> None:
    """The job's image (its user owns the dumps, 0640), pod and container security settings."""
    assert COPY_CONTAINER["image"] == BACKUP_CONTAINER["image"]
    assert COPY_POD["securityContext"] == BACKUP_POD["securityContext"]
    assert COPY_CONTAINER["securityContext"] == BACKUP_CONTAINER["securityContext"]
    for key in ("restartPolicy", "automountServiceAccountToken", "enableServiceLinks"):
        assert COPY_POD[key] == BACKUP_POD[key], key
    resources = COPY_CONTAINER["resources"]
    assert resources["requests"] == resources["limits"]
    # A forgotten pod goes: its deadline no later than its sleep ends.
    program, seconds = COPY_CONTAINER["command"]
    assert program == "sleep" and COPY_POD["activeDeadlineSeconds"] <= int(seconds)


def test_the_copy_pod_is_not_let_into_the_database() -> None:
    """It reads files only: the database's NetworkPolicy admits neither it, nor do the
    database's Service or StatefulSet select it."""
    labels = BACKUP_COPY["metadata"]["labels"]
    policy = find(BASE, "NetworkPolicy", DB_SERVICE["metadata"]["name"])
    [rule] = policy["spec"]["ingress"]
    selectors = [source["podSelector"]["matchLabels"] for source in rule["from"]]
    selectors += [DB_SERVICE["spec"]["selector"], STATEFUL_SET["spec"]["selector"]["matchLabels"]]
    assert not [selector for selector in selectors if selector.items() <= labels.items()]


def test_the_copy_pod_is_opt_in_and_named_in_the_readme() -> None:
    """Not applied by base/ or an overlay (it would stay there); README's commands apply this
    file, with the CronJob's image in its container, and exec into the pod by its name."""
    name = BACKUP_COPY["metadata"]["name"]
    for overlay in (KUBE_DIR / "base", LOCAL_OVERLAY, CHALLENGER_OVERLAY, PROMOTED_OVERLAY):
        assert not [m for m in render(overlay) if m["metadata"]["name"] == name]
    readme = README.read_text(encoding="utf-8")
    for words in (
        "deploy/kubernetes/backups/db-backup-copy.yaml",
        f'{COPY_CONTAINER["name"]}="$image"',
        f"kubectl get cronjob {BACKUP_JOB['metadata']['name']}",
        f"kubectl exec {name} -- ",
        f"kubectl delete pod {name}",
    ):
        assert words in readme, words
    # Its jsonpath finds the CronJob's image.
    found = re.search(r"-o jsonpath='\{\.([^}]+)\}'", readme)
    assert found, "README's commands read the CronJob's image with a jsonpath"
    value: Any = BACKUP_JOB
    for step in found.group(1).split("."):
        key, _, index = step.partition("[")
        value = value[key][int(index.rstrip("]"))] if index else value[key]
    assert value == BACKUP_CONTAINER["image"]


#: What README's "a dump now" asks kubectl for: the types of the Job's true conditions.
TRUE_CONDITIONS = """{.status.conditions[?(@.status=="True")].type}"""

#: A stand-in for kubectl, for the Job's conditions in turn (one line of ``$STATES`` a ``get``,
#: the last one repeated): it answers that jsonpath as kubectl does, the types joined by spaces
#: ("SuccessCriteriaMet Complete", as kubectl 1.32 printed it for such a Job; a Job still
#: running has none, ``running`` here), and logs each call. ``missing``: the Job is not found.
FAKE_KUBECTL = r"""#!/bin/sh
echo "kubectl $*" >> "$CALLS"
case "$1" in
create) exit 0 ;;
get) ;;
*) echo "unexpected kubectl $1" >&2; exit 3 ;;
esac
[ "$3" = "-o" ] && [ "$4" = "jsonpath=$TEMPLATE" ] || { echo "unexpected query: $*" >&2; exit 3; }
seen=$(grep -c '^kubectl get' "$CALLS")
state=$(printf '%s\n' "$STATES" | sed -n "${seen}p")
[ -n "$state" ] || state=$(printf '%s\n' "$STATES" | tail -n 1)
[ "$state" = missing ] && { echo "Error from server (NotFound)" >&2; exit 1; }
[ "$state" = running ] || printf '%s' "$state"
"""


def _dump_now_commands() -> str:
    readme = README.read_text(encoding="utf-8")
    found = re.search(
        r"```sh\n(\s*kubectl create job [^\n]*--from=cronjob/[^`]*?)```", readme, re.DOTALL
    )
    assert found, 'README gives the commands of "a dump now" as a block'
    return textwrap.dedent(found.group(1))


@pytest.mark.parametrize(
    ("states", "gets", "said"),
    [
        (["running", "running", "SuccessCriteriaMet Complete"], 3, "SuccessCriteriaMet Complete"),
        (["Complete"], 1, "Complete"),
        (["running", "FailureTarget Failed"], 2, "FailureTarget Failed"),
        (["running", "running", "running", "Failed"], 4, "Failed"),
        (["missing"], 1, "not found"),
    ],
    ids=["completes", "complete-older-kubernetes", "fails", "fails-older", "not-found"],
)
def test_the_readmes_dump_now_waits_until_the_job_has_finished_either_way(
    tmp_path: Path, states: list[str], gets: int, said: str
) -> None:
    """README's "a dump now" waits while the Job runs (a dump may take its two hours) and stops
    as soon as it has completed or failed, saying which. ``kubectl wait
    --for=condition=complete`` took one condition: a Job that failed at once held it for its
    whole timeout (2 h), and kubectl's default 30 s gave up on a dump still running."""
    commands = _dump_now_commands()
    job = BACKUP_JOB["metadata"]["name"]
    assert f"--from=cronjob/{job}" in commands
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {"kubectl": FAKE_KUBECTL, "sleep": "#!/bin/sh\nexit 0\n"}.items():
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "TEMPLATE": TRUE_CONDITIONS,
        "STATES": "\n".join(states),
    }
    done = subprocess.run(
        ["sh", "-c", commands], env=environment, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    made = calls.read_text(encoding="utf-8").splitlines()
    assert made[0].startswith(f"kubectl create job {job}-now --from=cronjob/{job}")
    assert len(made) == 1 + gets, made  # no get after it finished, none missed while it ran
    assert done.stdout.strip().endswith(f": {said}")


# --- The API's own NetworkPolicy, opt-in: deploy/kubernetes/policies/api-networkpolicy.yaml ------

API_POLICY = load_manifests(KUBE_DIR / "policies" / "api-networkpolicy.yaml")[0]


def test_the_api_policy_lets_only_the_ingress_and_prometheus_namespaces_reach_the_api() -> None:
    """Its selector takes the Deployment's pods, its rules the container's port by name, and
    each rule admits one namespace by the name Kubernetes labels it with: nothing else."""
    spec = API_POLICY["spec"]
    api_labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= api_labels.items()
    assert spec["policyTypes"] == ["Ingress"]
    [container_port] = CONTAINER["ports"]
    namespaces = []
    for rule in spec["ingress"]:
        assert rule["ports"] == [{"port": container_port["name"], "protocol": "TCP"}]
        [source] = rule["from"]
        assert source.keys() == {"namespaceSelector"}
        [(label, name)] = source["namespaceSelector"]["matchLabels"].items()
        assert label == "kubernetes.io/metadata.name"
        namespaces.append(name)
    # The controller's namespace is the one its ConfigMap here is made for.
    controller = load_manifests(KUBE_DIR / "ingress-nginx" / "controller-configmap.yaml")[0]
    assert namespaces == [controller["metadata"]["namespace"], "monitoring"]


def test_the_api_policy_is_opt_in() -> None:
    """Not applied by base/ or an overlay: the namespaces are the cluster's to check first."""
    for overlay in (KUBE_DIR / "base", LOCAL_OVERLAY, CHALLENGER_OVERLAY, PROMOTED_OVERLAY):
        assert not [m for m in render(overlay) if m["kind"] == "NetworkPolicy"
                    and m["metadata"]["name"] == API_POLICY["metadata"]["name"]]  # fmt: skip
