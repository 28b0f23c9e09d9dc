"""Error handlers: every error leaves as ``application/problem+json`` and is logged once.

They replace Connexion's defaults, which log some errors twice and others not at all. Clients
get the problem and the ``X-Request-ID`` to quote; the server log gets the same id, and a stack
trace only for a 500, which never reaches the client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from connexion import FlaskApp
from connexion.exceptions import InternalServerError, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.problem import problem
from gradient_boosting_model.errors import InvalidInputError
from starlette.exceptions import HTTPException

from api.metrics import REFUSED_FIELDS, field_label
from api.problems import InvalidHousesProblem, from_row_errors

logger = logging.getLogger(__name__)


def _refused(request: ConnexionRequest, status: int, detail: object) -> None:
    logger.info("refused %s %s: %s %s", request.method, request.url.path, status, detail)


def register_error_handlers(app: FlaskApp, *, listed_limit: int, detail_limit: int) -> None:
    """Map every exception to a problem; unexpected ones to a bare 500.

    The spec's checks run first (400); what still fails the model's own schema is a house that
    matches the spec but breaks a house-level rule: 422.
    """

    def known_problem(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, ProblemException)
        _refused(request, error.status, error.detail)
        if error.status in (400, 413, 422):  # a request refused for what it carries
            for field in (error.ext or {}).get("errors") or [{"row": None, "field": None}]:
                REFUSED_FIELDS.labels(field_label(field["field"], field["row"])).inc()
        return error.to_problem()

    def http_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, HTTPException)
        _refused(request, error.status_code, error.detail)
        return problem(
            status=error.status_code,
            title=HTTPStatus(error.status_code).phrase,
            detail=error.detail,
            headers=error.headers,
        )

    def invalid_input(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, InvalidInputError)
        found = InvalidHousesProblem(
            from_row_errors(error.errors),
            listed_limit=listed_limit,
            detail_limit=detail_limit,
            status=422,
        )
        if not error.errors:  # a batch-level refusal (empty, not a list)
            found.detail = str(error)
        return known_problem(request, found)

    def unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        logger.error("failed %s %s", request.method, request.url.path, exc_info=error)
        return InternalServerError(detail="The server could not complete the request.").to_problem()

    app.add_error_handler(ProblemException, known_problem)
    app.add_error_handler(HTTPException, http_error)
    app.add_error_handler(InvalidInputError, invalid_input)
    app.add_error_handler(Exception, unexpected)
