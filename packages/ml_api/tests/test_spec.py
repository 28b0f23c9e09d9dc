"""The served contract: valid OpenAPI 3.0, in step with the model's schema, with a working UI."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
import yaml
from gradient_boosting_model.config import FittedOn, load_config
from gradient_boosting_model.fields import JsonNumber, WholeNumber, count
from gradient_boosting_model.schemas import HOUSE_FIELDS, ID_FIELD, REQUIRED_FIELDS
from gradient_boosting_model.tolerances import json_differences
from marshmallow import validate
from openapi_spec_validator import validate as validate_openapi
from openapi_spec_validator.validation import OpenAPIV30SpecValidator
from starlette.testclient import TestClient

from api import config
from api.config import ServerSettings
from api.problems import HeadTooLargeProblem, UriTooLongProblem
from api.spec_document import (
    SPEC_PATH,
    example_houses,
    operations,
    read_spec,
    request_examples,
    request_limits,
)
from tests.houses import without_ids
from tools import house_spec

SPEC = read_spec(config.Settings(environment="testing"))
HOUSE = SPEC["components"]["schemas"]["HouseDetails"]


@pytest.mark.integration
def test_swagger_ui_is_served(client: TestClient) -> None:
    response = client.get("/ui/")
    assert response.status_code == 200
    assert "swagger-ui" in response.text


@pytest.mark.integration
def test_served_spec_is_valid_openapi_3_0(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.0")
    validate_openapi(spec, cls=OpenAPIV30SpecValidator)


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/openapi.json", "/openapi.yaml"])
def test_the_documents_paths_take_get_and_head_only(client: TestClient, path: str) -> None:
    """RFC 9110 (15.5.6): a path that exists answers another method 405 naming the ones it
    takes (they were 404, as if the document were not there)."""
    assert client.head(path).status_code == 200
    for method in ("POST", "PUT", "DELETE"):
        refused = client.request(method, path)
        assert refused.status_code == 405, method
        assert refused.headers["allow"] == "GET, HEAD"
        assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/v1/predictions", "POST"), ("PUT", "/health", "GET, HEAD")],
)
def test_an_operations_path_says_which_methods_it_takes(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    """The router's 405 said only its title ("Method Not Allowed") as its detail (a probe's):
    it says what the spec document's 405 says."""
    refused = client.request(method, path)
    assert refused.status_code == 405
    assert refused.headers["allow"] == allowed
    assert refused.json()["detail"] == f"This path takes {allowed} only."


def test_the_spec_file_is_plain_openapi_3_0() -> None:
    """No template: any OpenAPI tool reads the file as it is."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert "{{" not in text
    validate_openapi(yaml.safe_load(text), cls=OpenAPIV30SpecValidator)


def test_the_spec_file_is_what_make_spec_writes() -> None:
    """``HouseDetails`` is generated from the model package's schema: edit that, then run
    ``make spec``."""
    current = SPEC_PATH.read_text(encoding="utf-8")
    assert house_spec.spec_text(current) == current, "api.yaml is out of date: run `make spec`"


@pytest.mark.parametrize(
    ("written", "edited"),
    [
        ("Lot size in square feet.", "Lot size in acres."),
        # The hand-written part's copies of a limit: a contributor's trial changed
        # ML_API_MAX_ROWS and `make spec`, which left the sales' and GET /v1/model's at 5000.
        ("maxItems: {max_rows}\n      x-row-noun: sale", "maxItems: 7\n      x-row-noun: sale"),
        ("max_rows:\n              type: integer\n              example: {max_rows}", "7"),
        ("minimum: 10\n            maximum: {max_monitoring_sales}", "20"),
        # The smallest window, config.MIN_MONITORING_WINDOW, was once copied here by hand.
        (
            "minimum: 10\n            maximum: {max_monitoring_predictions}",
            "minimum: 3\n            maximum: {max_monitoring_predictions}",
        ),
    ],
    ids=["generated", "sales", "model-card-example", "monitoring-window", "smallest-window"],
)
def test_make_spec_notices_a_hand_edit(written: str, edited: str) -> None:
    current = SPEC_PATH.read_text(encoding="utf-8")
    written = written.format(**request_limits(config.Settings()))
    if edited.isdigit():  # the same text, that value replaced
        edited = written.rpartition(" ")[0] + " " + edited
    else:
        edited = edited.format(**request_limits(config.Settings()))
    assert current.count(written) == 1, written
    assert house_spec.spec_text(current.replace(written, edited)) == current


def test_make_spec_makes_again_a_limit_removed_below_the_marker() -> None:
    """The part below the marker is made anew, its limits with it: a ``maxLength`` removed
    there by hand was refused ("no .../maxLength to write its limit into: add it"), where
    the file says not to edit that part and ``make spec`` to make it."""
    current = SPEC_PATH.read_text(encoding="utf-8")
    head, marker, generated = current.partition(house_spec.MARKER)
    limit = f"\n          maxLength: {config.Settings().max_string_length}\n"
    assert limit in generated
    edited = head + marker + generated.replace(limit, "\n", 1)
    assert house_spec.spec_text(edited) == current


def test_make_spec_names_a_field_test_csv_gives_no_example_of(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A field added to the model's schema alone (a contributor's trial) stopped `make spec`
    on a bare KeyError."""
    added = {**HOUSE_FIELDS, "MadeUpSolarPanels": count("Number of solar panels", maximum=200)}
    monkeypatch.setattr(house_spec, "HOUSE_FIELDS", added)
    assert house_spec.main(["--check"]) == 1
    assert capsys.readouterr().err == (
        f"{SPEC_PATH} cannot be made: test.csv gives no value of MadeUpSolarPanels, whose "
        "example in the spec is its first value there: add the field's values to the model "
        "package's datasets\n"
    )


@pytest.mark.integration
def test_served_spec_keeps_named_components_and_its_server(client: TestClient) -> None:
    """A client generated from it gets ``HouseDetails`` and ``Problem``; Swagger UI's "Servers"
    box shows this service."""
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/predictions"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictionRequest"}
    assert spec["components"]["schemas"]["PredictionRequest"]["items"] == {
        "$ref": "#/components/schemas/HouseDetails"
    }
    assert operation["responses"]["400"] == {"$ref": "#/components/responses/BadRequest"}
    assert spec["servers"] == [{"url": "/", "description": "this service"}]
    assert spec == SPEC
    assert yaml.safe_load(client.get("/openapi.yaml").text) == SPEC


@pytest.mark.integration
def test_the_request_example_is_accepted(client: TestClient) -> None:
    """Swagger UI's "Try it out" sends this example untouched."""
    example = example_houses(SPEC)
    response = client.post("/v1/predictions", json=example)
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == len(example)


@pytest.mark.integration
def test_the_response_examples_are_what_the_service_answers(client: TestClient) -> None:
    """Each 200 example answers the request example of the same name (the explained one, the
    ordinary house with ``explain=true``, its factors cut to the first few), as a model trained
    on any machine answers it: prices to the cent, other floats to their last bits
    (``gradient_boosting_model.tolerances``)."""
    operation = SPEC["paths"]["/v1/predictions"]["post"]
    shown = operation["responses"]["200"]["content"]["application/json"]["examples"]
    requests = request_examples(SPEC)
    assert set(shown) == {*requests, "explained"}
    for name, houses in requests.items():
        answer = without_ids(client.post("/v1/predictions", json=houses).json())
        assert json_differences(without_ids(shown[name]["value"]), answer) == [], name
    explained = without_ids(shown["explained"]["value"])
    actual = without_ids(
        client.post("/v1/predictions?explain=true", json=requests["ordinary"]).json()
    )
    cut = len(explained["explanations"][0]["factors"])
    actual["explanations"][0]["factors"] = actual["explanations"][0]["factors"][:cut]
    assert json_differences(explained, actual) == []


@pytest.mark.integration
def test_the_problem_examples_are_what_the_service_answers(client: TestClient) -> None:
    """Each refusal's example is the answer to the request described beside it."""
    house = request_examples(SPEC)["ordinary"][0]
    json_body = {"content-type": "application/json"}
    requests: dict[str, dict[str, Any]] = {
        "BadRequest": {"json": [{**house, "GrLivArea": -5, "Neighborhood": "Atlantis"}]},
        "UnprocessableHouses": {"json": [{**house, "YearBuilt": 2015}]},
        "UnsupportedMediaType": {"content": b"x", "headers": {"content-type": "text/plain"}},
        "PayloadTooLarge": {"content": b"[" + b" " * 10 * 2**20 + b"]", "headers": json_body},
    }
    for name, request in requests.items():
        response = SPEC["components"]["responses"][name]["content"]["application/problem+json"]
        answer = client.post("/v1/predictions", **request)
        assert answer.json() == response["example"], name


@pytest.mark.integration
def test_the_model_cards_summary_is_the_served_cards(client: TestClient) -> None:
    """``ModelCard.summary`` is written by hand: its subjects and their examples are the served
    card's (``card_summary``'s), so a retrained model fails this until the spec says its
    figures, and a subject added or renamed until the spec names it."""
    described = SPEC["components"]["schemas"]["ModelCard"]["properties"]["summary"]
    served = client.get("/v1/model").json()["summary"]
    examples = {name: prop["example"] for name, prop in described["properties"].items()}
    assert examples == served
    assert set(described["required"]) <= set(served)


def test_the_head_refusals_examples_quote_the_default_server_s_limit() -> None:
    """The connection guard answers 414 and 431 with a server setting's limit, out of reach of
    the in-process client whose answers the other examples are compared with: the examples'
    16384 was a copy that nothing checked."""
    limit = ServerSettings().max_header_field_bytes
    answers = {
        "UriTooLong": UriTooLongProblem(limit),
        "RequestHeaderFieldsTooLarge": HeadTooLargeProblem(f"{limit} bytes in one field"),
    }
    for name, problem in answers.items():
        example = SPEC["components"]["responses"][name]["content"]["application/problem+json"]
        expected = {"title": problem.title, "status": problem.status, "detail": problem.detail}
        assert {key: example["example"][key] for key in expected} == expected, name


def test_the_model_card_states_the_scale_of_a_grade_s_range() -> None:
    """``input_ranges`` gave a grade's ``low`` and ``high`` as scores (KitchenQual 2 to 5)
    that the spec never related to the grades a house is sent with (a probe's): its
    description states the model's scale, each grade's score and none's."""
    card = SPEC["components"]["schemas"]["ModelCard"]["properties"]["input_ranges"]
    said = " ".join(card["items"]["properties"]["low"]["description"].split())
    features = load_config().features
    stated = dict(re.findall(r"\b(Po|Fa|TA|Gd|Ex) (\d)", said))
    assert stated == {code: f"{score:g}" for code, score in features.grade_scores.items()}
    assert f"{features.absent_grade_score:g} for none" in said


def test_every_house_field_is_documented_with_an_example() -> None:
    for name, prop in HOUSE["properties"].items():
        assert prop.get("description"), name
        assert "example" in prop, name


def test_house_fields_and_required_match_the_model_schema() -> None:
    assert set(HOUSE["properties"]) == {*HOUSE_FIELDS, ID_FIELD}
    assert sorted(HOUSE["required"]) == sorted(REQUIRED_FIELDS)
    assert HOUSE["additionalProperties"] is False


def _expected_property(field: Any) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "type": "integer"
        if isinstance(field, WholeNumber)
        else "number"
        if isinstance(field, JsonNumber)
        else "string",
        "nullable": not field.required,
    }
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            expected |= {"minimum": validator.min, "maximum": validator.max}
        if isinstance(validator, validate.OneOf):
            # OpenAPI 3.0.3: a nullable enum lists null among its values.
            expected["enum"] = [*validator.choices, *([None] if expected["nullable"] else [])]
    return expected


@pytest.mark.parametrize("name", list(HOUSE_FIELDS))
def test_each_house_field_matches_the_model_schema(name: str) -> None:
    prop = HOUSE["properties"][name]
    actual = {key: prop[key] for key in ("type", "minimum", "maximum", "enum") if key in prop}
    actual["nullable"] = prop.get("nullable", False)
    assert actual == _expected_property(HOUSE_FIELDS[name])


#: What the server may answer to any request, whatever its operation: a head too slow (408),
#: too large (431; 414 for its URL), a body too large (413), of a media type or coding it does
#: not take (415, 501: a GET with a body included), a method it does not know (501), or past a
#: limit kept for everyone (503).
ANY_REQUEST = {"408", "413", "414", "415", "431", "501", "503"}


def test_every_operation_declares_what_any_request_may_be_answered() -> None:
    for path, method, operation in operations(SPEC):
        missing = ANY_REQUEST - set(operation["responses"])
        assert not missing, f"{method.upper()} {path} declares no {sorted(missing)}"


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/health", "/v1/model"])
def test_a_get_with_a_body_it_cannot_read_is_answered_as_declared(
    client: TestClient, path: str
) -> None:
    """A GET has no use for a body, and a body of no media type is refused as on a POST."""
    response = client.request("GET", path, content=b"hello")
    assert response.status_code == 415
    assert "415" in SPEC["paths"][path]["get"]["responses"]


def test_the_cards_fitted_on_takes_the_model_packages_values() -> None:
    """``ModelCard.fitted_on`` is written by hand; the values are the model package's
    (``config.FittedOn``): one added there without the spec would fail every card's answer."""
    described = SPEC["components"]["schemas"]["ModelCard"]["properties"]["fitted_on"]
    assert described["enum"] == list(get_args(FittedOn))
