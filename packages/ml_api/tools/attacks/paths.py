"""Odd requests: doubled slashes, encoded slashes and dots, a long path, a foreign Host, odd or
missing Content-Type, a 100,000-digit number. None may cost a 5xx or an empty reply. And odd
methods: every one the HTTP parser takes, on every route, which must not each add their own
series to ``/metrics`` (a client chose its size)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from api.request_metrics import ANSWERED_METHODS, OTHER_METHOD
from tools.attacks.budget import Budget
from tools.attacks.expectations import Expectations
from tools.attacks.net import NoReplyError, Reply, exchange, request_bytes
from tools.attacks.probe import one_house_body
from tools.attacks.report import Outcome
from tools.attacks.target import Target

FOREIGN_HOST = "attacker.example"


def _no_foreign_location(reply: Reply) -> bool:
    return FOREIGN_HOST not in reply.headers.get("location", "")


def _ok(reply: Reply) -> bool:
    return reply.status == 200


def _clear_refusal(reply: Reply) -> bool:
    """A 4xx that says what is wrong: not a 422 listing no errors."""
    if not 400 <= reply.status < 500:
        return False
    try:
        problem = json.loads(reply.body)
    except ValueError:
        return False
    listed = problem.get("errors") if isinstance(problem, dict) else None
    return bool(problem.get("detail")) and not (reply.status == 422 and not listed)


def _no_int_digits_hint(reply: Reply) -> bool:
    return 400 <= reply.status < 500 and b"set_int_max_str_digits" not in reply.body


@dataclass(frozen=True)
class OddRequest:
    name: str
    raw: bytes
    must: str = ""  # what must hold beyond "no 5xx, a reply"
    holds: Callable[[Reply], bool] = lambda reply: True


def odd_requests() -> list[OddRequest]:
    house = one_house_body()
    return [
        OddRequest("//health", request_bytes("GET", "//health")),
        OddRequest("//metrics", request_bytes("GET", "//metrics")),
        OddRequest("POST //v1/predictions", request_bytes("POST", "//v1/predictions", body=house)),
        OddRequest("/%2Fhealth", request_bytes("GET", "/%2Fhealth")),
        OddRequest("/%2e%2e/", request_bytes("GET", "/%2e%2e/")),
        OddRequest("/%2e%2e/%2e%2e/etc/passwd", request_bytes("GET", "/%2e%2e/%2e%2e/etc/passwd")),
        OddRequest("64 KB path", request_bytes("GET", "/" + "a" * 64 * 1024)),
        OddRequest(
            "/ui, foreign Host",
            request_bytes("GET", "/ui", host=FOREIGN_HOST),
            "no Location naming the foreign host",
            _no_foreign_location,
        ),
        OddRequest(
            "POST /v1/predictions/, foreign Host",
            request_bytes("POST", "/v1/predictions/", body=house, host=FOREIGN_HOST),
            "no Location naming the foreign host",
            _no_foreign_location,
        ),
        OddRequest(
            "POST /v1/predictions/, Host with a path",
            request_bytes("POST", "/v1/predictions/", body=house, host=f"{FOREIGN_HOST}/x"),
            "a clear 4xx",
            _clear_refusal,
        ),
        OddRequest(
            "Content-Type APPLICATION/JSON",
            request_bytes("POST", "/v1/predictions", body=house, content_type="APPLICATION/JSON"),
            "200",
            _ok,
        ),
        OddRequest(
            "no Content-Type",
            request_bytes("POST", "/v1/predictions", body=house, content_type=None),
            "a 4xx problem saying what is wrong",
            _clear_refusal,
        ),
        OddRequest(
            "100k-digit number",
            request_bytes(
                "POST", "/v1/predictions", body=b'[{"LotArea": ' + b"9" * 100_000 + b"}]"
            ),
            "a 4xx not naming sys.set_int_max_str_digits",
            _no_int_digits_hint,
        ),
    ]


async def odd_paths(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    seen: list[str] = []
    outcome = Outcome("odd paths")
    for odd in odd_requests():
        try:
            reply = await exchange(target.endpoint, odd.raw, timeout=15)
        except NoReplyError as failure:
            seen.append(f"{odd.name} {failure.kind}")
            outcome.check(f"{odd.name}: a reply", False, failure.kind)
            continue
        moved = f" -> {reply.headers['location']}" if "location" in reply.headers else ""
        seen.append(f"{odd.name} {reply.status}{moved}")
        outcome.check(f"{odd.name}: no 5xx", reply.status < 500, str(reply.status))
        if odd.must:
            outcome.check(
                f"{odd.name}: {odd.must}", odd.holds(reply), f"{reply.status} {reply.body[:160]!r}"
            )
    outcome.figures = ", ".join(seen)
    return outcome


#: Every method the HTTP parser (httptools) takes but the API answers none of its routes with
#: (CONNECT aside: its target is a host, not a path).
ODD_METHODS = [
    "DELETE",
    "PUT",
    "TRACE",
    "COPY",
    "LOCK",
    "MKCOL",
    "MOVE",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "UNLOCK",
    "BIND",
    "REBIND",
    "UNBIND",
    "ACL",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PATCH",
    "PURGE",
    "MKCALENDAR",
    "LINK",
    "UNLINK",
    "SOURCE",
    "QUERY",
]
ROUTES = (
    "/",
    "/health",
    "/ready",
    "/metrics",
    "/v1/model",
    "/v1/predictions",
    "/v1/sales",
    "/v1/monitoring",
    "/ui/",
    "/nowhere",
)
_METHOD_LABEL = re.compile(r'^ml_api_http_requests_total\{method="([^"]*)"', re.MULTILINE)


def _method_labels(target: Target) -> set[str]:
    return set(_METHOD_LABEL.findall(target.metrics_text()))


async def odd_methods(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """Each odd method on each route (300 requests): answered, no 5xx, and counted under the
    API's methods and ``other`` alone (each had been a series of its own: 1020 such requests
    took ``/metrics`` from 24 KB to 0.9 MB a scrape)."""
    outcome = Outcome("odd methods")
    statuses: dict[int, int] = {}
    unanswered = 0
    size_before = len(target.metrics_text())
    for method in ODD_METHODS:
        for route in ROUTES:
            try:
                reply = await exchange(target.endpoint, request_bytes(method, route), timeout=15)
            except NoReplyError:
                unanswered += 1
                continue
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
    labels = _method_labels(target)
    size_after = len(target.metrics_text())
    outcome.figures = (
        f"{len(ODD_METHODS) * len(ROUTES)} requests: "
        + " ".join(f"{status}x{n}" for status, n in sorted(statuses.items()))
        + f"; /metrics {size_before} -> {size_after} bytes, methods labelled {sorted(labels)}"
    )
    outcome.check("every request answered", unanswered == 0, f"{unanswered} unanswered")
    outcome.check("no 5xx", all(status < 500 for status in statuses), str(statuses))
    allowed = ANSWERED_METHODS | {OTHER_METHOD, "-"}
    outcome.check("no method labelled but the API's and other", labels <= allowed, str(labels))
    return outcome
