"""The ASGI entry point gunicorn serves: ``api.asgi:app``, with the ``ML_API_*`` settings."""

from __future__ import annotations

from api.app import create_app
from api.config import Settings

app = create_app(Settings())
