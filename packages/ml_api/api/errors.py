"""Error handlers: every error leaves as ``application/problem+json``, never a stack trace."""

from __future__ import annotations

import logging

from connexion import FlaskApp
from connexion.exceptions import InternalServerError
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from gradient_boosting_model.errors import InvalidInputError

from api.problems import InvalidHousesProblem, from_row_errors

logger = logging.getLogger(__name__)


def register_error_handlers(app: FlaskApp, *, detail_limit: int) -> None:
    """Map the model package's refusals to 400 and anything unexpected to a bare 500."""

    def invalid_input(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, InvalidInputError)
        problem = InvalidHousesProblem(from_row_errors(error.errors), detail_limit=detail_limit)
        if not error.errors:  # a batch-level refusal (empty, not a list)
            problem.detail = str(error)
        logger.info("refused %s: %s", request.url.path, problem.detail)
        return problem.to_problem()

    def unexpected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        logger.error("unhandled error on %s", request.url.path, exc_info=error)
        return InternalServerError(detail="The server could not complete the request.").to_problem()

    app.add_error_handler(InvalidInputError, invalid_input)
    app.add_error_handler(Exception, unexpected)
