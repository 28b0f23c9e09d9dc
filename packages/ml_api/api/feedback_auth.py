"""Who may post sale prices back: a bearer token among ``ML_API_FEEDBACK_TOKENS``.

The spec declares the scheme (``feedbackToken``) and names ``token_info`` as its check, which
Connexion calls with the token and the request. The tokens come from the worker's
``FeedbackTokens``, which the app's lifespan puts in each request's state (no global). A token
is compared with each configured one in constant time (``hmac.compare_digest``), all of them
every time. With no token configured, feedback is not enabled: 403. A token taken is counted
by its place in the list (``ml_api_feedback_token_uses_total``), so that an operator rotating
tokens (the new one added, the clients moved, the old one removed) sees when the old one is no
longer sent. A missing or wrong token,
or two Authorization fields: 401, with ``WWW-Authenticate`` (api/errors.py adds it to every
401). Where the token is optional (``GET /v1/monitoring``: the spec's security lists it, then
``{}``), Connexion lets such a request through as no one, and the handler asks
``is_feedback_bearer`` for what only a bearer may have.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connexion.context import context
from pydantic import SecretStr

from api.metrics import FEEDBACK_TOKEN_USES
from api.problems import FeedbackDisabledProblem

#: Who a request that sent a feedback token is (Connexion's ``context["user"]``).
SUBJECT = "feedback"
#: The key of ``FeedbackTokens`` in the lifespan's state.
STATE_KEY = "feedback_tokens"


@dataclass(frozen=True)
class FeedbackTokens:
    tokens: Sequence[SecretStr]

    def place(self, token: str) -> int | None:
        """The place (from 1) of ``token`` among the tokens, or ``None``: compared with every
        one in constant time, so that neither a match nor its place shows in the time taken."""
        given = token.encode()
        matches = [hmac.compare_digest(given, t.get_secret_value().encode()) for t in self.tokens]
        return next((place for place, match in enumerate(matches, start=1) if match), None)


def token_info(token: str, request: Any) -> dict[str, Any] | None:
    """Connexion's ``x-bearerInfoFunc``: who the token is, or ``None`` (401) if no one.

    The whitespace around a field's value is not part of it (RFC 9110 5.5; a bearer token has
    none), and a request with two Authorization fields names no one (Connexion reads the first,
    so a wrong one behind a right one passed, and a right one behind a wrong one did not)."""
    tokens: FeedbackTokens = getattr(request.state, STATE_KEY)
    if not tokens.tokens:
        raise FeedbackDisabledProblem()
    if len(request.headers.getlist("authorization")) != 1:
        return None
    place = tokens.place(token.strip(" \t"))
    if place is None:
        return None
    FEEDBACK_TOKEN_USES.labels(token=str(place)).inc()
    return {"sub": SUBJECT}


def is_feedback_bearer() -> bool:
    """Whether the request being handled sent one of the feedback tokens (``token_info``'s
    subject in Connexion's context, which the security check fills in)."""
    return bool(context.get("user") == SUBJECT)


#: Feedback not enabled: no token.
NO_FEEDBACK = FeedbackTokens(())
