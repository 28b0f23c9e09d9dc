"""Error handlers: every error leaves as ``application/problem+json`` and is logged once.

They replace Connexion's defaults, which log some errors twice and others not at all. Clients
get the problem and the ``X-Request-ID`` to quote; the server log gets the same id, and a stack
trace only for a 500, which never reaches the client.

Nothing a client sent reaches the log: a problem's detail quotes values (``-5 is less than the
minimum of 0``, a whole house sent as an object, a query value) and stays in the answer. The
log line names the route, the status, for invalid houses each bad field's row and name, and
for a refused parameter its place and name (``query parameter predictions``); a name the
schema does not know is logged as ``_unknown`` (a client can put anything in a name), as in
the metrics, and unknown query parameters are counted, not named. A 500 logs the stack and
the exceptions' types, not their messages.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from connexion import FlaskApp
from connexion.exceptions import (
    InternalServerError,
    OAuthProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from starlette.exceptions import HTTPException

from api.feedback_auth import feedback_enabled
from api.metrics import REFUSED_FIELDS, field_label
from api.problems import (
    ApiProblem,
    FeedbackDisabledProblem,
    MethodNotAllowedProblem,
    UnacceptedMediaTypeProblem,
)
from api.request_context import UNMATCHED, current_request

logger = logging.getLogger(__name__)


def _route() -> str:
    """The spec's route of the current request, or ``unmatched`` (never the path as sent)."""
    request = current_request()
    return request.route if request is not None else UNMATCHED


def _bad_fields(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each bad field of a refusal's ``errors`` once (a field breaking two rules has two
    errors), by row and its metrics label (``field_label``: nothing a client made up)."""
    once = dict.fromkeys((e["row"], e["field"]) for e in errors)
    return [{"row": row, "field": field_label(field, row)} for row, field in once]


def _refused(
    request: ConnexionRequest,
    status: int,
    reason: str,
    labelled: Sequence[dict[str, Any]] = (),
    problem_fields: Mapping[str, Any] | None = None,
) -> None:
    """One line for a refused request: its route, status and reason, for invalid houses each
    bad field's row and label (``_bad_fields``), and the problem's own ``problem_fields``
    (``ApiProblem.log_fields``: a refused parameter's place and name). ``reason`` and
    ``problem_fields`` must carry nothing the client sent."""
    where = ", ".join(
        f"row {f['row']} {f['field']}" if f["row"] is not None else f["field"] for f in labelled
    )
    route = _route()
    extra = {**(problem_fields or {}), "route": route, "status": status, "fields": labelled}
    logger.info(
        "refused %s %s: %s %s%s",
        request.method,
        route,
        status,
        reason,
        f": {where}" if where else "",
        extra=extra,
    )


def _reason(error: ProblemException | HTTPException, status: int) -> str:
    """What to log for a refusal: this API's problems say (``ApiProblem.log_reason``); of
    Connexion's and Starlette's, whose details may quote the request, only the status."""
    if isinstance(error, ApiProblem):
        return error.log_reason()
    return HTTPStatus(status).phrase


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _stack(error: BaseException) -> str:
    """Where ``error``, and each error it came from, was raised: a traceback with the
    exceptions' types but not their messages, which can quote the request."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "\nwhich led to:\n".join(
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(raised.__traceback__))
        + _type_name(raised)
        for raised in reversed(chain)
    )


def _challenge(request: ConnexionRequest) -> str:
    """A 401's ``WWW-Authenticate``: the scheme and realm, and, to a request that sent a bearer
    token, that it is not one taken (RFC 6750 3.1: no error code to one that sent none)."""
    parts = request.headers.get("authorization", "").split(maxsplit=1)  # as Connexion splits it
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return 'Bearer realm="feedback", error="invalid_token"'
    return 'Bearer realm="feedback"'


def register_error_handlers(app: FlaskApp) -> None:
    """Map every exception to a problem (api/problems.py, Connexion's, Starlette's); unexpected
    ones to a bare 500."""

    def known_problem(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, ProblemException)
        if isinstance(error, OAuthProblem) and not feedback_enabled(request):
            # Connexion's 401 to a request that sent no bearer token: none could be taken here.
            # (Connexion's own log line still says "Aborting with 401": the answer is this 403.)
            error = FeedbackDisabledProblem()
        elif isinstance(error, UnsupportedMediaTypeProblem):  # Connexion's; ours are ApiProblems
            sent = request.headers.get("content-type", "").split(";")[0].strip()
            error = UnacceptedMediaTypeProblem(sent)
        bad = _bad_fields((error.ext or {}).get("errors") or [])
        logged = error.log_fields() if isinstance(error, ApiProblem) else None
        _refused(request, error.status, _reason(error, error.status), bad, logged)
        if error.status in (400, 413, 422):  # a request refused for what it carries
            for field in bad or [{"row": None, "field": field_label(None, None)}]:
                REFUSED_FIELDS.labels(field["field"]).inc()
        if error.status == 401:  # RFC 9110: a 401 says how to authenticate
            error.headers = {**(error.headers or {}), "WWW-Authenticate": _challenge(request)}
        return error.to_problem()

    def http_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, HTTPException)
        _refused(request, error.status_code, _reason(error, error.status_code))
        allowed = (error.headers or {}).get("Allow")
        if error.status_code == 405 and allowed:  # the router's, whose detail was its title
            # Starlette lists the methods from a set: in one order, whatever the worker.
            methods = sorted(method.strip() for method in allowed.split(","))
            return MethodNotAllowedProblem(", ".join(methods)).to_problem()
        return problem(
            status=error.status_code,
            title=HTTPStatus(error.status_code).phrase,
            detail=error.detail,
            headers=error.headers,
        )

    def unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        logger.error(
            "failed %s %s: %s",
            request.method,
            _route(),
            _type_name(error),
            extra={"route": _route(), "status": 500, "stack": _stack(error)},
        )
        return InternalServerError(detail="The server could not complete the request.").to_problem()

    app.add_error_handler(ProblemException, known_problem)
    app.add_error_handler(HTTPException, http_error)
    app.add_error_handler(Exception, unexpected)
