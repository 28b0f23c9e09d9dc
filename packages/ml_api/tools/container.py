"""Build the service's image and test it under compose, as a user starting it would.

    python -m tools.container base    # a Python 3.11 base image: pulled, else made by debootstrap
    python -m tools.container image   # build docker/Dockerfile on it (docker, else podman)
    python -m tools.container test    # compose up, check it from outside, compose down, clean up

Docker Hub may be out of reach (it is on our machines): then the base image is made from
Debian's own packages, and the image is built and run with podman and podman-compose. The test
publishes the API on 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.predict import make_prediction

from tools.server import free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker" / "docker-compose.yml"
IMAGE = "localhost/house-price-api:latest"
OFFICIAL_BASE = "docker.io/library/python:3.11-slim"
LOCAL_BASE = "localhost/ml-api-python-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
PROJECT = "ml_api_container_test"
#: What a runtime base needs no more once made: package management, perl, docs, caches.
BASE_TRIMMINGS = (
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/bin/perl*",
    "usr/lib/x86_64-linux-gnu/perl*",
    "usr/share/perl5",
    "usr/lib/x86_64-linux-gnu/gconv",
    "var/lib/dpkg/info/*.md5sums",
)


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
    return (
        subprocess.run(
            [tool, "image", "inspect", name], capture_output=True, check=False
        ).returncode
        == 0
    )


def base_image(tool: str) -> str:
    """The official Python 3.11 image when it can be pulled, else one made by debootstrap."""
    if image_exists(tool, OFFICIAL_BASE):
        return OFFICIAL_BASE
    try:
        if subprocess.run([tool, "pull", OFFICIAL_BASE], check=False, timeout=120).returncode == 0:
            return OFFICIAL_BASE
    except subprocess.TimeoutExpired:  # a registry that hangs is as good as none
        pass
    if image_exists(tool, LOCAL_BASE):
        return LOCAL_BASE
    if not shutil.which("debootstrap"):
        raise SystemExit(
            f"cannot pull {OFFICIAL_BASE}, and no debootstrap: apt-get install -y debootstrap"
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        rootfs = Path(scratch) / "rootfs"
        run(
            "debootstrap",
            "--variant=minbase",
            "--include=python3-minimal,python3-venv",
            "bookworm",
            str(rootfs),
            DEBIAN_MIRROR,
            stdout=subprocess.DEVNULL,
        )
        for pattern in BASE_TRIMMINGS:
            for path in rootfs.glob(pattern):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(tool, "import", "-", LOCAL_BASE, stdin=archive.stdout, stdout=subprocess.DEVNULL)
        archive.wait()
    print(f"made {LOCAL_BASE} from Debian packages in {time.monotonic() - started:.0f} s")
    return LOCAL_BASE


def build_image(tool: str) -> None:
    base = base_image(tool)
    started = time.monotonic()
    extra = ["--format", "docker"] if tool == "podman" else []  # OCI drops HEALTHCHECK
    run(
        tool,
        "build",
        *extra,
        "--build-arg",
        f"BASE_IMAGE={base}",
        "-f",
        "docker/Dockerfile",
        "-t",
        IMAGE,
        ".",
        cwd=ROOT,
    )
    size = json.loads(run(tool, "image", "inspect", IMAGE, capture=True))[0]["Size"]
    print(
        f"image {IMAGE} on {base}: {size / 1e6:.0f} MB, built in {time.monotonic() - started:.0f} s"
    )


def compose(tool: str, *arguments: str, env: dict[str, str]) -> str:
    command = (
        ["docker", "compose"] if tool == "docker" else [sys.executable, "-m", "podman_compose"]
    )
    return run(*command, "-p", PROJECT, "-f", str(COMPOSE_FILE), *arguments, env=env, capture=True)


def wait_healthy(url: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no healthy /health at {url} after {timeout} s")


def container_checks(tool: str, url: str) -> None:
    rows = read_dataset("test.csv")[:25]
    health = httpx.get(f"{url}/health", timeout=5).json()
    assert health["status"] == "ok", health
    served = httpx.post(f"{url}/v1/predictions", json=rows, timeout=10)
    assert served.status_code == 200, served.text
    assert served.json()["predictions"] == make_prediction(rows).predictions, "differs in-process"
    refused = httpx.post(f"{url}/v1/predictions", json=[{**rows[0], "GrLivArea": -1}], timeout=10)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    container = run(
        tool, "ps", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}", capture=True
    ).split()
    if not container:  # podman-compose labels its containers by project, the same key
        container = run(tool, "ps", "-q", "--filter", f"name={PROJECT}", capture=True).split()
    assert container, "no container of the compose project"
    uid = run(
        tool, "exec", container[0], "python3", "-c", "import os; print(os.getuid())", capture=True
    ).strip()
    assert uid not in ("", "0"), f"the service runs as uid {uid!r}"
    print(f"checked: /health, {len(rows)} predictions as in-process, a 400, uid {uid}")


def container_test(tool: str) -> None:
    if not image_exists(tool, IMAGE):
        build_image(tool)
    port = free_port()
    env = {**os.environ, "ML_API_PUBLISH": f"127.0.0.1:{port}"}  # loopback only
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        compose(tool, "up", "-d", "--no-build", "api", env=env)
        healthy_after = wait_healthy(url, timeout=60)
        print(
            f"compose up to a healthy /health in {time.monotonic() - started:.1f} s "
            f"({healthy_after:.1f} s of it waiting)"
        )
        container_checks(tool, url)
    finally:
        compose(tool, "down", env=env)
        run(tool, "rmi", "--force", IMAGE, check=False)
        run(
            tool,
            "image",
            "prune",
            "--force",
            "--filter",
            "label=house-price-api.stage=build",
            check=False,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["base", "image", "test"])
    command = parser.parse_args().command
    tool = engine()
    if command == "base":
        print(base_image(tool))
    elif command == "image":
        build_image(tool)
    else:
        container_test(tool)
    return 0


if __name__ == "__main__":
    sys.exit(main())
