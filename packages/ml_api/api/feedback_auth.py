"""Who may post sale prices back: a bearer token among ``ML_API_FEEDBACK_TOKENS``.

The spec declares the scheme (``feedbackToken``) and names ``token_info`` as its check, which
Connexion calls with the token and the request. The tokens come from the worker's
``FeedbackTokens``, which the app's lifespan puts in each request's state (no global). A token is
compared with each configured one in constant time (``hmac.compare_digest``), all of them every
time. With no token configured, feedback is not enabled: 403, a token sent or not (Connexion
answers a request that sends none 401 before it calls ``token_info``, and api/errors.py makes that
403 too: no token could be taken, and the 401 told the client to send one). A token taken names who
holds it (``config.FeedbackToken``: the name given in the list, or its place there), which
``token_info`` writes in the request's ``RequestContext`` (``client``): each sale posted is stored
with it (``feedback_client``), the access log's line carries it, and the token's uses are counted
by it (``ml_api_feedback_token_uses_total``), so that an operator rotating tokens (the new one
added, the clients moved, the old one removed) sees when the old one is no longer sent. A missing
or wrong token, or two Authorization fields: 401, with ``WWW-Authenticate`` (api/errors.py adds it
to every 401). Where the token is optional (``GET /v1/monitoring``: the spec's security lists it,
then ``{}``), Connexion lets such a request through as no one, and the handler asks
``is_feedback_bearer`` for what only a bearer may have.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.config import FeedbackToken
from api.metrics import FEEDBACK_TOKEN_USES
from api.problems import FeedbackDisabledProblem
from api.request_context import current_request

#: Who a request that sent a feedback token is, as Connexion's security is told
#: (``token_info``'s answer; the holder's name is the request's ``client``).
SUBJECT = "feedback"
#: The key of ``FeedbackTokens`` in the lifespan's state.
STATE_KEY = "feedback_tokens"


@dataclass(frozen=True)
class FeedbackTokens:
    tokens: Sequence[FeedbackToken]

    def holder(self, token: str) -> str | None:
        """The name of who holds ``token``, or ``None``: compared with every token in constant
        time, so that neither a match nor its place shows in the time taken."""
        given = token.encode()
        holders = [
            entry.name
            for entry in self.tokens
            if hmac.compare_digest(given, entry.token.get_secret_value().encode())
        ]
        return holders[0] if holders else None  # one at most: no two entries share a token


def token_info(token: str, request: Any) -> dict[str, Any] | None:
    """Connexion's ``x-bearerInfoFunc``: who the token is, or ``None`` (401) if no one.

    The whitespace around a field's value is not part of it (RFC 9110 5.5; a bearer token has
    none), and a request with two Authorization fields names no one (Connexion reads the first,
    so a wrong one behind a right one passed, and a right one behind a wrong one did not)."""
    tokens = _tokens(request)
    if not tokens.tokens:
        raise FeedbackDisabledProblem()
    if len(request.headers.getlist("authorization")) != 1:
        return None
    name = tokens.holder(token.strip(" \t"))
    if name is None:
        return None
    FEEDBACK_TOKEN_USES.labels(token=name).inc()
    request_context = current_request()
    if request_context is not None:
        request_context.client = name
    return {"sub": SUBJECT}


def feedback_enabled(request: Any) -> bool:
    """Whether the server takes feedback tokens at all (any configured), for ``request``."""
    return bool(_tokens(request).tokens)


def _tokens(request: Any) -> FeedbackTokens:
    """The tokens the app's lifespan put in ``request``'s state; none where it put none (no
    token can then be taken: feedback is off, not a 500)."""
    tokens: FeedbackTokens = getattr(request.state, STATE_KEY, NO_FEEDBACK)
    return tokens


def _taken_client() -> str | None:
    """The name of the feedback token the request being handled sent, which ``token_info``
    wrote in the request's context; ``None`` if none was taken."""
    request = current_request()
    return None if request is None else request.client


def is_feedback_bearer() -> bool:
    """Whether the request being handled sent one of the feedback tokens."""
    return _taken_client() is not None


def feedback_client() -> str:
    """The name of the feedback token the request being handled sent.

    Raises
    ------
    RuntimeError
        If the request sent none: a handler that asks without the spec's security demanding a
        token is a bug, answered as a 500 (no sale is stored as no one's).
    """
    client = _taken_client()
    if client is None:
        raise RuntimeError("no feedback token was taken for this request")
    return client


#: Feedback not enabled: no token.
NO_FEEDBACK = FeedbackTokens(())
