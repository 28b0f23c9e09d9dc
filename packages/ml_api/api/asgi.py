"""The ASGI entry point gunicorn serves: ``api.asgi:app``, settings from ``ML_API_ENVIRONMENT``."""

from __future__ import annotations

import os

from api.app import create_app
from api.config import settings_for

app = create_app(settings_for(os.environ.get("ML_API_ENVIRONMENT", "production")))
