"""The nginx proxy's config agrees with the app's settings and with the compose file.

The proxy and the app each enforce some of the same limits; these tests read
docker/nginx/nginx.conf so that the two cannot drift apart unnoticed. The proxy passes on every
path the app serves but the one Prometheus scrapes (docker/prometheus.yml), which it answers 404
itself (make container-test asks a running proxy the same).
"""

from __future__ import annotations

import mimetypes
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from api.config import CORS_ORIGIN_SYNTAX, ServerSettings, Settings
from api.cors import cors_policy
from api.request_context import UI_ROUTE
from api.spec_document import operations
from api.spec_endpoint import DOCUMENT_PATHS
from tests.compose_file import compose_services, prometheus_config

ROOT = Path(__file__).resolve().parent.parent
NGINX_DIR = ROOT / "docker" / "nginx"
NGINX_CONF = (NGINX_DIR / "nginx.conf").read_text(encoding="utf-8")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
# Lines that open or close a block, or continue a multi-line directive: not settings themselves.
_NOT_A_SETTING = re.compile(r"^(\}|'|\"|[\w~^]+[^;]*\{$)")


def _code(conf: str) -> str:
    """``conf`` without its comments."""
    return "\n".join(line.split("#", 1)[0] for line in conf.splitlines())


def nginx_values(directive: str, conf: str = NGINX_CONF) -> list[str]:
    """The arguments of every ``directive`` in ``conf`` (comments left out), in order."""
    code = _code(conf)
    return [
        match.group(1).strip()
        for match in re.finditer(rf"(?:^|[;{{\s]){directive}\s+([^;{{]+);", code, re.MULTILINE)
    ]


def nginx_value(directive: str, conf: str = NGINX_CONF) -> str:
    """The arguments of the one ``directive`` in ``conf``."""
    [value] = nginx_values(directive, conf)
    return value


def nginx_size(value: str) -> int:
    """Bytes of an nginx size such as ``10m`` or ``16k``."""
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    assert match, f"not an nginx size: {value!r}"
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def nginx_seconds(value: str) -> float:
    """Seconds of an nginx time such as ``4s`` or ``500ms`` (a bare number is seconds)."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert match, f"not a single-unit nginx time: {value!r}"
    return int(match.group(1)) * _TIME_UNITS[match.group(2) or "s"]


# A location block: its modifier (none, =, ~, ~* or ^~), its path or regex, its body (the blocks
# of nginx.conf hold no nested block).
_LOCATION = re.compile(
    r"^\s*location\s+(?:(=|~\*|~|\^~)\s+)?(\S+)\s*\{$(.*?)^\s*\}\s*$", re.MULTILINE | re.DOTALL
)


def nginx_location(path: str, conf: str = NGINX_CONF) -> str:
    """The body of the location nginx chooses for ``path``, by nginx's rule: the exact match;
    else the longest prefix if it is ``^~``; else the first regex, in order, that matches; else
    the longest prefix. ``path`` as nginx matches it: normalised (escapes decoded, slashes
    merged, dot segments resolved), no query."""
    locations = [match.groups() for match in _LOCATION.finditer(_code(conf))]
    for modifier, pattern, body in locations:
        if modifier == "=" and pattern == path:
            return body.strip()
    prefixes = [
        (pattern, modifier, body)
        for modifier, pattern, body in locations
        if modifier in (None, "^~") and path.startswith(pattern)
    ]
    longest = max(prefixes, key=lambda prefix: len(prefix[0]), default=None)
    if longest is None or longest[1] != "^~":
        for modifier, pattern, body in locations:
            flags = re.IGNORECASE if modifier == "~*" else 0
            if modifier in ("~", "~*") and re.search(pattern, path, flags):
                return body.strip()
    assert longest, f"no location of nginx.conf takes {path}"
    return longest[2].strip()


def served_paths() -> set[str]:
    """Every path the app serves: the spec's, Swagger UI's (``/ui`` redirects to ``/ui/``, its
    page) and those of the spec document, which api/spec_endpoint.py answers itself."""
    spec = yaml.safe_load((ROOT / "api" / "spec" / "api.yaml").read_text(encoding="utf-8"))
    return {*spec["paths"], UI_ROUTE.rstrip("/"), UI_ROUTE, *DOCUMENT_PATHS}


def scraped_path() -> str:
    """The path Prometheus scrapes the app at, in the compose stack (docker/prometheus.yml)."""
    [job] = _prometheus_jobs()
    path: str = job.get("metrics_path", "/metrics")  # Prometheus' default
    return path


def _prometheus_jobs() -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = prometheus_config()["scrape_configs"]
    return jobs


def _upstream_server() -> tuple[str, int, list[str]]:
    """Host, port and parameters of the upstream block's one server."""
    block = re.search(r"upstream api \{(.*?)\n    \}", NGINX_CONF, re.DOTALL)
    assert block, "nginx.conf has an `upstream api` block"
    [server] = nginx_values("server", block.group(1))
    address, *parameters = server.split()
    host, port = address.rsplit(":", 1)
    return host, int(port), parameters


def test_proxy_body_limit_is_the_apps() -> None:
    assert nginx_size(nginx_value("client_max_body_size")) == Settings().max_body_bytes
    # and nginx's own 413 states the same number as the app's
    assert f"limit of {Settings().max_body_bytes} bytes" in NGINX_CONF


def test_proxy_header_limits_are_the_apps() -> None:
    """A head that the app alone would refuse (api/connection_guard.py), nginx refuses too, and
    its 431 and 414 state the same numbers."""
    count, size = nginx_value("large_client_header_buffers").split()
    server = ServerSettings()
    assert nginx_size(size) == server.max_header_field_bytes
    assert int(count) * nginx_size(size) == server.max_header_bytes
    field_limit = f"field is longer than {server.max_header_field_bytes} bytes"
    assert field_limit in NGINX_CONF
    assert f"over {server.max_header_bytes} bytes in all" in NGINX_CONF
    assert f"request line is longer than {server.max_header_field_bytes} bytes" in NGINX_CONF


@pytest.mark.parametrize(
    ("value", "expected"), [("10m", 10 * 1024**2), ("16k", 16384), ("1024", 1024), ("1G", 1024**3)]
)
def test_nginx_sizes_are_read_with_their_units(value: str, expected: int) -> None:
    assert nginx_size(value) == expected


def test_a_planted_body_limit_mismatch_is_caught() -> None:
    planted = NGINX_CONF.replace("client_max_body_size 10m;", "client_max_body_size 20m;")
    assert nginx_size(nginx_value("client_max_body_size", planted)) != Settings().max_body_bytes


def test_upstream_is_the_api_service_on_the_apps_port_never_marked_down() -> None:
    host, port, parameters = _upstream_server()
    assert host == "api" and "api" in compose_services()
    assert port == ServerSettings().port
    assert "max_fails=0" in parameters
    # the entrypoint watches the same name, to reload nginx when its address changes
    entrypoint = (NGINX_DIR / "entrypoint.sh").read_text(encoding="utf-8")
    assert f'upstream_host="${{PROXY_UPSTREAM_HOST:-{host}}}"' in entrypoint


def test_idle_upstream_connections_close_before_the_app_closes_them() -> None:
    block = re.search(r"upstream api \{(.*?)\n    \}", NGINX_CONF, re.DOTALL)
    assert block
    assert nginx_seconds(nginx_value("keepalive_timeout", block.group(1))) < (
        ServerSettings().keepalive
    )
    assert nginx_value("proxy_http_version") == "1.1"
    assert nginx_value("proxy_set_header Connection") == '""'


def test_proxy_waits_for_the_app_as_long_as_a_worker_may_run() -> None:
    assert nginx_seconds(nginx_value("proxy_read_timeout")) == ServerSettings().timeout


def test_slow_clients_are_cut_within_30_seconds() -> None:
    assert nginx_seconds(nginx_value("client_header_timeout")) <= 30
    assert nginx_seconds(nginx_value("client_body_timeout")) <= 30
    assert nginx_value("proxy_request_buffering") == "on"
    assert nginx_value("proxy_buffering") == "on"


def test_prometheus_scrapes_the_app_directly_and_the_proxy_hides_its_path() -> None:
    """/metrics is Prometheus' alone: it scrapes the api service, not the proxy, and the proxy
    answers the path (and /metrics/, which the app redirects to it) with its own 404 problem,
    never passing it on."""
    host, port, _ = _upstream_server()
    [job] = _prometheus_jobs()
    assert [target for config in job["static_configs"] for target in config["targets"]] == [
        f"{host}:{port}"
    ]
    scraped = scraped_path()
    assert scraped in served_paths()
    for path in (scraped, f"{scraped}/"):
        assert nginx_location(path).split() == ["return", "404;"], path
    # error_page turns the 404 into the problem+json of nginx's other errors.
    pages = [value.split() for value in nginx_values("error_page")]
    assert any(words[-1] == "/_proxy_problem" and "404" in words[:-1] for words in pages)


#: What the app answers itself and the proxy must pass on: every path it serves but the scraped
#: one, a trailing slash (the app's redirect), the UI's files, and spellings the app does not
#: route to /metrics (its 404, not the proxy's).
PASSED_ON = sorted(
    {
        *(served_paths() - {scraped_path()}),
        *(f"{path}/" for path in served_paths() - {scraped_path(), "/", UI_ROUTE}),
        f"{UI_ROUTE}swagger-ui.css",
        scraped_path().upper(),
        f"{scraped_path()}x",
        f"{scraped_path()}/x",
        f"{scraped_path()}.json",
    }
)


@pytest.mark.parametrize("path", PASSED_ON)
def test_the_proxy_passes_every_other_path_on_to_the_app(path: str) -> None:
    assert "proxy_pass http://api;" in nginx_location(path), path


def test_a_planted_metrics_route_is_caught() -> None:
    """Without the rule for the scraped path, nginx would pass it on to the app."""
    [rule] = [m.group(0) for m in _LOCATION.finditer(NGINX_CONF) if "return 404;" in m.group(3)]
    planted = NGINX_CONF.replace(rule, "")
    assert "proxy_pass http://api;" in nginx_location(scraped_path(), planted)


def _served_media_types() -> set[str]:
    """Every media type of what the proxy passes on: the spec's responses on every path but the
    scraped one, the spec document's, and Swagger UI's page, scripts and style sheets (as the
    app's static files name them, by ``mimetypes``)."""
    spec = yaml.safe_load((ROOT / "api" / "spec" / "api.yaml").read_text(encoding="utf-8"))
    answers = [
        answer
        for path, _, operation in operations(spec)
        if path != scraped_path()
        for answer in operation["responses"].values()
    ]
    answers += spec["components"]["responses"].values()
    kinds = {kind for answer in answers for kind in answer.get("content", {})}
    ui_files = {mimetypes.guess_type(f"x.{suffix}")[0] for suffix in ("html", "js", "css")}
    return kinds | set(DOCUMENT_PATHS.values()) | {kind for kind in ui_files if kind}


def test_the_proxy_compresses_every_kind_of_answer_the_app_gives() -> None:
    """Clients that accept gzip get the app's answers of 1 KB or more compressed, of any
    media type it answers with (text/html always is; nginx compresses statuses 200, 403 and
    404 only), and a cache is told that it varies with Accept-Encoding."""
    compressed = {"text/html", *nginx_value("gzip_types").split()}
    kinds = _served_media_types()
    assert {"application/json", "application/problem+json", "text/css"} <= kinds
    assert kinds <= compressed, f"answers not compressed: {kinds - compressed}"
    assert nginx_value("gzip") == "on" and nginx_value("gzip_proxied") == "any"
    assert nginx_value("gzip_vary") == "on"
    assert nginx_size(nginx_value("gzip_min_length")) == 1024


def test_compose_publishes_the_proxy_and_not_the_api() -> None:
    services = compose_services()
    assert "ports" not in services["api"]
    listen = nginx_value("listen")
    assert int(listen) > 1024  # a non-root user can bind it
    assert services["proxy"]["ports"] == [f"${{ML_API_PUBLISH:-5000}}:{listen}"]
    assert "api" in services["proxy"]["depends_on"]
    dockerfile = (NGINX_DIR / "Dockerfile").read_text(encoding="utf-8")
    assert f"EXPOSE {listen}" in dockerfile
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_the_proxy_may_open_as_many_files_as_nginx_asks_for() -> None:
    nofile = compose_services()["proxy"]["ulimits"]["nofile"]
    wanted = int(nginx_value("worker_rlimit_nofile"))
    assert nofile["soft"] >= wanted and nofile["hard"] >= wanted
    assert wanted >= 2 * int(nginx_value("worker_connections"))


def test_every_setting_is_written_down_with_its_reason() -> None:
    """Each directive has a comment above it in its paragraph (a run of lines in one block)."""
    lines = NGINX_CONF.splitlines()
    in_map = False
    unexplained = []
    for number, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith("map "):
            in_map = True
        if in_map:  # a map's entries are data, explained above the map
            in_map = line != "}"
            continue
        if not line or line.startswith("#") or _NOT_A_SETTING.match(line):
            continue
        explained = False
        for above in reversed(lines[:number]):
            above = above.strip()
            if above.startswith("#"):
                explained = True
                break
            if not above or above.endswith("{"):
                break
        if not explained:
            unexplained.append(f"{number + 1}: {line}")
    assert not unexplained, "settings without a reason:\n" + "\n".join(unexplained)


# --- CORS on nginx's own errors: docker/nginx/cors-origins.sh and nginx.conf's maps -------------

CORS_ORIGINS_SCRIPT = NGINX_DIR / "cors-origins.sh"


def _proxy_origins(setting: str) -> subprocess.CompletedProcess[str]:
    """cors-origins.sh's map entries for ``ML_API_CORS_ORIGINS=setting``."""
    return subprocess.run(
        ["sh", str(CORS_ORIGINS_SCRIPT)],
        env={"PATH": os.environ["PATH"], "ML_API_CORS_ORIGINS": setting},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


@pytest.mark.parametrize(
    "setting",
    ["", "https://pages.example", " https://a.example ,http://localhost:3000,, ", "*",
     "https://a.example,*", "http://[::1]:8080"],
)  # fmt: skip
def test_the_proxy_marks_its_errors_for_the_pages_the_app_allows(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The origins the proxy echoes are the app's, read from the one variable both get."""
    monkeypatch.setenv("ML_API_CORS_ORIGINS", setting)
    allowed = Settings().cors_origins
    done = _proxy_origins(setting)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if "*" in allowed:
        assert lines == ['default "*";']
        return
    assert lines[0] == 'default "";'
    entries = [re.fullmatch(r'"([^"]+)" "([^"]+)";', line) for line in lines[1:]]
    assert all(entry and entry[1] == entry[2] for entry in entries), lines
    assert tuple(entry[1] for entry in entries if entry) == allowed


@pytest.mark.parametrize(
    ("setting", "place"),
    [('https://a.example,https://b"; default "*', 2), ("https://a.example/path", 1),
     ("https://a.example,pages.example", 2), ("https://a b.example", 1), ("https://a;b", 1)],
)  # fmt: skip
def test_an_item_that_is_no_origin_stops_the_proxy_naming_its_place(
    setting: str, place: int
) -> None:
    """Nothing a variable holds can write nginx syntax into its map: a quote or a `;` is
    refused, as is anything a browser never sends as an Origin."""
    done = _proxy_origins(setting)
    assert done.returncode != 0 and done.stdout == ""
    assert f"item {place} is not an origin" in done.stderr
    assert "a.example" not in done.stderr  # the value is not echoed into the log
    # The api refuses the same list, so that the two never start on different ones.
    with pytest.raises(ValidationError, match=f"item {place} is not an origin") as refused:
        Settings(cors_origins=setting)
    assert "a.example" not in str(refused.value)


def test_the_proxy_and_the_api_take_an_origin_of_one_syntax() -> None:
    """The shell cannot import it: cors-origins.sh writes CORS_ORIGIN_SYNTAX again, for grep -E
    (the same text, anchored), and the cases above try both on a few lists."""
    script = CORS_ORIGINS_SCRIPT.read_text(encoding="utf-8")
    [pattern] = re.findall(r"grep -Eq '([^']*)'", script)
    assert pattern == f"^{CORS_ORIGIN_SYNTAX.pattern}$"


def test_the_proxy_reads_the_origins_the_entrypoint_writes() -> None:
    entrypoint = (NGINX_DIR / "entrypoint.sh").read_text(encoding="utf-8")
    dockerfile = (NGINX_DIR / "Dockerfile").read_text(encoding="utf-8")
    written = re.search(r"^(\S+) >(/\S+)$", entrypoint, re.MULTILINE)
    assert written, "the entrypoint writes the map's entries"
    assert f"COPY cors-origins.sh /usr/local/bin/{written[1]}" in dockerfile
    cors_map = re.search(r"map \$http_origin \$cors_origin \{\s*include (\S+);\s*\}", NGINX_CONF)
    assert cors_map and cors_map[1] == written[2]
    services = compose_services()
    for service in ("api", "proxy"):
        assert services[service]["environment"]["ML_API_CORS_ORIGINS"] == (
            "${ML_API_CORS_ORIGINS:-}"
        ), service


def test_the_proxy_exposes_the_headers_the_apps_policy_exposes() -> None:
    exposed = re.search(
        r'map \$cors_origin \$cors_exposed_headers \{[^}]*default "([^"]+)";', NGINX_CONF
    )
    assert exposed, "nginx.conf maps an allowed origin to the headers it exposes"
    assert exposed[1].split(", ") == cors_policy(["https://pages.example"])["expose_headers"]
    problem = NGINX_CONF[NGINX_CONF.index("location = /_proxy_problem") :]
    for header, value in [("Access-Control-Allow-Origin", "$cors_origin"),
                          ("Access-Control-Expose-Headers", "$cors_exposed_headers"),
                          ("Vary", "Origin")]:  # fmt: skip
        assert f"add_header {header} {value} always;" in problem, header
