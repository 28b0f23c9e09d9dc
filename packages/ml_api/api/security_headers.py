"""The headers every answer carries so that a browser neither misreads, frames nor keeps it.

An answer of the API (a price, a problem, the model's card, the metrics) is data for a program:
a browser must not guess another type for it (``nosniff``), run anything in it or show it in
a frame (a policy of nothing at all, as OWASP's REST cheat sheet advises), and no cache should
keep it (a price is recorded under the id it was answered with; the card and the monitoring
change with the model and the traffic). Swagger UI's page at ``/ui`` is a page: its policy lets
it load its own scripts, styles and images, and fetch the spec and try the API on this origin;
its inline start-up script and style (Connexion's template) need ``'unsafe-inline'``. Its files
are static, and may be cached as usual; a refusal under ``/ui`` (a file it lacks) is a problem
document, and gets the API's headers.

``RequestContextMiddleware`` adds them to every answer of the app, errors included (one wrapper
of ``send`` a request, not a middleware of its own), and the connection guard to its 503.
"""

from __future__ import annotations

from collections.abc import Sequence

Header = tuple[bytes, bytes]

_NEVER_FRAMED: tuple[Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)

#: The API's answers: data, never run, framed or kept.
API_HEADERS: tuple[Header, ...] = (
    *_NEVER_FRAMED,
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
)

#: Swagger UI (``/ui/``): its own files, its inline start-up, the API tried on this origin.
UI_HEADERS: tuple[Header, ...] = (
    *_NEVER_FRAMED,
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
        b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
)


def security_headers(*, ui: bool) -> Sequence[Header]:
    """The headers of an answer: Swagger UI's (``ui``) or the API's."""
    return UI_HEADERS if ui else API_HEADERS
