"""Property-based tests of the whole API, generated from the spec it serves (schemathesis).

Every operation gets positive and negative examples, and every built-in check runs: no server
error; status codes, content types, headers and bodies that conform to the spec; data the spec
forbids refused, data it allows accepted. Bounded: a fixed number of examples, derandomized.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from connexion import FlaskApp
from hypothesis import HealthCheck, settings

from api.config import Settings
from api.spec_document import read_spec
from tests.conftest import FEEDBACK_TOKEN

pytestmark = pytest.mark.integration

# The cases are made from the document the app serves (a test checks they are equal), read at
# import without the model; each is sent to the session's app. (schemathesis' fixture-based
# loader relies on a pytest internal that pytest 9.2 removed.)
CONFIG = Path(__file__).resolve().parent.parent / "schemathesis.toml"
schema = schemathesis.openapi.from_dict(
    read_spec(Settings(environment="testing")),
    config=schemathesis.config.SchemathesisConfig.from_path(CONFIG),
)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_honours_its_spec(case: schemathesis.Case[Any], app: FlaskApp) -> None:
    # The session app's feedback token: with any other, posting sales is refused (401).
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {FEEDBACK_TOKEN}"})
