"""Service settings from the environment (prefix ``ML_API_``).

One class per process: ``Settings`` for the application, ``ServerSettings`` for gunicorn. The
deployment kind (``ML_API_ENVIRONMENT``) is one of its fields, and only changes the defaults of a
few others (``ENVIRONMENT_DEFAULTS``); a variable set for any of them still wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "testing", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

MIB = 1024 * 1024
#: The threads a worker runs its request handlers in: a2wsgi's default, which Connexion's
#: Flask app keeps (tests/test_config.py holds this to the installed a2wsgi).
REQUEST_THREADS = 10

#: A bearer token as an ``Authorization`` header carries it (RFC 6750 2.1, ``b64token``).
FEEDBACK_TOKEN_SYNTAX = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: The longest name of a feedback token (``name:token`` in ``ML_API_FEEDBACK_TOKENS``), which
#: the store's ``sales.reported_by`` holds.
FEEDBACK_TOKEN_NAME_LENGTH = 40
#: A feedback token's name: a short label of who holds the token (a lender, an appraiser's
#: office), not a secret: lower-case letters, digits, ``-`` and ``_``, starting with a letter,
#: so that no name is a place in the list (an unnamed token's name: ``1``, ``2`` ...). No ``:``,
#: which ends it, and no token has one (``FEEDBACK_TOKEN_SYNTAX``): an entry splits one way.
FEEDBACK_TOKEN_NAME_SYNTAX = re.compile(rf"[a-z][a-z0-9_-]{{0,{FEEDBACK_TOKEN_NAME_LENGTH - 1}}}")
#: What a name must be, as a refusal says it.
FEEDBACK_TOKEN_NAME_RULE = (
    f"1 to {FEEDBACK_TOKEN_NAME_LENGTH} lower-case letters, digits, - and _, starting with a letter"
)
#: A web page's origin as a browser sends it (RFC 6454: a scheme, ``://``, a host, an optional
#: port), which ``ML_API_CORS_ORIGINS`` lists; docker/nginx/cors-origins.sh checks the same
#: (tests/test_proxy_config.py holds the two together).
CORS_ORIGIN_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[][A-Za-z0-9.:-]+")
#: The shortest feedback token taken: a token is all that guards the sale prices the live
#: accuracy is measured with, and a 401 costs a guesser nothing.
MIN_FEEDBACK_TOKEN_LENGTH = 16
#: A name that is a token's length in hexadecimal digits is a token (``openssl rand -hex 16``
#: makes one that is a name's syntax 37 times in 100), written where the name goes
#: (``token:name``): taken, the name would be the secret and the secret the name, in the
#: metric, the access log and the store. No name a person gives looks like it.
FEEDBACK_TOKEN_LIKE = re.compile(rf"[0-9a-f]{{{MIN_FEEDBACK_TOKEN_LENGTH},}}")
#: The fewest priced houses, and sales, a monitoring window holds: a window's settings, and the
#: ``predictions`` and ``sales`` a client asks ``GET /v1/monitoring`` for (the spec's
#: ``minimum``, which ``api.spec_document.with_limits`` and ``make spec`` write from this).
MIN_MONITORING_WINDOW = 10
#: The most houses ``ML_API_MAX_ROWS`` may allow in one request: their ids' places, 0 to
#: 99,999, fit the five digits of the spec's ``PredictionId`` (tests/test_config.py holds the
#: two together).
MAX_ROWS_LIMIT = 100_000
#: Seconds one statement of the prediction store may take, a wait on a lock included, by
#: default (``Settings.store_statement_timeout``; ``api.store.database.make_engine`` applies
#: it): a stalled database fails the statement rather than hold its thread for ever.
STORE_STATEMENT_TIMEOUT = 5.0

#: What each deployment kind changes from the defaults below. Development and tests check every
#: response against the spec (cheap insurance there, a cost in production).
ENVIRONMENT_DEFAULTS: Mapping[Environment, Mapping[str, Any]] = {
    "development": {"validate_responses": True, "log_level": "DEBUG"},
    "testing": {"validate_responses": True},
    "production": {},
}


@dataclass(frozen=True)
class FeedbackToken:
    """One entry of ``ML_API_FEEDBACK_TOKENS``: the token, and the name of who holds it (the
    entry's ``name:``, or without one its place in the list, from 1), which each sale it posts
    is stored with (``sales.reported_by``) and its uses are counted by
    (``ml_api_feedback_token_uses_total``)."""

    name: str
    token: SecretStr
    #: Whether the list gave the name (``name:token``), which must then be one, even one that
    #: reads as the entry's place (``2:token`` second: a name starts with a letter).
    named: bool = False

    @classmethod
    def parse(cls, entry: str, *, place: int) -> FeedbackToken:
        """``name:token`` or ``token`` (named ``place``), as listed; checked by ``Settings``."""
        name, named, token = entry.partition(":")
        if not named:
            return cls(name=str(place), token=SecretStr(entry))
        return cls(name=name.strip(), token=SecretStr(token.strip()), named=True)

    @staticmethod
    def name_fault(name: str) -> str | None:
        """What is wrong with ``name`` as a token's name, as a refusal says it, or ``None``: a
        name is ``FEEDBACK_TOKEN_NAME_SYNTAX``'s, and not ``FEEDBACK_TOKEN_LIKE``."""
        if FEEDBACK_TOKEN_LIKE.fullmatch(name):
            return "a name that looks like a token (name:token, not token:name)"
        if not FEEDBACK_TOKEN_NAME_SYNTAX.fullmatch(name):
            return f"a name that is not one ({FEEDBACK_TOKEN_NAME_RULE}; name:token)"
        return None


class Settings(BaseSettings):
    """Settings of the application inside each worker, request limits included."""

    # hide_input_in_errors: a refused setting is named, not quoted (pydantic quotes the value as
    # read, before any SecretStr: the feedback tokens, the database URL's password).
    model_config = SettingsConfigDict(
        env_prefix="ML_API_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = "production"
    #: Check every response against the spec (on in development and testing).
    validate_responses: bool = False
    log_level: LogLevel = "INFO"
    #: Serve this model file instead of the one packaged with gradient_boosting_model (another
    #: version's ``.joblib``, its metadata ``.json`` beside it): how a challenger is promoted.
    model_artifact: Path | None = None
    #: A second model's file, priced in the shadow of the one served: each recorded house is
    #: priced by it too, off the request path, and stored beside (``/v1/monitoring`` compares
    #: the two). Needs ``recording``.
    challenger_artifact: Path | None = None

    # Request limits. Each is refused with a problem+json 4xx that states it.
    #: Bytes of request body, checked from Content-Length and again while reading (413).
    max_body_bytes: int = Field(default=10 * MIB, ge=1024)
    #: Bytes of request bodies a worker reads and prices at once; a request past it is refused
    #: at once with 503 and Retry-After. A maximum body (5000 houses) costs a worker about
    #: 100 MB while it is priced: two at once keep a worker near 350 MB, under 600 MB, and the
    #: 4 MiB left over keep small requests flowing beside them.
    max_inflight_body_bytes: int = Field(default=24 * MIB, ge=1024)
    #: Houses a worker explains at once (``explain=true``); a request past it is refused at
    #: once with 503 and Retry-After. An explained house holds about 40 KB while its answer is
    #: built, 25 times its share of the body, which the byte budget above cannot see: 32
    #: explained 1459-house requests at once took a worker past 850 MB.
    max_inflight_explained_rows: int = Field(default=3000, ge=1)
    #: Requests a worker takes at once that wait on the prediction store (``POST /v1/sales``,
    #: and monitoring windows asked for); one past it is refused at once with 503 and
    #: Retry-After. Each holds one of the worker's
    #: request threads (``REQUEST_THREADS``) while the store answers, and a store that hangs
    #: (no answer, no error) held all of them: prices and ``/ready`` waited behind the sales.
    max_inflight_store_requests: int = Field(default=4, ge=1)
    #: Seconds each part of a request body may take to arrive (408 past it).
    body_timeout: float = Field(default=10.0, gt=0, le=300)
    #: Bytes a second a request body must keep up once its first part is in, falling never
    #: more than ``body_timeout`` seconds behind (408 past it): 64 KiB/s lets a 10 MiB body
    #: take 170 s, and cuts a trickle that meets ``body_timeout`` byte by byte. 0: no minimum.
    min_body_rate: int = Field(default=64 * 1024, ge=0)
    #: Houses in one request (the spec's ``maxItems``; 400). test.csv's 1459 rows fit. At most
    #: ``MAX_ROWS_LIMIT``: a house's id ends in its place in the request, which the spec's
    #: ``PredictionId`` allows five digits (a sale for house 100,000 of a larger request was
    #: refused, its id one character past the pattern's ``maxLength``).
    max_rows: int = Field(default=5000, ge=1, le=MAX_ROWS_LIMIT)
    #: Houses in one request with ``explain=true`` (422 past it): each explanation carries a
    #: factor for every field, about 4 KB of JSON a house. test.csv's 1459 rows fit.
    max_explained_rows: int = Field(default=1500, ge=1)
    #: Characters in any string value (the spec's ``maxLength``; 400).
    max_string_length: int = Field(default=64, ge=8)
    #: Nesting of JSON arrays and objects; a valid request nests 2 deep (400).
    max_json_depth: int = Field(default=8, ge=2)
    #: Errors listed in one 400 (a field breaking two rules has two); past it the problem says
    #: the list is cut short.
    max_listed_errors: int = Field(default=1000, ge=1)
    #: Errors spelled out in a problem's one-line ``detail``.
    detail_errors: int = Field(default=10, ge=1)

    # The prediction store: every priced house remembered, sale prices joined back.
    #: Where the service keeps its own files: the default store, a SQLite file, is here.
    state_dir: Path = Path("state")
    #: The store's SQLAlchemy URL (``postgresql+psycopg://user:password@host/db``); by default
    #: ``sqlite:///<state_dir>/predictions.db``. Secret: it may carry a password.
    database_url: SecretStr | None = None
    #: Record every priced house (off the request path, in batches). Off: nothing is stored.
    recording: bool = True
    #: Houses a worker holds for the store while it is slow or down; past it, houses are
    #: counted as unrecorded (``ml_api_unrecorded_houses_total``). A queued house holds about
    #: 5 KB (its parsed details): 20,000 are about 100 MB at most, during an outage only.
    #: With a challenger, as many written houses may wait for its prices (api/store/shadow.py);
    #: past it they go without them, counted as its failures.
    record_buffer_houses: int = Field(default=20_000, ge=1)
    #: Houses written in one batch (one transaction); a challenger prices at most as many in
    #: one call (more only for a larger request).
    record_batch_houses: int = Field(default=2_000, ge=1)
    #: Seconds one statement of the store may take, waiting on a lock included (PostgreSQL's
    #: statement_timeout and lock_timeout, SQLite's busy timeout); past it the statement fails,
    #: as if the store were down: a sale or a monitoring window asked for is answered 503, the
    #: writer keeps its houses and tries again, and ``ml_api_database_up`` reads 0. Without
    #: it, a lock held elsewhere (or a partition) held each request, the writer and the
    #: monitor for as long, the gauge at 1. At most 25: a sale's few statements must be
    #: answered within the ingress's 30 s read timeout (deploy/kubernetes/base/ingress.yaml).
    store_statement_timeout: float = Field(default=STORE_STATEMENT_TIMEOUT, gt=0, le=25)
    #: Days a priced house (and its sale) is kept; older ones are pruned by the service.
    retention_days: int = Field(default=365, ge=1)
    #: Bearer tokens allowed to post sale prices (``POST /v1/sales``), comma-separated, each
    #: ``name:token`` or ``token`` (``FeedbackToken``). None: feedback is not enabled (403, a
    #: token sent or not: api/errors.py). Each is a bearer token as RFC 6750 writes one
    #: (``FEEDBACK_TOKEN_SYNTAX``; another could never be sent) of at least
    #: ``MIN_FEEDBACK_TOKEN_LENGTH`` characters, each name ``FEEDBACK_TOKEN_NAME_SYNTAX``'s; no
    #: two share a name, nor a token (whose sales would be told apart by nothing).
    feedback_tokens: Annotated[tuple[FeedbackToken, ...], NoDecode] = ()

    # Live monitoring (``GET /v1/monitoring`` and the ``ml_api_live_*`` gauges).
    #: The default window: the last this many priced houses, and the last this many sales.
    monitoring_predictions: int = Field(default=10_000, ge=MIN_MONITORING_WINDOW)
    monitoring_sales: int = Field(default=2_000, ge=MIN_MONITORING_WINDOW)
    #: The largest windows a client may ask for (computed on demand, one at a time a worker).
    max_monitoring_predictions: int = Field(default=100_000, ge=MIN_MONITORING_WINDOW)
    max_monitoring_sales: int = Field(default=20_000, ge=MIN_MONITORING_WINDOW)
    #: Seconds between refreshes of the default window's figures (and the gauges).
    monitoring_seconds: float = Field(default=30.0, gt=0)
    #: Sales of houses whose range was marked calibrated below which accuracy and coverage
    #: get no verdict (``not_enough_data``).
    monitoring_min_sales: int = Field(default=30, ge=1)
    #: Verdicts: live RMSLE and median error relative to training's (watch, alert above).
    error_ratio_watch: float = Field(default=1.25, gt=1)
    error_ratio_alert: float = Field(default=1.5, gt=1)
    #: Verdicts: live coverage of the 90% ranges (watch, alert below).
    coverage_watch: float = Field(default=0.85, gt=0, lt=1)
    coverage_alert: float = Field(default=0.80, gt=0, lt=1)
    #: Verdicts: the share of houses warned, as a multiple of training's (watch, alert above).
    warned_ratio_watch: float = Field(default=2.0, gt=1)
    warned_ratio_alert: float = Field(default=4.0, gt=1)
    #: Houses below which input drift, and the share of houses warned, get no verdict: a small
    #: window scores high by chance (the model package's drift.py measured it; its config.yml
    #: declares watch and alert).
    monitoring_min_drift_houses: int = Field(default=1000, ge=1)

    #: Origins of the web pages whose scripts may call the API from a browser (CORS), as a
    #: comma-separated list (``https://a.example,https://b.example``) or ``*`` for any. None by
    #: default: browsers then keep other sites' pages from reading the answers. An item that is
    #: no origin (``CORS_ORIGIN_SYNTAX``: a path, a missing scheme) matches no page: refused.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, values: Any) -> Any:
        """The deployment kind's defaults, under anything given or set in the environment."""
        if not isinstance(values, dict):
            return values
        environment = values.get("environment", "production")
        return {**ENVIRONMENT_DEFAULTS.get(environment, {}), **values}

    @field_validator("model_artifact", "challenger_artifact", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty value is no file (compose and Kubernetes pass an unset variable as ""),
        not the path "."."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _challenger_is_recorded(self) -> Settings:
        if self.challenger_artifact is not None and not self.recording:
            raise ValueError(
                "ML_API_CHALLENGER_ARTIFACT is set but ML_API_RECORDING is off: a challenger's "
                "prices are only kept in the prediction store"
            )
        return self

    @model_validator(mode="after")
    def _a_whole_body_fits_in_flight(self) -> Settings:
        """A body is claimed as it arrives: one larger than the worker's budget would be refused
        part way whenever another request held a byte."""
        if self.max_inflight_body_bytes < self.max_body_bytes:
            raise ValueError(
                "ML_API_MAX_INFLIGHT_BODY_BYTES is below ML_API_MAX_BODY_BYTES: a body the "
                "service takes would not fit in a worker's bytes in flight"
            )
        return self

    @model_validator(mode="after")
    def _store_requests_leave_threads(self) -> Settings:
        if self.max_inflight_store_requests >= REQUEST_THREADS:
            raise ValueError(
                f"ML_API_MAX_INFLIGHT_STORE_REQUESTS ({self.max_inflight_store_requests}) must "
                f"leave some of a worker's {REQUEST_THREADS} request threads to other requests"
            )
        return self

    @model_validator(mode="after")
    def _monitoring_can_judge(self) -> Settings:
        """Bounds under which a verdict could never be given, or never be ``watch``: a
        verdict passes watch on its way to alert; the default windows are windows a client
        may ask for, and hold the least a verdict rests on."""
        faults = [
            f"ML_API_{name}_WATCH ({watch:g}) is {side} ML_API_{name}_ALERT ({alert:g}): a "
            "figure must pass watch on its way to alert"
            for name, watch, alert, side in (
                ("ERROR_RATIO", self.error_ratio_watch, self.error_ratio_alert, "above"),
                ("WARNED_RATIO", self.warned_ratio_watch, self.warned_ratio_alert, "above"),
                ("COVERAGE", self.coverage_watch, self.coverage_alert, "below"),  # low is bad
            )
            if (watch > alert if side == "above" else watch < alert)
        ]
        faults += [
            f"ML_API_MONITORING_{kind} ({default}) is above ML_API_MAX_MONITORING_{kind} "
            f"({largest}), the largest window a worker computes"
            for kind, default, largest in (
                ("PREDICTIONS", self.monitoring_predictions, self.max_monitoring_predictions),
                ("SALES", self.monitoring_sales, self.max_monitoring_sales),
            )
            if default > largest
        ]
        faults += [
            f"ML_API_{least_name} ({least}) is above ML_API_MONITORING_{kind} ({window}): "
            "no verdict could ever be given"
            for least_name, least, kind, window in (
                ("MONITORING_MIN_SALES", self.monitoring_min_sales, "SALES", self.monitoring_sales),
                (
                    "MONITORING_MIN_DRIFT_HOUSES",
                    self.monitoring_min_drift_houses,
                    "PREDICTIONS",
                    self.monitoring_predictions,
                ),
            )
            if least > window
        ]
        if faults:
            raise ValueError("; ".join(faults))
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        """Refuse an item no browser sends as an Origin, by its place in the list, as the
        compose proxy refuses it (docker/nginx/cors-origins.sh): the api and the proxy start on
        the same lists."""
        faults = [
            f"item {place} is not an origin (scheme://host[:port])"
            for place, origin in enumerate(origins, start=1)
            if origin != "*" and not CORS_ORIGIN_SYNTAX.fullmatch(origin)
        ]
        if faults:
            raise ValueError("ML_API_CORS_ORIGINS: " + "; ".join(faults))
        return origins

    @field_validator("feedback_tokens", mode="before")
    @classmethod
    def _named_tokens(cls, entries: Any) -> Any:
        """Each listed entry (``_comma_list``'s items) as a ``FeedbackToken``, named by its
        place where it has no name."""
        entries = _comma_list(entries)
        if isinstance(entries, tuple | list):
            return tuple(
                FeedbackToken.parse(entry, place=place) if isinstance(entry, str) else entry
                for place, entry in enumerate(entries, start=1)
            )
        return entries

    @field_validator("feedback_tokens")
    @classmethod
    def _usable_tokens(cls, tokens: tuple[FeedbackToken, ...]) -> tuple[FeedbackToken, ...]:
        """Refuse a token that could never be sent, or that is short enough to guess, a name
        that is not one, a name or a token listed twice: by place in the list, or by name
        (not a secret), never quoting a token (nor a name refused: it may be one)."""
        faults = []
        for place, entry in enumerate(tokens, start=1):
            given = entry.named or entry.name != str(place)
            name_fault = FeedbackToken.name_fault(entry.name) if given else None
            if name_fault:
                faults.append(f"token {place} of {len(tokens)} has {name_fault}")
            value = entry.token.get_secret_value()
            if not FEEDBACK_TOKEN_SYNTAX.fullmatch(value):
                faults.append(
                    f"token {place} of {len(tokens)} has a character a bearer token cannot "
                    "(RFC 6750 2.1: letters, digits and - . _ ~ + /, then = signs)"
                )
            elif len(value) < MIN_FEEDBACK_TOKEN_LENGTH:
                faults.append(
                    f"token {place} of {len(tokens)} is {len(value)} characters long: at least "
                    f"{MIN_FEEDBACK_TOKEN_LENGTH}, hard to guess (e.g. openssl rand -hex 32)"
                )
        faults += _listed_twice(tokens)
        if faults:
            raise ValueError("ML_API_FEEDBACK_TOKENS: " + "; ".join(faults))
        return tokens

    @property
    def store_url(self) -> str:
        """The prediction store's URL: the setting, or the SQLite file in ``state_dir``."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.state_dir / 'predictions.db'}"


def _comma_list(value: Any) -> Any:
    """A comma-separated setting's items, stripped, the empty ones left out."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _listed_twice(tokens: tuple[FeedbackToken, ...]) -> list[str]:
    """The names, and the tokens, that more than one entry has: each said by its places (and a
    name by itself, a token never)."""
    faults = []
    for what, values in (
        ("name", [entry.name for entry in tokens]),
        ("token", [entry.token.get_secret_value() for entry in tokens]),
    ):
        places: dict[str, list[int]] = {}
        for place, value in enumerate(values, start=1):
            places.setdefault(value, []).append(place)
        for value, found in places.items():
            if len(found) > 1:
                listed = ", ".join(map(str, found[:-1])) + f" and {found[-1]}"
                # A token is never quoted, nor a name refused: it may be a token put where the
                # name goes.
                quotable = what == "name" and FeedbackToken.name_fault(value) is None
                faults.append(
                    f"tokens {listed} have the same {what}" + (f" ({value})" if quotable else "")
                )
    return faults


class ServerSettings(BaseSettings):
    """Settings of the gunicorn server, read by ``gunicorn.conf.py``."""

    model_config = SettingsConfigDict(env_prefix="ML_API_", frozen=True, extra="ignore")

    host: str = "0.0.0.0"  # a container's port must be reachable from outside it
    port: int = Field(default=5000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1)
    #: Seconds a worker may be silent before gunicorn kills and replaces it.
    timeout: int = Field(default=30, ge=1)
    #: Seconds in-flight requests get to finish once a worker's drain is over.
    graceful_timeout: int = Field(default=30, ge=1)
    #: Seconds a worker goes on accepting after SIGTERM, so that no queued request is reset.
    drain_seconds: float = Field(default=1.0, ge=0, le=10)
    #: Seconds an idle keep-alive connection is kept. A proxy in front must close its idle
    #: upstream connections sooner (nginx.conf's upstream keepalive_timeout: 4 s).
    keepalive: int = Field(default=5, ge=0)

    # Connection limits each worker keeps itself (api/connection_guard.py), for when no proxy
    # stands in front of it.
    #: Open connections (or requests in flight) past which a request gets 503 and Retry-After.
    #: Both workers' caps together stay under a container's 4096 file descriptors.
    max_connections: int = Field(default=1000, ge=1)
    #: Seconds a request line and headers may take to arrive whole (408, or a quiet close).
    header_timeout: float = Field(default=10.0, gt=0, le=300)
    #: Bytes of a request's line and headers in all (431 past it), and of any one of them (431,
    #: or 414 for the URL).
    max_header_bytes: int = Field(default=64 * 1024, ge=4096)
    max_header_field_bytes: int = Field(default=16 * 1024, ge=1024)
    #: malloc arenas a worker's threads share (glibc only; 0: glibc's default, 8 per core).
    #: Each arena keeps the memory its threads freed: fewer, a smaller worker (api/memory.py).
    malloc_arenas: int = Field(default=2, ge=0)
    #: Requests after which a worker is replaced (0: never); jitter staggers the replacements.
    max_requests: int = Field(default=20_000, ge=0)
    max_requests_jitter: int = Field(default=2_000, ge=0)

    @property
    def shutdown_seconds(self) -> int:
        """Seconds gunicorn's master waits after SIGTERM before it kills a worker still busy
        (its ``graceful_timeout``): the drain, then ``graceful_timeout`` for the requests in
        flight. Its clock starts at the signal, not at the drain's end: given
        ``graceful_timeout`` alone, a drain as long killed the workers mid-drain, with prices
        answered and not yet recorded."""
        return math.ceil(self.drain_seconds) + self.graceful_timeout
