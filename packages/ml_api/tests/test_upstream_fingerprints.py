"""Fingerprints of the framework code our modules override or rely on beyond its public API.

Where no public mechanism does the job (uvicorn has no hook for connection limits, Connexion's
body validators are extended through their ``_parse`` and ``_validate``, and an empty body
refused before their ``wrap_receive``'s own check, prometheus-client
observes one value at a time), our code subclasses the framework's own classes or leans on
how they work inside. Each record below hashes the
upstream source concerned, as last checked; an upgrade that changes it fails here, naming our
module, the upstream object, the version it was checked at, and what to re-check. Once
re-checked (and our code adjusted), record the new hash and version in the record.

A second test keeps the table complete: an underscore method of the frameworks overridden by a
class of ours must be one the table accounts for.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httptools
import pytest

import api
from api.connection_guard import PARSER_VERSION_REFUSAL

ROOT = Path(__file__).resolve().parent.parent

#: The packages whose internals the table covers (import names).
UPSTREAM = (
    "uvicorn",
    "uvicorn_worker",
    "gunicorn",
    "connexion",
    "a2wsgi",
    "starlette",
    "flask",
    "prometheus_client",
)


@dataclass(frozen=True)
class Fingerprint:
    """Upstream code that ``ours`` overrides or relies on, as it was when last checked."""

    #: ``module:qualname`` of the upstream class or function whose source is hashed.
    upstream: str
    #: The distribution that ships it, and its version when the hash was recorded.
    distribution: str
    checked_at: str
    sha256: str
    #: Our files that depend on it (paths under packages/ml_api).
    ours: tuple[str, ...]
    #: What to re-check in them when it changes.
    recheck: str


FINGERPRINTS: tuple[Fingerprint, ...] = (
    Fingerprint(
        upstream="uvicorn_worker:UvicornWorker",
        distribution="uvicorn-worker",
        checked_at="0.4.0",
        sha256="32ed327fe4494f82da8698b109d57e232958b5dc1612766fd48213a4b999c9c1",
        ours=("api/worker.py",),
        recheck=(
            "DrainingUvicornWorker.run and .serve replace UvicornWorker.run and _serve: carry "
            "over anything they now do (the event loop, the SIGQUIT handler, the boot-error "
            "exit); check that __init__ still hands CONFIG_KWARGS to uvicorn's Config after its "
            "own settings (the guarded http protocol rides there) and that init_signals still "
            "leaves SIGTERM and SIGINT to uvicorn's Server"
        ),
    ),
    Fingerprint(
        upstream="uvicorn.server:Server.serve",
        distribution="uvicorn",
        checked_at="0.54.0",
        sha256="112ef41af52167e35ebf82b8570d4aec9e64bdc952ed3905abb562fad5320ee5",
        ours=("api/worker.py",),
        recheck=(
            "DrainingServer: serve must still capture SIGTERM and SIGINT (capture_signals) for "
            "the whole of serving, so that they reach its handle_exit"
        ),
    ),
    Fingerprint(
        upstream="uvicorn.server:Server.capture_signals",
        distribution="uvicorn",
        checked_at="0.54.0",
        sha256="e1bbcd4770d1c8877454c17466d7bb229ec2cb9776e12703830ff64fc024758f",
        ours=("api/worker.py",),
        recheck=(
            "DrainingServer.handle_exit: SIGTERM and SIGINT must still go to handle_exit, and "
            "the signal it records be raised again once serving ends (the worker's exit)"
        ),
    ),
    Fingerprint(
        upstream="uvicorn.server:Server.handle_exit",
        distribution="uvicorn",
        checked_at="0.54.0",
        sha256="553276efa26e09ea84b4626425f1d03647f1b043084f5a42994f3ae7e0d1aa1e",
        ours=("api/worker.py",),
        recheck=(
            "DrainingServer.handle_exit calls it after the drain, from a timer thread: it must "
            "still only record the signal and set the flags (should_exit, force_exit) that the "
            "server's main loop polls"
        ),
    ),
    Fingerprint(
        upstream="uvicorn.server:Server.shutdown",
        distribution="uvicorn",
        checked_at="0.54.0",
        sha256="9b33c50562992b1e3cef2a9611408ece6c01d46ee17eaae2091b6091bf826eab",
        ours=("api/worker.py", "api/connection_guard.py"),
        recheck=(
            "it closes the listening sockets at once (why DrainingServer drains first), then "
            "calls each connection's shutdown (GuardedHttpToolsProtocol.shutdown keeps idle "
            "keep-alive connections open until their next response) and waits for the "
            "connections to close; under force_exit it must still skip the app's lifespan "
            "shutdown, which DrainingServer.shutdown then runs (self.lifespan.shutdown)"
        ),
    ),
    Fingerprint(
        upstream="uvicorn.protocols.http.httptools_impl:HttpToolsProtocol",
        distribution="uvicorn",
        checked_at="0.54.0",
        sha256="18fdf324b11bf160e38739eed01a48516b460be9e88f1e20e4546e7363fd9232",
        ours=("api/connection_guard.py", "api/logs.py"),
        recheck=(
            "the warning data_received logs of a request its parser refuses must still be "
            "logs.UVICORN_PARSER_REFUSAL (UpstreamNoiseFilter leaves it out); "
            "GuardedHttpToolsProtocol's overrides of connection_made (which puts a lingering "
            "wrapper in place of transport), connection_lost, data_received, on_message_begin, "
            "on_url, on_header (a field after on_headers_complete is a trailer, not passed on), "
            "on_headers_complete, on_body, on_message_complete, on_response_complete, shutdown "
            "and send_400_response (still uvicorn's one answer to a request its parser "
            "refuses, still called inside data_received's except HttpParserError, whose "
            "exception the guard reads to tell an unknown method or version), the parser "
            "callback it adds (on_chunk_header: the parser must still call "
            "the protocol's), eof_received (uvicorn's must still keep nothing open, the "
            "guard's keeping the connection for answers owed), and its use of url, app, loop, "
            "cycle (the last request read, answered last), pipeline (queued requests, newest "
            "first, the next started by on_response_complete), tasks, connections, "
            "expect_100_continue, headers and transport"
        ),
    ),
    Fingerprint(
        upstream="uvicorn.protocols.http.httptools_impl:RequestResponseCycle",
        distribution="uvicorn",
        checked_at="0.54.0",
        sha256="e67d470d435dcc1ce6de9773841524a4439a06afd3a7243e458dc7f7c952b310",
        ours=("api/connection_guard.py",),
        recheck=(
            "GuardedHttpToolsProtocol's use of cycle.keep_alive (set to False so that the "
            "response says Connection: close), cycle.response_started and "
            "cycle.response_complete, and that a cycle writes and closes through the "
            "protocol's transport (the lingering wrapper)"
        ),
    ),
    Fingerprint(
        upstream="connexion.validators.abstract:AbstractRequestBodyValidator",
        distribution="connexion",
        checked_at="3.3.0",
        sha256="bd67e82656ee483186af4e898804f30671a2ef9261e3aeb0adab779b65fa4f38",
        ours=("api/body_validation.py",),
        recheck=(
            "AllErrorsJSONBodyValidator's _parse and _validate: wrap_receive must still call "
            "_parse(stream, scope=scope) with the whole body's stream, then _validate(body) "
            "unless the body is None and nullable, and __init__ still set _schema, _nullable, "
            "_required and _encoding, which they read; its own wrap_receive, which refuses an "
            "empty required body before Connexion's, must still see what Connexion takes for "
            "one (a Content-Length of 0, the schema's default None)"
        ),
    ),
    Fingerprint(
        upstream="connexion.validators.json:JSONRequestBodyValidator",
        distribution="connexion",
        checked_at="3.3.0",
        sha256="05450b89d022b09805f40e4478c39e11f20807b418691098c02a9d0b82c4bbf2",
        ours=("api/body_validation.py",),
        recheck=(
            "AllErrorsJSONBodyValidator replaces its _parse and _validate whole: carry over any "
            "change made there (decoding, empty and null bodies, the problems raised)"
        ),
    ),
    Fingerprint(
        upstream="connexion.validators.parameter:ParameterValidator",
        distribution="connexion",
        checked_at="3.3.0",
        sha256="d338ed9bea35a31ceabefe293b07658d7cfc62d0a5a177df61331e7d5b80b57b",
        ours=("api/parameter_validation.py",),
        recheck=(
            "NamedParameterValidator overrides validate_parameter (a static method), which raises "
            "a ParameterProblem naming the parameter rather than returning a message: the "
            "validate_*_parameter methods must still call self.validate_parameter(type, value, "
            "param), from validate_request, where an exception goes on to the error handlers; "
            "carry over any change to how it validates (draft 4, with formats: ours is jsonschema-"
            "rs's; null and missing values). It overrides validate_query_parameter(param, request)"
            " too, reading the query as sent from request.scope before calling it: the method must"
            " keep that signature and still be called once per query parameter of the spec; and "
            "validate_query_parameter_list(request, security_params), whose result "
            "validate_request must still raise as ExtraParameterProblem (ours raises "
            "UnknownParametersProblem first, naming the query parameters of self.parameters, which"
            " __init__ must still group by where they are)"
        ),
    ),
    Fingerprint(
        upstream="starlette.middleware.cors:CORSMiddleware.simple_response",
        distribution="starlette",
        checked_at="1.10.0",
        sha256="b5f1ba42a43a3307a119944277117282c5691ff5a485d75bc5e563aa6515ad7f",
        ours=("api/cors.py", "api/connection_guard.py"),
        recheck=(
            "CorsMarked calls it (scope, receive, send, request_headers) for every request, "
            "preflights included, to mark the connection guard's 503 past the cap: it must "
            "still run the app with send wrapped by CORSMiddleware.send and answer nothing "
            "itself, as __call__ does for a request that is no preflight"
        ),
    ),
    Fingerprint(
        upstream="starlette.middleware.cors:CORSMiddleware.send",
        distribution="starlette",
        checked_at="1.10.0",
        sha256="e6a44d3c8abaeaa46ed88b3f3bd93218c2dca30937a84aec088a662e6f490292",
        ours=("api/cors.py", "api/connection_guard.py"),
        recheck=(
            "CorsMarked relies on it to add the policy's headers for the request's Origin "
            "(Access-Control-Allow-Origin for an allowed one, the exposed headers, Vary) to "
            "the start of any answer, as it does to the app's; tests/test_connection_limits.py "
            "checks the 503's"
        ),
    ),
    Fingerprint(
        upstream="connexion.frameworks.flask:FlaskJSONProvider",
        distribution="connexion",
        checked_at="3.3.0",
        sha256="e5dedbf6eafcedf3efa115f3bbeb8418b11e6232191faab25fc9f28c4c33b493",
        ours=("api/json_codec.py",),
        recheck=(
            "OrjsonProvider subclasses it and overrides loads only: what it adds must still "
            "come from its other methods (dumps, default)"
        ),
    ),
    Fingerprint(
        upstream="connexion.apps.flask:FlaskASGIApp.__init__",
        distribution="connexion",
        checked_at="3.3.0",
        sha256="cc0d31503b250f26d9374daa29a98738a27c1eb9c2f94cd9fc37264e1e734d0e",
        ours=("api/app.py", "api/json_codec.py"),
        recheck=(
            "create_app replaces the Flask app's JSON provider (app.app.json) with "
            "OrjsonProvider, a FlaskJSONProvider: Connexion must still install a "
            "FlaskJSONProvider there, and nothing else of the provider's"
        ),
    ),
    Fingerprint(
        upstream="prometheus_client.multiprocess:MultiProcessCollector.collect",
        distribution="prometheus-client",
        checked_at="0.26.0",
        sha256="86fc50ce2593e7a24d4bacf165dbc7dc7b24e017c7a7d79b282a48bd03e851f3",
        ours=("api/metrics.py",),
        recheck=(
            "WorkersFilesCollector does what collect does (every *.db file of the folder, "
            "merged with accumulate=True), over the files past their 8-byte header: carry over "
            "any change; once a release reads an empty file as no metrics "
            "(prometheus/client_python#1199), the library's collector can serve again"
        ),
    ),
    Fingerprint(
        upstream="prometheus_client.metrics:Histogram",
        distribution="prometheus-client",
        checked_at="0.26.0",
        sha256="652bd566f605bb420c1aadbea0fe2802db7c69b80d7705dd5fdb99d9a386d18a",
        ours=("api/metrics.py",),
        recheck=(
            "observe_all adds to _sum and _buckets what observe adds for each value: observe "
            "must still call _raise_if_not_observable, add the amount to _sum and 1 to the "
            "first of _buckets whose bound in _upper_bounds is at least the amount (no other "
            "state, such as a count of its own); tests/test_metrics.py compares the two"
        ),
    ),
)

#: Underscore methods of the frameworks that classes of ours override, by class. Each must be
#: covered by a fingerprint above, of the class that calls it.
PRIVATE_OVERRIDES: dict[str, frozenset[str]] = {
    "api.body_validation.AllErrorsJSONBodyValidator": frozenset({"_parse", "_validate"}),
}


def upstream_source(upstream: str) -> str:
    """The source text of ``module:qualname`` (of the function a decorator wraps, if any)."""
    module_name, _, qualname = upstream.partition(":")
    found: Any = importlib.import_module(module_name)
    for name in qualname.split("."):
        found = getattr(found, name)
    return inspect.getsource(inspect.unwrap(found))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("fingerprint", FINGERPRINTS, ids=lambda f: f.upstream)
def test_upstream_code_is_as_last_checked(fingerprint: Fingerprint) -> None:
    digest = sha256(upstream_source(fingerprint.upstream))
    if digest != fingerprint.sha256:
        installed = importlib.metadata.version(fingerprint.distribution)
        pytest.fail(
            f"{fingerprint.upstream} ({fingerprint.distribution}, checked at "
            f"{fingerprint.checked_at}, installed {installed}) changed: re-check "
            f"{' and '.join(fingerprint.ours)}: {fingerprint.recheck}. Then record sha256 "
            f'"{digest}" and checked_at "{installed}" in {Path(__file__).name}.',
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("line", "version"),
    [(b"GET / HTTP/1.2", "1.2"), (b"GET / HTTP/1.9", "1.9"), (b"GET / HTTP/3.0", "3.0")],
)
def test_httptools_refuses_an_unknown_version_as_the_guard_reads_it(
    line: bytes, version: str
) -> None:
    """The connection guard answers 505 to a request its parser refused with this reason, the
    version's digits read (``GuardedHttpToolsProtocol.send_400_response``): a new wording
    would turn them back into 400s, a version not parsed into a 505 naming another."""
    parser = httptools.HttpRequestParser(object())
    with pytest.raises(httptools.HttpParserError) as refused:
        parser.feed_data(line + b"\r\nHost: x\r\n\r\n")
    assert type(refused.value) is httptools.HttpParserError
    assert str(refused.value) == PARSER_VERSION_REFUSAL
    assert parser.get_http_version() == version
    for malformed in (b"GET / HTTP/1.x", b"GET / HTTP/12.0", b"GET / HTTP/1.10"):
        other = httptools.HttpRequestParser(object())
        with pytest.raises(httptools.HttpParserError) as refused:
            other.feed_data(malformed + b"\r\nHost: x\r\n\r\n")
        assert str(refused.value) != PARSER_VERSION_REFUSAL, malformed


def test_every_fingerprint_names_files_of_ours() -> None:
    missing = [path for f in FINGERPRINTS for path in f.ours if not (ROOT / path).is_file()]
    assert not missing
    assert len({f.upstream for f in FINGERPRINTS}) == len(FINGERPRINTS)


def _our_classes() -> list[type]:
    """Every class defined in the ``api`` package (``api.asgi`` builds the app: not imported)."""
    classes: list[type] = []
    for module_info in pkgutil.iter_modules(api.__path__, "api."):
        if module_info.name == "api.asgi":
            continue
        module = importlib.import_module(module_info.name)
        classes += [
            member
            for member in vars(module).values()
            if inspect.isclass(member) and member.__module__ == module.__name__
        ]
    return classes


def _private_overrides(cls: type) -> frozenset[str]:
    """Underscore (not dunder) names that ``cls`` defines and an upstream base defines too."""
    upstream_bases = [
        base for base in cls.__mro__[1:] if base.__module__.partition(".")[0] in UPSTREAM
    ]
    return frozenset(
        name
        for name in vars(cls)
        if name.startswith("_")
        and not name.startswith("__")
        and any(name in vars(base) for base in upstream_bases)
    )


def test_every_private_override_is_fingerprinted() -> None:
    found = {
        f"{cls.__module__}.{cls.__qualname__}": overrides
        for cls in _our_classes()
        if (overrides := _private_overrides(cls))
    }
    assert found == PRIVATE_OVERRIDES, (
        "a class of ours overrides underscore methods of a framework other than those listed in "
        "PRIVATE_OVERRIDES: use a public mechanism, or fingerprint the upstream code that calls "
        "them and list them"
    )
