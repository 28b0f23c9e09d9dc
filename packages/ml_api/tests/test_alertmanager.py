"""Alertmanager's config (docker/alertmanager/alertmanager.yml) is valid, and routes the alerts.

``amtool check-config`` passes it (and fails a route to an unknown receiver). Then, on
127.0.0.1: Debian's Prometheus, with the real rules (docker/prometheus/alerts.yml) and the
shipped prometheus.yml's ``alerting:`` block, scrapes two instances the test serves and sends
their alerts to Debian's Alertmanager on the shipped config (routes and inhibit rules as they
are; its receiver pointed at a webhook the test serves). Time runs ``SPEED`` times faster
than shipped: the rules are evaluated each second instead of each 15, and each rule's ``for:``
and the routes' group_wait are shortened alike, so that the alerts keep their order. The
webhook gets the alerts with their labels, and links (the alert's generatorURL, the
notification's externalURL) that answer, made as compose makes them (its ``--web.external-url``
flags, on the ports the test publishes); an instance whose database goes down as it loses
houses is muted (inhibited by ``MlApiDatabaseDown``, as Alertmanager's API says) and never
notified of them, another instance's are. About 25 s.

Alertmanager and amtool ship in Debian's prometheus-alertmanager package (``make test-tools``
installs it where it can).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import yaml

from tests.compose_file import external_url, prometheus_config
from tests.debian_tools import (
    DOCKER,
    RULES,
    alert_rule_checks,
    alert_rules,
    debian_tool,
    duration_seconds,
    get_json,
    load_yaml,
)
from tools.server import free_port

CONFIG = DOCKER / "alertmanager" / "alertmanager.yml"
#: How many times faster than shipped the end-to-end run's clock goes: prometheus.yml's
#: evaluation interval (15 s) becomes a second.
SPEED = duration_seconds(prometheus_config()["global"]["evaluation_interval"])
#: The whole end-to-end run, start-up included: the lost houses' `for: 2m`, sped up, and a margin.
TIMEOUT = 60.0

T = TypeVar("T")


@pytest.fixture
def amtool() -> str:
    return debian_tool("prometheus-alertmanager", "amtool")


@pytest.fixture
def alertmanager() -> str:
    # Debian names its binary prometheus-alertmanager; upstream's (the image's) is alertmanager.
    return debian_tool("prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")


@pytest.fixture
def prometheus() -> str:
    return debian_tool("prometheus", "prometheus")


# --- The config as written ---------------------------------------------------------------------

#: A matcher as the config writes them: a label, an operator, a double-quoted value.
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"(.*)"')


def _matches(matcher: str, labels: dict[str, str]) -> bool:
    """Whether an alert of ``labels`` fulfils ``matcher`` (Alertmanager's semantics: a label
    missing is empty; a regular expression is anchored at both ends)."""
    found = _MATCHER.fullmatch(matcher.strip())
    assert found, f'{matcher!r} is not written as label op "value"'
    name, operator, value = found.groups()
    actual = labels.get(name, "")
    if operator in {"=~", "!~"}:
        return bool(re.fullmatch(value, actual)) == (operator == "=~")
    return (actual == value) == (operator == "=")


def _firing_labels() -> dict[str, list[dict[str, str]]]:
    """Each alert's labels as the rules' promtool unit tests show it firing (alerts_test.yml,
    backups_test.yml), by alert name."""
    fired: dict[str, list[dict[str, str]]] = {}
    for check in alert_rule_checks():
        name = check["alertname"]
        for alert in check["exp_alerts"]:
            fired.setdefault(name, []).append({"alertname": name, **alert["exp_labels"]})
    return fired


def test_each_severity_the_rules_set_has_its_route_critical_repeated_more_often() -> None:
    severities = {rule["labels"]["severity"] for rule in alert_rules()}
    routes = load_yaml(CONFIG)["route"]["routes"]
    repeat = {}
    for severity in severities:
        [route] = [
            route
            for route in routes
            if all(_matches(m, {"severity": severity}) for m in route["matchers"])
        ]
        repeat[severity] = route["repeat_interval"]
    assert repeat == {"critical": "1h", "warning": "12h"}


def test_each_inhibit_rule_names_real_alerts_and_labels_its_sources_carry() -> None:
    """A source alert without an ``equal`` label would mute every target without it too (a
    label missing on both sides is equal): the model's alerts, which have no instance."""
    fired = _firing_labels()
    for rule in load_yaml(CONFIG)["inhibit_rules"]:
        sources = [
            labels
            for alerts in fired.values()
            for labels in alerts
            if all(_matches(m, labels) for m in rule["source_matchers"])
        ]
        targets = [
            labels
            for alerts in fired.values()
            for labels in alerts
            if all(_matches(m, labels) for m in rule["target_matchers"])
        ]
        assert sources and targets, rule
        for labels in sources:
            assert all(labels.get(name) for name in rule["equal"]), (rule, labels)
        assert not [labels for labels in sources if labels in targets], "an alert on both sides"


def _check_config(amtool: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [amtool, "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.external
def test_amtool_checks_the_config(amtool: str) -> None:
    done = _check_config(amtool, CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr
    config = load_yaml(CONFIG)
    assert "SUCCESS" in done.stdout
    assert f"{len(config['inhibit_rules'])} inhibit rules" in done.stdout
    assert f"{len(config['receivers'])} receivers" in done.stdout


@pytest.mark.external
def test_amtool_refuses_a_route_to_an_unknown_receiver(amtool: str, tmp_path: Path) -> None:
    config = load_yaml(CONFIG)
    config["route"]["routes"][0]["receiver"] = "nobody"
    planted = tmp_path / "alertmanager.yml"
    planted.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = _check_config(amtool, planted)
    assert done.returncode != 0
    assert 'undefined receiver "nobody"' in done.stdout + done.stderr


# --- End to end: Prometheus on the real rules, Alertmanager on the shipped config -------------


class _Instance:
    """What an instance of the service exports for the store's alerts: its database up or not,
    and houses lost (``ml_api_unrecorded_houses_total`` goes up at each scrape while
    ``losing``)."""

    def __init__(self, *, database_up: bool, losing: bool) -> None:
        self.database_up = database_up
        self.losing = losing
        self._unrecorded = 0
        self._lock = threading.Lock()

    def metrics(self) -> bytes:
        with self._lock:
            self._unrecorded += self.losing
            return (
                "# TYPE ml_api_recording gauge\nml_api_recording 1\n"
                f"# TYPE ml_api_database_up gauge\nml_api_database_up {int(self.database_up)}\n"
                "# TYPE ml_api_unrecorded_houses_total counter\n"
                f"ml_api_unrecorded_houses_total {self._unrecorded}\n"
            ).encode()


class _Webhook:
    """Alertmanager's notifications as the webhook receiver posts them (JSON, one a group)."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def receive(self, body: bytes) -> bytes:
        with self._lock:
            self.notifications.append(json.loads(body))
        return b""

    def alerts(self, alertname: str, instance: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Each (notification, alert) received of ``alertname`` on ``instance``."""
        with self._lock:
            return [
                (notification, alert)
                for notification in self.notifications
                for alert in notification["alerts"]
                if alert["labels"].get("alertname") == alertname
                and alert["labels"].get("instance") == instance
            ]


def _serve(stack: ExitStack, answer: Callable[[bytes], bytes]) -> str:
    """An HTTP server on 127.0.0.1 answering every GET and POST with ``answer(body)``, stopped
    with ``stack``; its host:port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def _answer(self, body: bytes) -> None:
            out = answer(body)
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no line on stderr for each scrape and notification

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    host, port = server.server_address[:2]
    return f"{host!s}:{port}"


def _every_route(route: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield route
    for child in route.get("routes", []):
        yield from _every_route(child)


def _sped_up(duration: str) -> str:
    """``duration`` ``SPEED`` times shorter, as Prometheus and Alertmanager write one."""
    return f"{round(duration_seconds(duration) * 1000 / SPEED)}ms"


def _alertmanager_config(webhook: str) -> dict[str, Any]:
    """The shipped config, its receiver sending to ``webhook``, each group's first notification
    sped up; routes and inhibit rules as shipped."""
    config = copy.deepcopy(load_yaml(CONFIG))
    [receiver] = [r for r in config["receivers"] if r["name"] == config["route"]["receiver"]]
    assert set(receiver) == {"name"}, "the shipped receiver sends nowhere: the site's to add"
    receiver["webhook_configs"] = [{"url": f"http://{webhook}/", "send_resolved": False}]
    for route in _every_route(config["route"]):
        if "group_wait" in route:
            route["group_wait"] = _sped_up(route["group_wait"])
    return config


def _sped_up_rules(folder: Path) -> Path:
    """The real rules, each ``for:`` sped up, written in ``folder``."""
    rules = load_yaml(RULES)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = _sped_up(rule["for"])
    path = folder / RULES.name
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return path


def _prometheus_config(alertmanager: str, targets: list[str], rules: Path) -> dict[str, Any]:
    """The shipped prometheus.yml, sending to ``alertmanager`` and scraping ``targets`` each
    second, on ``rules`` evaluated each second."""
    config = prometheus_config()
    scraping = config["global"]
    scraping.update(
        scrape_interval="1s", evaluation_interval=_sped_up(scraping["evaluation_interval"])
    )
    assert config["rule_files"] == [rules.name]
    config["rule_files"] = [str(rules)]
    [sender] = config["alerting"]["alertmanagers"]
    [static] = sender["static_configs"]
    assert static["targets"] == ["alertmanager:9093"]  # tests/test_docker.py: compose's service
    static["targets"] = [alertmanager]
    [job] = config["scrape_configs"]
    job["static_configs"] = [{"targets": targets}]
    return config


def _start(stack: ExitStack, command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    return process


class _Run:
    """The end-to-end run's clock and logs: waits end at one deadline, with the logs shown."""

    def __init__(self, logs: list[Path]) -> None:
        self.deadline = time.monotonic() + TIMEOUT
        self.logs = logs

    def until(self, what: str, found: Callable[[], T | None]) -> T:
        while True:
            value = found()
            if value:
                return value
            if time.monotonic() > self.deadline:
                tails = [
                    f"--- {log.name}\n"
                    + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                    for log in self.logs
                ]
                raise AssertionError(f"{what}: not within {TIMEOUT:.0f} s\n" + "\n".join(tails))
            time.sleep(0.5)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.external
def test_prometheus_alerts_reach_the_receiver_and_the_database_down_mutes_lost_houses(
    alertmanager: str, prometheus: str, tmp_path: Path
) -> None:
    # Instance a: its database down and its houses lost from the start (a full record buffer);
    # MlApiDatabaseDown must reach Alertmanager before a's MlApiHousesUnrecorded is sent.
    # Instance b: its database up, houses lost from the start (the database refusing them).
    down, up = _Instance(database_up=False, losing=True), _Instance(database_up=True, losing=True)
    webhook = _Webhook()
    logs = [tmp_path / "alertmanager.log", tmp_path / "prometheus.log"]
    run = _Run(logs)
    with ExitStack() as stack:
        a = _serve(stack, lambda _: down.metrics())
        b = _serve(stack, lambda _: up.metrics())
        hook = _serve(stack, webhook.receive)
        am_port, prometheus_port = free_port(), free_port()
        am_url = f"http://127.0.0.1:{am_port}"
        # Their links as compose makes them, this machine's loopback the host operators reach.
        published = {
            "MONITORING_HOST": "127.0.0.1",
            "PROMETHEUS_PORT": str(prometheus_port),
            "ALERTMANAGER_PORT": str(am_port),
        }
        routing = _alertmanager_config(hook)
        am_config = tmp_path / "alertmanager.yml"
        am_config.write_text(yaml.safe_dump(routing), encoding="utf-8")
        _start(
            stack,
            [
                alertmanager,
                f"--config.file={am_config}",
                f"--storage.path={tmp_path / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",  # as compose runs it: no gossip port
                f"--web.external-url={external_url('alertmanager', published)}",
            ],
            logs[0],
        )
        rules = _sped_up_rules(tmp_path)
        prometheus_config = tmp_path / "prometheus.yml"
        config = _prometheus_config(f"127.0.0.1:{am_port}", [a, b], rules)
        prometheus_config.write_text(yaml.safe_dump(config), encoding="utf-8")
        _start(
            stack,
            [
                prometheus,
                f"--config.file={prometheus_config}",
                f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                f"--web.external-url={external_url('prometheus', published)}",
            ],
            logs[1],
        )
        run.until("Alertmanager ready", lambda: _ready(am_url))

        # a's database down reaches the receiver, with the rule's labels.
        [(_, source), *_] = run.until(
            "a's MlApiDatabaseDown at the webhook", lambda: webhook.alerts("MlApiDatabaseDown", a)
        )
        assert source["labels"] == {
            "alertname": "MlApiDatabaseDown",
            "instance": a,
            "severity": "critical",
        }

        # b's lost houses reach it too, in a group of their own.
        [(notification, alert), *_] = run.until(
            "b's MlApiHousesUnrecorded at the webhook",
            lambda: webhook.alerts("MlApiHousesUnrecorded", b),
        )
        assert alert["labels"] == {
            "alertname": "MlApiHousesUnrecorded",
            "instance": b,
            "severity": "critical",
        }
        assert b in alert["annotations"]["summary"]
        assert notification["receiver"] == "operators"
        # Its links lead to Prometheus' graph of the rule and to Alertmanager, where published.
        for link, port in (
            (alert["generatorURL"], prometheus_port),
            (notification["externalURL"], am_port),
        ):
            assert urlsplit(link)[:2] == ("http", f"127.0.0.1:{port}"), link
            assert httpx.get(link, timeout=5, follow_redirects=True).status_code == 200, link
        assert "ml_api_unrecorded_houses_total" in unquote(alert["generatorURL"])  # its rule's
        assert notification["groupLabels"] == {"alertname": "MlApiHousesUnrecorded", "instance": b}

        def alerts_of(alertname: str, instance: str) -> list[dict[str, Any]]:
            return [
                alert
                for alert in get_json(f"{am_url}/api/v2/alerts") or []
                if alert["labels"].get("alertname") == alertname
                and alert["labels"].get("instance") == instance
            ]

        # Alertmanager has a's lost houses, muted by a's database down, not b's.
        [muted] = run.until(
            "a's MlApiHousesUnrecorded at Alertmanager",
            lambda: alerts_of("MlApiHousesUnrecorded", a),
        )
        [database_down] = alerts_of("MlApiDatabaseDown", a)
        [other] = alerts_of("MlApiHousesUnrecorded", b)
        # past the group's first notification (group_wait sped up), muted
        time.sleep(3 * duration_seconds(routing["route"]["group_wait"]))
        print(f"\nmuted: {muted['status']}\nother instance: {other['status']}")
        assert muted["status"]["state"] == "suppressed"
        assert muted["status"]["inhibitedBy"] == [database_down["fingerprint"]]
        assert other["status"]["state"] == "active"
        # Never sent, not even before its cause reached Alertmanager.
        assert webhook.alerts("MlApiHousesUnrecorded", a) == []
