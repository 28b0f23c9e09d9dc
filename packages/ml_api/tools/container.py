"""Build the service's images and test them under compose, as a user starting them would.

    python -m tools.container base    # the base images: pulled, else made from Debian packages
    python -m tools.container image   # build the API's, the proxy's and the database's images
    python -m tools.container test    # compose up, check it from outside, compose down
                                      # (and a second model version: tools/model_versions.py)
    python -m tools.container clean   # remove the images and the API's build stage

The stack is the API behind nginx (docker/nginx), its prediction store in PostgreSQL
(docker/postgres, migrated by the api before it serves): only the proxy publishes a port. Docker
Hub may be out of reach (it is on our machines): then the base images are made from Debian's own
packages (mmdebstrap, else debootstrap), and the images are built and run with podman and
podman-compose. The test publishes the proxy on 127.0.0.1 only, and every wait is bounded.

The images are kept after a test, with the API's build stage (tagged as its cache), so that a
build of an unchanged tree takes seconds: the engine's layer cache knows what changed (a file
copied, a wheel). ``make image`` before each test that runs them is then cheap, and each test
still runs the tree it is given. ``clean`` removes them.

Other tools run against the same stack with ``compose_stack()``, a context manager yielding a
``Stack``: the proxy's URL, ``exec_api`` to run a command in the api container, ``app_metrics``
(the proxy answers /metrics 404: it is Prometheus', read inside the api container), ``psql`` to
query the store, the logs::

    from tools.container import compose_stack

    with compose_stack(project="my_stack") as stack:
        httpx.get(f"{stack.url}/health")
        stack.exec_api("python3", "-c", "import os, signal; os.kill(7, signal.SIGKILL)")
        print(stack.logs("proxy"))
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.tolerances import json_differences

from api.config import Settings
from tools.server import free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker" / "docker-compose.yml"
IMAGE = "localhost/house-price-api:latest"
PROXY_IMAGE = "localhost/house-price-proxy:latest"
DB_IMAGE = "localhost/house-price-db:latest"
OFFICIAL_BASE = "docker.io/library/python:3.11-slim"
LOCAL_BASE = "localhost/ml-api-python-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
#: mmdebstrap makes a base in about half debootstrap's time (one apt run, not a dpkg run a
#: package: 35 to 45 s against 65 to 85 s here); with this hook its /usr is merged as
#: debootstrap's is, and the same packages are installed.
MMDEBSTRAP_HOOK = "/usr/share/mmdebstrap/hooks/merged-usr"
PROJECT = "ml_api_container_test"
#: The services a test stack runs, in the order they start.
STACK_SERVICES = ("db", "api", "proxy")
#: Docs and caches: no image needs them.
DOCS_AND_CACHES = (
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
)
#: What a runtime base needs no more once made: package management, perl, docs, caches.
BASE_TRIMMINGS = (
    *DOCS_AND_CACHES,
    "usr/bin/perl*",
    "usr/lib/x86_64-linux-gnu/perl*",
    "usr/share/perl5",
    "usr/lib/x86_64-linux-gnu/gconv",
    "var/lib/dpkg/info/*.md5sums",
)
#: A base that still installs packages (the proxy's Dockerfile runs apt-get) keeps apt, dpkg's
#: database and perl (debconf needs it): it loses only docs and caches.
DEBIAN_BASE_TRIMMINGS = DOCS_AND_CACHES
#: The apt sources of the official Debian image: the release, its updates and security fixes.
DEBIAN_SOURCES = (
    "deb http://deb.debian.org/debian bookworm main\n"
    "deb http://deb.debian.org/debian bookworm-updates main\n"
    "deb http://deb.debian.org/debian-security bookworm-security main\n"
)


@dataclass(frozen=True)
class Base:
    """A base image: ``official`` when it can be pulled, else ``local``, made from Debian's
    packages (``bootstrap_command``)."""

    official: str
    local: str
    include: tuple[str, ...] = ()
    trimmings: tuple[str, ...] = ()
    sources: str | None = None  # /etc/apt/sources.list of the made image, if not debootstrap's


#: The API's base: Python 3.11 with venv.
PYTHON_BASE = Base(
    official=OFFICIAL_BASE,
    local=LOCAL_BASE,
    include=("python3-minimal", "python3-venv"),
    trimmings=BASE_TRIMMINGS,
)
#: The proxy's and the database's base: plain Debian with apt, on which docker/nginx/Dockerfile
#: installs nginx and docker/postgres/Dockerfile PostgreSQL.
DEBIAN_BASE = Base(
    official="docker.io/library/debian:bookworm-slim",
    local="localhost/ml-api-debian-base:bookworm",
    trimmings=DEBIAN_BASE_TRIMMINGS,
    sources=DEBIAN_SOURCES,
)


@dataclass(frozen=True)
class ImageSpec:
    """An image of the stack: its name, base, Dockerfile and build context (under ROOT)."""

    name: str
    base: Base
    dockerfile: str
    context: str
    #: A stage built and tagged on its own (``STAGE_NAME``), which keeps it as the cache of the
    #: next build: untagged, it would be pruned as dangling.
    build_stage: str | None = None

    @property
    def stage_name(self) -> str:
        """The name of ``build_stage``'s image: ``localhost/house-price-api:build``."""
        return f"{self.name.rsplit(':', 1)[0]}:{self.build_stage}"


API_IMAGE_SPEC = ImageSpec(IMAGE, PYTHON_BASE, "docker/Dockerfile", ".", build_stage="build")
PROXY_IMAGE_SPEC = ImageSpec(PROXY_IMAGE, DEBIAN_BASE, "docker/nginx/Dockerfile", "docker/nginx")
DB_IMAGE_SPEC = ImageSpec(DB_IMAGE, DEBIAN_BASE, "docker/postgres/Dockerfile", "docker/postgres")
IMAGES = (API_IMAGE_SPEC, PROXY_IMAGE_SPEC, DB_IMAGE_SPEC)
#: docker/Dockerfile's label of its build stage.
BUILD_STAGE_LABEL = "label=house-price-api.stage=build"


def run(*command: str, check: bool = True, capture: bool = False, **kwargs: Any) -> str:
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, check=check, text=True, capture_output=capture, **kwargs)
    return done.stdout if capture else ""


def engine() -> str:
    """docker when an engine answers, else podman."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
        if probe.returncode == 0:
            return "docker"
    if shutil.which("podman"):
        return "podman"
    raise SystemExit("neither a docker engine nor podman: apt-get install -y podman runc")


def image_exists(tool: str, name: str) -> bool:
    return image_id(tool, name) is not None


def image_id(tool: str, name: str) -> str | None:
    """The id of the image ``name``, None when there is none."""
    done = subprocess.run(
        [tool, "image", "inspect", "--format", "{{.Id}}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def bootstrap_command() -> list[str]:
    """mmdebstrap when installed, else debootstrap: both take ``--variant``, ``--include``, the
    suite, the folder and the mirror."""
    if shutil.which("mmdebstrap"):
        return ["mmdebstrap", f"--hook-dir={MMDEBSTRAP_HOOK}", "--quiet"]
    if shutil.which("debootstrap"):
        return ["debootstrap"]
    raise SystemExit(
        "cannot pull the base images, and no mmdebstrap: apt-get install -y mmdebstrap"
    )


def base_image(tool: str, base: Base = PYTHON_BASE) -> str:
    """``base``'s official image when it can be pulled, else one made from Debian's packages."""
    if image_exists(tool, base.official):
        return base.official
    try:
        if subprocess.run([tool, "pull", base.official], check=False, timeout=120).returncode == 0:
            return base.official
    except subprocess.TimeoutExpired:  # a registry that hangs is as good as none
        pass
    if image_exists(tool, base.local):
        return base.local
    bootstrap = bootstrap_command()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        rootfs = Path(scratch) / "rootfs"
        include = [f"--include={','.join(base.include)}"] if base.include else []
        run(
            *bootstrap,
            "--variant=minbase",
            *include,
            "bookworm",
            str(rootfs),
            DEBIAN_MIRROR,
            stdout=subprocess.DEVNULL,
        )
        for pattern in base.trimmings:
            for path in rootfs.glob(pattern):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        if base.sources is not None:
            (rootfs / "etc" / "apt" / "sources.list").write_text(base.sources, encoding="utf-8")
        archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(tool, "import", "-", base.local, stdin=archive.stdout, stdout=subprocess.DEVNULL)
        archive.wait()
    print(f"made {base.local} from Debian packages in {time.monotonic() - started:.0f} s")
    return base.local


def build_image(tool: str, spec: ImageSpec = API_IMAGE_SPEC) -> None:
    """Build one image of the stack on its base (see ``base_image``), from the layer cache where
    nothing changed. The image it replaces, and an old build stage, are removed: not by force, so
    one that a container still runs stays."""
    base = base_image(tool, spec.base)
    started = time.monotonic()
    replaced = image_id(tool, spec.name)
    extra = ["--format", "docker"] if tool == "podman" else []  # OCI drops HEALTHCHECK
    build = [tool, "build", *extra, "--build-arg", f"BASE_IMAGE={base}", "-f", spec.dockerfile]
    if spec.build_stage is not None:
        run(*build, "--target", spec.build_stage, "-t", spec.stage_name, spec.context, cwd=ROOT)
    run(*build, "-t", spec.name, spec.context, cwd=ROOT)
    built = image_id(tool, spec.name)
    if replaced is not None and replaced != built:
        run(tool, "rmi", replaced, check=False)
    if spec.build_stage is not None:
        run(tool, "image", "prune", "--force", "--filter", BUILD_STAGE_LABEL, check=False)
    size = json.loads(run(tool, "image", "inspect", spec.name, capture=True))[0]["Size"]
    print(
        f"image {spec.name} on {base}: {size / 1e6:.0f} MB, "
        f"built in {time.monotonic() - started:.0f} s"
    )


def build_images(tool: str) -> None:
    """Build the stack's images: the API's, the proxy's and the database's."""
    for spec in IMAGES:
        build_image(tool, spec)


def remove_images(tool: str) -> None:
    """Remove the stack's images and the API's build stage. An image another stack still runs
    (say the attack suite's, another project) is left in place: ``rmi --force`` would stop and
    remove that stack's containers."""
    for spec in IMAGES:
        names = [spec.name] + ([spec.stage_name] if spec.build_stage is not None else [])
        for name in names:
            if image_exists(tool, name):
                run(tool, "rmi", name, check=False)
    run(tool, "image", "prune", "--force", "--filter", BUILD_STAGE_LABEL, check=False)


def compose(
    tool: str,
    *arguments: str,
    env: Mapping[str, str],
    project: str = PROJECT,
    check: bool = True,
    override: Path | None = None,
) -> str:
    """Run ``docker compose`` (or podman-compose) on docker/docker-compose.yml, and on an
    ``override`` file merged over it if given; its stdout."""
    command = (
        ["docker", "compose"] if tool == "docker" else [sys.executable, "-m", "podman_compose"]
    )
    files = [COMPOSE_FILE, *([override] if override is not None else [])]
    return run(
        *command,
        "-p",
        project,
        *(argument for path in files for argument in ("-f", str(path))),
        *arguments,
        env=dict(env),
        capture=True,
        check=check,
    )


def store_database() -> tuple[str, str]:
    """The prediction store's user and database: the compose file's db service's
    ``POSTGRES_USER`` and ``POSTGRES_DB``."""
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    environment = services["db"]["environment"]
    return environment["POSTGRES_USER"], environment["POSTGRES_DB"]


def wait_healthy(url: str, timeout: float, path: str = "/health") -> float:
    """Seconds until ``url`` + ``path`` answers 200; TimeoutError after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}{path}", timeout=1).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"no 200 from {url}{path} after {timeout} s")


@dataclass(frozen=True)
class Stack:
    """A running compose stack: the API reachable only through the nginx proxy.

    Attributes
    ----------
    tool : str
        ``docker`` or ``podman``.
    project : str
        The compose project name (containers, network and pod are named after it).
    url : str
        The proxy, published on 127.0.0.1 only: ``http://127.0.0.1:PORT``.
    env : Mapping[str, str]
        The environment compose ran with (``ML_API_PUBLISH`` and any overrides).
    override : Path, optional
        The file merged over docker-compose.yml (``compose_stack``'s ``api_environment``).
    """

    tool: str
    project: str
    url: str
    env: Mapping[str, str] = field(repr=False)
    override: Path | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        """The proxy's port on 127.0.0.1."""
        return int(self.url.rsplit(":", 1)[1])

    def compose(self, *arguments: str) -> str:
        """Run compose on this stack (``compose("restart", "api")``); its stdout."""
        return compose(
            self.tool, *arguments, env=self.env, project=self.project, override=self.override
        )

    def container(self, service: str = "api", *, stopped: bool = False) -> str:
        """The id of ``service``'s container (labelled by docker compose and podman-compose);
        ``stopped``: an exited one too (for its logs)."""
        ids = run(
            self.tool,
            "ps",
            *(["--all"] if stopped else []),
            "-q",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            capture=True,
        ).split()
        if not ids:
            raise LookupError(f"no running container of service {service!r} in {self.project}")
        return ids[0]

    def exec(
        self, service: str, *command: str, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in ``service``'s container (``podman exec``), output captured."""
        argv = [self.tool, "exec", self.container(service), *command]
        print("+", " ".join(argv), flush=True)
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)

    def exec_api(
        self, *command: str, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the api container (gunicorn's master is its pid 1).

        The image has python3 but no shell tools such as ps, kill or curl: use
        ``exec_api("python3", "-c", "import os, signal; os.kill(pid, signal.SIGKILL)")``.
        """
        return self.exec("api", *command, check=check, timeout=timeout)

    def app_metrics(self) -> str:
        """The api's own /metrics, as Prometheus scrapes it (the proxy answers 404 for it)."""
        return app_metrics(self.tool, self.container("api"))

    def psql(self, sql: str) -> str:
        """``sql`` run by psql in the db container, as the store's user on its database (on
        the container's own socket); the rows, unaligned (``|`` between values), one a line."""
        user, database = store_database()
        command = ("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", user)
        return self.exec("db", *command, "-d", database, "-c", sql).stdout.strip()

    def logs(self, service: str = "api") -> str:
        """Everything ``service``'s container wrote, stdout and stderr interleaved."""
        done = subprocess.run(
            [self.tool, "logs", self.container(service, stopped=True)],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr

    def published_ports(self, service: str) -> str:
        """``podman port`` of ``service``'s container: empty when it publishes nothing."""
        return run(self.tool, "port", self.container(service), capture=True).strip()


#: Run in the api container (python3, no curl; its working folder holds the api package): its
#: own /metrics, on the port its settings give.
_FETCH_METRICS = (
    "import sys, urllib.request\n"
    "from api.config import ServerSettings\n"
    "url = f'http://127.0.0.1:{ServerSettings().port}/metrics'\n"
    "sys.stdout.write(urllib.request.urlopen(url, timeout=10).read().decode())\n"
)


def app_metrics(tool: str, container: str) -> str:
    """The app's /metrics, asked inside ``container``, an api container, as Prometheus scrapes
    it: the proxy does not pass /metrics on (docker/nginx/nginx.conf)."""
    argv = [tool, "exec", container, "python3", "-c", _FETCH_METRICS]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout


@contextlib.contextmanager
def compose_stack(
    *,
    tool: str | None = None,
    project: str = PROJECT,
    env: Mapping[str, str] | None = None,
    api_environment: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> Iterator[Stack]:
    """The stack up (db, api, proxy), the proxy ready on 127.0.0.1; all down after the block,
    the database's volume with it.

    Parameters
    ----------
    tool : str, optional
        ``docker`` or ``podman``; by default the one that works (``engine()``).
    project : str
        The compose project: use your own to run beside another stack.
    env : Mapping[str, str], optional
        Extra environment for compose's interpolation of docker-compose.yml.
    api_environment : Mapping[str, str], optional
        Variables set in the api container besides the compose file's (say
        ``ML_API_MAX_REQUESTS``), through an override file merged over it.
    timeout : float
        Seconds to wait for ``/ready`` through the proxy.

    Images are built when missing (``build_images``) and left in place. On a failure inside the
    block the last lines of each service's log are printed before the stack goes down.
    """
    tool = tool or engine()
    if not all(image_exists(tool, spec.name) for spec in IMAGES):
        build_images(tool)
    port = free_port()
    environment = {**os.environ, **(env or {}), "ML_API_PUBLISH": f"127.0.0.1:{port}"}
    with tempfile.TemporaryDirectory(prefix="ml_api_compose_") as scratch:
        override = None
        if api_environment:
            override = Path(scratch) / "api-environment.yml"
            services = {"services": {"api": {"environment": dict(api_environment)}}}
            override.write_text(json.dumps(services), encoding="utf-8")  # JSON is YAML
        url = f"http://127.0.0.1:{port}"
        stack = Stack(tool=tool, project=project, url=url, env=environment, override=override)
        started = time.monotonic()
        try:
            # Not prometheus, alertmanager and grafana: their images are pulled from Docker Hub.
            stack.compose("up", "-d", "--no-build", *STACK_SERVICES)
            ready_after = wait_healthy(stack.url, timeout=timeout, path="/ready")
            print(
                f"compose up to a ready /ready through the proxy in "
                f"{time.monotonic() - started:.1f} s ({ready_after:.1f} s of it waiting)"
            )
            yield stack
        except BaseException:
            for service in STACK_SERVICES:
                with contextlib.suppress(Exception):
                    tail = stack.logs(service).splitlines()[-30:]
                    print(f"--- last lines of {service}'s log", *tail, sep="\n")
            raise
        finally:
            down = ("down", "--volumes")  # the test's database goes with it
            compose(tool, *down, env=environment, project=project, check=False, override=override)


def _access_log_line(stack: Stack, request_id: str) -> dict[str, Any]:
    """The proxy's JSON access log line of the request ``request_id`` (waits a little)."""
    deadline = time.monotonic() + 5
    while True:
        for line in stack.logs("proxy").splitlines():
            if line.startswith("{") and f'"request_id":"{request_id}"' in line:
                entry: dict[str, Any] = json.loads(line)
                return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"no access log line with request_id {request_id}")
        time.sleep(0.2)


def _raw_exchange(port: int, head: bytes, timeout: float = 10.0) -> bytes:
    """Send ``head`` on a new connection to 127.0.0.1:``port``; what comes back until close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                received += chunk
    return received


#: Spellings the app routes to its /metrics (percent-escapes decoded, slashes merged; a query
#: is the spec's check), and /metrics/, which it redirects there: each the proxy's 404.
METRICS_SPELLINGS = (
    "/metrics",
    "/metrics/",
    "//metrics",
    "/%6Detrics",
    "/%2Fmetrics",
    "/metrics?x",
)


def container_checks(stack: Stack) -> None:
    """The service through the proxy, as a client sees it, and what the stack publishes."""
    url = stack.url
    rows = read_dataset("test.csv")[:25]
    health = httpx.get(f"{url}/health", timeout=5).json()
    assert health["status"] == "ok", health
    served = httpx.post(f"{url}/v1/predictions", json=rows, timeout=10)
    assert served.status_code == 200, served.text
    expected = {"predictions": make_prediction(rows).predictions}
    differ = json_differences(expected, {"predictions": served.json()["predictions"]})
    assert not differ, f"the container's prices differ from in-process: {differ}"
    # Answers of 1 KB or more come gzip-compressed to a client that accepts it (httpx asks,
    # and decodes them), as they are to one that does not; a small answer never is.
    assert served.headers.get("content-encoding") == "gzip", served.headers
    assert "accept-encoding" in served.headers.get("vary", "").lower(), served.headers
    plain = httpx.post(
        f"{url}/v1/predictions", json=rows, headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert "content-encoding" not in plain.headers, plain.headers
    assert plain.json()["predictions"] == served.json()["predictions"]
    small = httpx.get(f"{url}/health", timeout=5)
    assert "content-encoding" not in small.headers, small.headers
    refused = httpx.post(f"{url}/v1/predictions", json=[{**rows[0], "GrLivArea": -1}], timeout=10)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"

    # The request id: the client's comes back (and reaches the app), else nginx makes one.
    sent = f"container-test-{os.getpid()}"
    echoed = httpx.get(f"{url}/health", headers={"X-Request-ID": sent}, timeout=5)
    assert echoed.headers["x-request-id"] == sent, echoed.headers
    made = httpx.get(f"{url}/health", timeout=5).headers.get("x-request-id", "")
    assert re.fullmatch(r"[0-9a-f]{32}", made), f"no request id made by nginx: {made!r}"
    logged = _access_log_line(stack, made)
    assert logged["status"] == 200 and logged["upstream_status"] == "200", logged

    # A body over the API's limit is refused by nginx (no upstream in its log line) with 413.
    limit = Settings().max_body_bytes
    too_big = httpx.post(
        f"{url}/v1/predictions",
        content=b" " * (limit + 1),
        headers={"Content-Type": "application/json", "X-Request-ID": f"{sent}-413"},
        timeout=30,
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.headers["content-type"] == "application/problem+json"
    assert too_big.json()["status"] == 413, too_big.text
    assert _access_log_line(stack, f"{sent}-413")["upstream_status"] == "", "413 from the app"
    # Marked for CORS as the app's answers are, for a page of ML_API_CORS_ORIGINS (the stack's
    # setting, which the api and the proxy both get), and for no other page.
    for origin, allowed in ((PAGE_ORIGIN, PAGE_ORIGIN), ("https://elsewhere.example", None)):
        marked = httpx.post(
            f"{url}/v1/predictions",
            content=b" " * (limit + 1),
            headers={"Content-Type": "application/json", "Origin": origin},
            timeout=30,
        )
        assert marked.status_code == 413, marked.text
        assert marked.headers.get("access-control-allow-origin") == allowed, marked.headers
        if allowed:
            exposed = marked.headers["access-control-expose-headers"].split(", ")
            assert "X-Request-ID" in exposed and "Origin" in marked.headers["vary"]
        app_answer = httpx.get(f"{url}/health", headers={"Origin": origin}, timeout=5)
        assert app_answer.headers.get("access-control-allow-origin") == allowed

    # A header field over 16 KB: 431 from nginx, problem+json.
    head = (
        f"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 20_000}\r\nConnection: close\r\n\r\n"
    ).encode()
    answer = _raw_exchange(stack.port, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer, answer[:400]

    # /metrics is Prometheus' (it scrapes the api service, docker/prometheus.yml): through the
    # proxy every spelling the app would route to it is nginx's own 404 problem, never passed
    # on (no upstream in its log line); the app's own /metrics still answers.
    for number, spelling in enumerate(METRICS_SPELLINGS):
        request_id = f"{sent}-metrics-{number}"
        asked = f"GET {spelling} HTTP/1.1\r\nHost: x\r\nX-Request-ID: {request_id}\r\n"
        answer = _raw_exchange(stack.port, f"{asked}Connection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 404 "), (spelling, answer[:200])
        assert b"application/problem+json" in answer, (spelling, answer[:400])
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["status"] == 404, spelling
        assert _access_log_line(stack, request_id)["upstream_status"] == "", spelling
    own = stack.app_metrics()
    assert "# TYPE ml_api_http_requests_total counter" in own, own[:400]

    # Only the proxy is published; both run as non-root users.
    assert stack.published_ports("api") == "", "the api container publishes a port"
    assert stack.published_ports("proxy").endswith(f"127.0.0.1:{stack.port}")
    uid = stack.exec_api("python3", "-c", "import os; print(os.getuid())").stdout.strip()
    assert uid not in ("", "0"), f"the service runs as uid {uid!r}"
    proxy_status = stack.exec("proxy", "cat", "/proc/1/status", "/proc/1/limits").stdout
    proxy_uid = re.search(r"^Uid:\s+(\d+)", proxy_status, re.MULTILINE)
    assert proxy_uid and proxy_uid.group(1) != "0", "nginx runs as root"
    print(
        f"checked through the proxy: /health, {len(rows)} predictions as in-process (gzip "
        f"when accepted), a 400, "
        f"X-Request-ID passed and made, 413 (marked for CORS for an allowed page only) and 431 "
        f"from nginx, /metrics a 404 from nginx "
        f"({len(METRICS_SPELLINGS)} spellings) and the app's own; api uid {uid}, "
        f"nginx uid {proxy_uid.group(1)}, only the proxy published"
    )


#: The web page the stack's CORS setting allows (``container_test``).
PAGE_ORIGIN = "https://pages.example"


#: A prediction id as the service makes them (api/service.py): a random token, a house's place.
PREDICTION_ID = re.compile(r"[0-9a-f]{16}-\d+")


def _recorded(stack: Stack, ids: list[str]) -> dict[str, float]:
    """The price recorded for each of ``ids`` in the stack's PostgreSQL that has a record."""
    assert all(PREDICTION_ID.fullmatch(each) for each in ids), ids  # safe in an SQL literal
    listed = ", ".join(f"'{each}'" for each in ids)
    rows = stack.psql(f"SELECT id, price FROM predictions WHERE id IN ({listed})")
    return {key: float(price) for key, price in (row.split("|") for row in rows.splitlines())}


def _wait_recorded(stack: Stack, ids: list[str], timeout: float = 10.0) -> dict[str, float]:
    """``_recorded`` once every one of ``ids`` is (the service writes within about 0.25 s)."""
    deadline = time.monotonic() + timeout
    while len(found := _recorded(stack, ids)) < len(ids):
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {len(ids)} houses recorded after {timeout} s")
        time.sleep(0.2)
    return found


def store_checks(stack: Stack) -> None:
    """Prices given through the proxy are in the stack's PostgreSQL, by their prediction ids,
    and still there after ``compose restart api``, which answers again and goes on recording."""
    rows = read_dataset("test.csv")[:3]
    served = httpx.post(f"{stack.url}/v1/predictions", json=rows, timeout=10)
    assert served.status_code == 200, served.text
    ids, prices = served.json()["prediction_ids"], served.json()["predictions"]
    assert len(ids) == len(rows), ids
    started = time.monotonic()
    recorded = _wait_recorded(stack, ids)
    assert recorded == dict(zip(ids, prices, strict=True)), (recorded, prices)
    print(f"{len(ids)} houses in PostgreSQL {time.monotonic() - started:.1f} s after their prices")

    started = time.monotonic()
    stack.compose("restart", "api")
    ready = wait_healthy(stack.url, timeout=90, path="/ready")
    assert _recorded(stack, ids) == recorded, "records lost in a restart of the api"
    again = httpx.post(f"{stack.url}/v1/predictions", json=rows[:1], timeout=10)
    assert again.status_code == 200, again.text
    _wait_recorded(stack, again.json()["prediction_ids"])
    print(
        f"compose restart api: ready through the proxy again in {time.monotonic() - started:.1f} s "
        f"({ready:.1f} s of it waiting), the {len(ids)} records kept, a new price recorded"
    )

    # The database publishes no port and runs as its own user, not root.
    assert stack.published_ports("db") == "", "the db container publishes a port"
    status = stack.exec("db", "cat", "/proc/1/status").stdout
    uid = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
    assert uid and uid.group(1) != "0", "PostgreSQL runs as root"
    print(f"PostgreSQL: uid {uid.group(1)}, no port published")


def container_test(tool: str) -> None:
    """Compose up the stack, check it through the proxy and its store, then a second model
    version mounted beside the packaged one: in the shadow, promoted, rolled back
    (tools/model_versions.py); take it down. The images are kept."""
    # Here, not at the top: tools.model_versions imports this module.
    from tools.model_versions import SHADOW, models_folder, version_checks

    started = time.monotonic()
    with models_folder() as models:
        settings = {**models.settings(SHADOW), "ML_API_CORS_ORIGINS": PAGE_ORIGIN}
        with compose_stack(tool=tool, env=settings) as stack:
            container_checks(stack)
            store_checks(stack)
            version_checks(stack, models)
    print(f"container checks done in {time.monotonic() - started:.1f} s, compose down included")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["base", "image", "test", "clean"])
    command = parser.parse_args().command
    tool = engine()
    if command == "base":
        for base in (PYTHON_BASE, DEBIAN_BASE):
            print(base_image(tool, base))
    elif command == "image":
        build_images(tool)
    elif command == "clean":
        remove_images(tool)
    else:
        container_test(tool)
    return 0


if __name__ == "__main__":
    sys.exit(main())
