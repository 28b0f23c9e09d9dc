"""The ASGI entry point gunicorn serves: ``api.asgi:app``, with the ``ML_API_*`` settings.

A start that cannot succeed (a setting refused, a model file missing, corrupt or of another
scikit-learn, a store out of reach or behind its migrations, a challenger of the served
version) ends here in one sentence that names what to fix: gunicorn printed each as a
traceback of 60 to 90 lines, its message last (a release probe's).
"""

from __future__ import annotations

from gradient_boosting_model import ModelError
from pydantic import ValidationError

from api.app import create_app
from api.config import Settings
from api.store.database import StoreError

try:
    #: The settings the app is built with; the workers' connection guard takes its CORS policy
    #: from them too (api/worker.py).
    settings = Settings()
    app = create_app(settings)
except (ModelError, StoreError, ValidationError) as error:
    raise SystemExit(f"ml_api cannot start: {error}") from None
