from __future__ import annotations

import gc
import math
import re
import runpy
from pathlib import Path

import pytest
from gradient_boosting_model.config import load_config

from api.config import (
    FEEDBACK_TOKEN_NAME_LENGTH,
    MAX_ROWS_LIMIT,
    MIN_FEEDBACK_TOKEN_LENGTH,
    REQUEST_THREADS,
    ServerSettings,
    Settings,
)
from api.service import prediction_ids
from api.spec_document import read_spec

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
#: The defaults, which the cases below step past or meet (a default changed, they follow).
DEFAULTS = Settings()


@pytest.mark.parametrize(
    ("environment", "validate_responses", "log_level"),
    [("development", True, "DEBUG"), ("testing", True, "INFO"), ("production", False, "INFO")],
)
def test_each_environment_has_its_defaults(
    monkeypatch: pytest.MonkeyPatch, environment: str, validate_responses: bool, log_level: str
) -> None:
    monkeypatch.setenv("ML_API_ENVIRONMENT", environment)
    settings = Settings()
    assert settings.environment == environment
    assert settings.validate_responses is validate_responses
    assert settings.log_level == log_level


def test_production_is_the_default_environment() -> None:
    assert Settings().environment == "production"
    assert Settings().validate_responses is False


def test_the_environment_given_is_the_one_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exported ML_API_ENVIRONMENT cannot contradict the environment a settings object
    reports: the one given wins, and its defaults come with it."""
    monkeypatch.setenv("ML_API_ENVIRONMENT", "production")
    settings = Settings(environment="testing")
    assert settings.environment == "testing"
    assert settings.validate_responses is True


def test_a_variable_beats_the_environment_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_API_ENVIRONMENT", "testing")
    monkeypatch.setenv("ML_API_VALIDATE_RESPONSES", "false")
    monkeypatch.setenv("ML_API_LOG_LEVEL", "WARNING")
    settings = Settings()
    assert settings.validate_responses is False  # "false" is false, not a truthy string
    assert settings.log_level == "WARNING"


def test_cors_origins_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().cors_origins == ()
    monkeypatch.setenv("ML_API_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ("https://a.example", "https://b.example")


def _refusal_of_tokens(monkeypatch: pytest.MonkeyPatch, listed: str) -> str:
    """The message ``Settings`` refuses ``ML_API_FEEDBACK_TOKENS=listed`` with."""
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", listed)
    with pytest.raises(ValueError) as refused:
        Settings()
    return str(refused.value)


def test_feedback_tokens_that_could_not_be_sent_or_are_short_are_refused_unquoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = "a" * MIN_FEEDBACK_TOKEN_LENGTH
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", f"{good}, Zx9-._~+/Zx9-._~+/==")
    assert len(Settings().feedback_tokens) == 2
    short, spaced = "s3cret-token", "has a space inside it"
    message = _refusal_of_tokens(monkeypatch, f"{good},{short},{spaced},{good}=x")
    assert "token 2 of 4 is 12 characters long: at least 16" in message
    assert "token 3 of 4 has a character a bearer token cannot" in message
    assert "token 4 of 4 has a character" in message  # "=" only at the end
    assert "token 1 " not in message
    for token in (good, short, spaced):
        assert token not in message
    password = "db-password-0123"
    monkeypatch.setenv("ML_API_DATABASE_URL", f"postgresql://u:{password}@db/x")
    monkeypatch.setenv("ML_API_RETENTION_DAYS", f"{password}-days")
    with pytest.raises(ValueError, match="retention_days") as refused:
        Settings()
    assert password not in str(refused.value)


def _names_and_tokens(settings: Settings) -> list[tuple[str, str]]:
    return [(entry.name, entry.token.get_secret_value()) for entry in settings.feedback_tokens]


def test_a_feedback_token_is_named_by_its_name_or_else_by_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``name:token``, or a token alone as every list was before names (``1``, ``2`` ...: what
    the uses metric has always labelled it), in one list."""
    a, b, c = ("a" * 16, "Zx9-._~+/Zx9-._~+/==", "0123456789abcdef0123")
    longest = "l" + "-_0" * ((FEEDBACK_TOKEN_NAME_LENGTH - 1) // 3)
    assert len(longest) == FEEDBACK_TOKEN_NAME_LENGTH
    listed = f"lender-a:{a}, {b} ,{longest} : {c}"
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", listed)
    assert _names_and_tokens(Settings()) == [("lender-a", a), ("2", b), (longest, c)]
    assert _names_and_tokens(Settings(feedback_tokens=listed)) == _names_and_tokens(Settings())
    assert "lender-a" in repr(Settings()) and a not in repr(Settings())
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", f"{a},{b}")
    assert _names_and_tokens(Settings()) == [("1", a), ("2", b)]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Lender-a",
        "lender a",
        "lender.a",
        "7lender",
        "-lender",
        "l" * (FEEDBACK_TOKEN_NAME_LENGTH + 1),
    ],
    ids=["empty", "capital", "space", "dot", "digit first", "dash first", "too long"],
)
def test_a_name_that_is_not_one_is_refused_by_the_token_s_place_unquoted(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    token = "b" * MIN_FEEDBACK_TOKEN_LENGTH
    message = _refusal_of_tokens(monkeypatch, f"{'a' * 16},{name}:{token}")
    assert "token 2 of 2 has a name that is not one (1 to 40 lower-case letters" in message
    assert "token 1 " not in message
    assert token not in message
    assert not name or name not in message


def test_two_tokens_of_one_name_or_one_token_twice_are_refused_by_places_unquoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sales of either could not be told apart; a token listed twice (under two names, or a
    name and a place) would be stored as the first's only."""
    a, b, c = ("a" * 16, "b" * 16, "c" * 16)
    message = _refusal_of_tokens(monkeypatch, f"x:{a},y:{b},x:{c},{b},z:{a},{a}")
    assert "tokens 1 and 3 have the same name (x)" in message
    assert "tokens 1, 5 and 6 have the same token;" in message
    assert "tokens 2 and 4 have the same token" in message
    for token in (a, b, c):
        assert token not in message
    # a name refused is not quoted in its repeat either: it may be a token out of place
    secret = "D" * 16
    repeated = _refusal_of_tokens(monkeypatch, f"{secret}:{a},{secret}:{b}")
    assert "tokens 1 and 2 have the same name" in repeated
    assert secret not in repeated
    # nor a lower-case hex token out of place, which has a name's syntax
    hex_secret = "af9ca1b2c3d4e5f60718293a4b5c6d7e"
    repeated = _refusal_of_tokens(monkeypatch, f"{hex_secret}:{a},{hex_secret}:{b}")
    assert "tokens 1 and 2 have the same name" in repeated
    assert "same name (" not in repeated
    assert hex_secret not in repeated


def test_an_entry_written_token_colon_name_is_refused_unquoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``openssl rand -hex 16`` makes a token of a name's syntax 37 times in 100: written
    before its name, the name would be taken as the token, and the secret shown as a name in
    the metric, the access log and the store."""
    secret = "af9ca1b2c3d4e5f60718293a4b5c6d7e"
    message = _refusal_of_tokens(monkeypatch, f"{secret}:appraiser-office-b")
    assert "token 1 of 1 has a name that looks like a token (name:token, not token:name)" in (
        message
    )
    assert secret not in message
    assert "appraiser-office-b" not in message
    # a name of hex digits shorter than a token is a name
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", f"cafe:{secret}")
    assert [entry.name for entry in Settings().feedback_tokens] == ["cafe"]


def test_a_name_given_must_be_one_even_where_it_reads_as_the_entry_s_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``2:token`` second in the list is named ``2`` as an unnamed entry would be, but the
    list gave the name, and a name starts with a letter (README)."""
    a, b = "a" * MIN_FEEDBACK_TOKEN_LENGTH, "b" * MIN_FEEDBACK_TOKEN_LENGTH
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", f"{a},2:{b}")
    with pytest.raises(ValueError, match="token 2 of 2 has a name that is not one"):
        Settings()
    monkeypatch.setenv("ML_API_FEEDBACK_TOKENS", f"{a},{b}")
    assert [entry.name for entry in Settings().feedback_tokens] == ["1", "2"]


def test_requests_waiting_on_the_store_leave_threads_to_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ML_API_MAX_INFLIGHT_STORE_REQUESTS", str(REQUEST_THREADS - 1))
    assert Settings().max_inflight_store_requests == REQUEST_THREADS - 1
    monkeypatch.setenv("ML_API_MAX_INFLIGHT_STORE_REQUESTS", str(REQUEST_THREADS))
    with pytest.raises(ValueError, match=f"leave some of a worker's {REQUEST_THREADS} request"):
        Settings()


@pytest.mark.parametrize("seconds", ["0", "-1", "25.5"])
def test_a_store_bound_of_none_or_past_the_proxy_s_read_timeout_is_refused(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    """0 would be PostgreSQL's "no bound"; past 25 s a stalled sale met the ingress's 504."""
    monkeypatch.setenv("ML_API_STORE_STATEMENT_TIMEOUT", "0.5")
    assert Settings().store_statement_timeout == 0.5
    monkeypatch.setenv("ML_API_STORE_STATEMENT_TIMEOUT", seconds)
    with pytest.raises(ValueError, match="store_statement_timeout"):
        Settings()


def test_bad_overrides_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_API_WORKERS", "none")
    with pytest.raises(ValueError, match="workers"):
        ServerSettings()


def test_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_API_ENVIRONMENT", "staging")
    with pytest.raises(ValueError, match="environment"):
        Settings()


def test_a_body_the_service_takes_must_fit_in_a_worker_s_bytes_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ML_API_MAX_BODY_BYTES", str(4 * 1024 * 1024))
    monkeypatch.setenv("ML_API_MAX_INFLIGHT_BODY_BYTES", str(4 * 1024 * 1024))
    assert Settings().max_inflight_body_bytes == 4 * 1024 * 1024  # equal: fits
    monkeypatch.setenv("ML_API_MAX_INFLIGHT_BODY_BYTES", str(4 * 1024 * 1024 - 1))
    with pytest.raises(ValueError, match="MAX_INFLIGHT_BODY_BYTES is below"):
        Settings()


@pytest.mark.parametrize(
    ("variables", "refused"),
    [
        (
            {"ERROR_RATIO_WATCH": "2", "ERROR_RATIO_ALERT": "1.5"},
            r"ERROR_RATIO_WATCH \(2\) is above",
        ),
        (
            {"WARNED_RATIO_WATCH": f"{DEFAULTS.warned_ratio_alert + 1:g}"},
            rf"WARNED_RATIO_WATCH \({DEFAULTS.warned_ratio_alert + 1:g}\) is above "
            rf".*ALERT \({DEFAULTS.warned_ratio_alert:g}\)",
        ),
        ({"COVERAGE_WATCH": "0.7", "COVERAGE_ALERT": "0.85"}, r"COVERAGE_WATCH \(0.7\) is below"),
        ({"MONITORING_PREDICTIONS": "500000"}, r"MONITORING_PREDICTIONS \(500000\) is above"),
        ({"MONITORING_SALES": "30000"}, r"MONITORING_SALES \(30000\) is above"),
        (
            {"MONITORING_MIN_SALES": str(DEFAULTS.monitoring_sales + 1)},
            rf"MIN_SALES \({DEFAULTS.monitoring_sales + 1}\) is above "
            rf".*SALES \({DEFAULTS.monitoring_sales}\)",
        ),
        (
            {"MONITORING_MIN_DRIFT_HOUSES": "2000", "MONITORING_PREDICTIONS": "1500"},
            r"MIN_DRIFT_HOUSES \(2000\) is above ML_API_MONITORING_PREDICTIONS \(1500\)",
        ),
    ],
)
def test_monitoring_bounds_that_could_never_say_watch_are_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], refused: str
) -> None:
    """From a probe: watch above alert (below, for coverage) was taken, and then a figure
    went from ok to alert; a default window larger than any a client may ask for too."""
    Settings()  # the defaults hold
    for name, value in variables.items():
        monkeypatch.setenv(f"ML_API_{name}", value)
    with pytest.raises(ValueError, match=refused):
        Settings()


def test_monitoring_bounds_at_their_limits_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal bounds (watch and alert at once), windows at their largest and a window of just
    the least a verdict rests on."""
    for name, value in {
        "ERROR_RATIO_WATCH": str(DEFAULTS.error_ratio_alert),
        "COVERAGE_WATCH": str(DEFAULTS.coverage_alert),
        "WARNED_RATIO_WATCH": str(DEFAULTS.warned_ratio_alert),
        "MONITORING_PREDICTIONS": str(DEFAULTS.max_monitoring_predictions),
        "MONITORING_SALES": str(DEFAULTS.monitoring_min_sales),
    }.items():
        monkeypatch.setenv(f"ML_API_{name}", value)
    settings = Settings()
    assert settings.coverage_watch == settings.coverage_alert
    assert settings.monitoring_sales == settings.monitoring_min_sales


def test_gunicorn_serves_the_asgi_app_with_the_server_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ML_API_WORKERS", "3")
    # gunicorn.conf.py sets it when unset; undone after the test, for this process's metrics
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert conf["wsgi_app"] == "api.asgi:app"
    assert conf["worker_class"] == "api.worker.DrainingUvicornWorker"
    assert conf["bind"] == "0.0.0.0:5000"
    assert conf["workers"] == 3
    assert conf["control_socket_disable"] is True
    assert conf["accesslog"] is None  # the app logs one JSON line per request itself


def test_the_master_s_objects_are_frozen_before_each_fork(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Out of the collector's reach: a worker's full collections would walk them all."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    conf = runpy.run_path(str(GUNICORN_CONF))
    gc.unfreeze()
    try:
        conf["pre_fork"](None, None)
        assert gc.get_freeze_count() > 1000  # this process's modules, at least
    finally:
        gc.unfreeze()


#: The top README, which states most settings' defaults beside their variables.
README = GUNICORN_CONF.parent.parent.parent / "README.md"
#: A default as the README writes it: 20,000, 0.80, 10 MiB, 64 KiB, 30 s.
QUANTITY = r"(\d+(?:,\d{3})*(?:\.\d+)?)(?: (MiB|KiB|s)\b)?"
UNITS = {"MiB": 1024 * 1024, "KiB": 1024, "s": 1, "": 1}


def _quantity(number: str, unit: str) -> float:
    return float(number.replace(",", "")) * UNITS[unit]


def readme_defaults(text: str) -> list[tuple[str, float]]:
    """Each variable and the default the README gives it: in the limits tables (`| limit |
    default | variable | ...`, a cell's quantities and variables in order), and in prose,
    "`ML_API_X` (N" or "`ML_API_X`, N", and "`ML_API_X_WATCH` and `_ALERT` (N and M"."""
    stated: list[tuple[str, float]] = []
    header = ["limit", "default", "variable", "refused with"]
    in_table = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        in_table = line.startswith("|") and (in_table or cells == header)
        if in_table and cells != header and not set(cells[0]) <= {"-", " "}:
            names = re.findall(r"`(ML_API_\w+)`", cells[2])
            quantities = re.findall(QUANTITY, cells[1])
            if names:
                assert len(quantities) == len(names), line
                stated += [(n, _quantity(*q)) for n, q in zip(names, quantities, strict=True)]
    prose = " ".join(line for line in text.splitlines() if not line.startswith("|"))
    prose = re.sub(r"\s+", " ", prose)
    pair = rf"`(ML_API_\w+)_WATCH` and `_ALERT` \({QUANTITY} and {QUANTITY}"
    for name, watch, watch_unit, alert, alert_unit in re.findall(pair, prose):
        stated += [(f"{name}_WATCH", _quantity(watch, watch_unit))]
        stated += [(f"{name}_ALERT", _quantity(alert, alert_unit))]
    for name, number, unit in re.findall(rf"`(ML_API_\w+)`(?: \(|, ){QUANTITY}(?=[ ,):;])", prose):
        stated.append((name, _quantity(number, unit)))
    return stated


def test_the_readme_states_the_settings_defaults() -> None:
    """The README's defaults are the settings' (a trial moved ML_API_MAX_ROWS,
    ML_API_COVERAGE_ALERT and ML_API_MONITORING_MIN_SALES in api/config.py alone: every test
    passed, the README kept the old values)."""
    defaults = {**ServerSettings().model_dump(), **DEFAULTS.model_dump()}
    stated = readme_defaults(README.read_text(encoding="utf-8"))
    wrong = [
        f"{name}: README {value:g}, api/config.py {defaults[name[7:].lower()]}"
        for name, value in stated
        if not math.isclose(value, defaults[name[7:].lower()])
    ]
    assert wrong == []
    # The reading finds them: a table's, a pair's, prose's.
    names = {name for name, _ in stated}
    assert {"ML_API_MAX_ROWS", "ML_API_COVERAGE_ALERT", "ML_API_MONITORING_MIN_SALES"} <= names
    assert len(stated) >= 40


def test_every_house_of_the_largest_request_allowed_gets_an_id_the_spec_takes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A house's id ends in its place in the request: with ML_API_MAX_ROWS above 100,000, the
    last houses' ids (``...-100000``) broke the spec's ``PredictionId`` and no sale could be
    posted for them (a probe's: 400, "is longer than 22 characters")."""
    schema = read_spec(Settings())["components"]["schemas"]["PredictionId"]
    last = prediction_ids(MAX_ROWS_LIMIT)[-1]
    assert re.fullmatch(schema["pattern"].strip("^$"), last) and len(last) <= schema["maxLength"]
    monkeypatch.setenv("ML_API_MAX_ROWS", str(MAX_ROWS_LIMIT))
    assert Settings().max_rows == MAX_ROWS_LIMIT
    monkeypatch.setenv("ML_API_MAX_ROWS", str(MAX_ROWS_LIMIT + 1))
    with pytest.raises(ValueError, match="max_rows"):
        Settings()
    assert f"`ML_API_MAX_ROWS`, at most {MAX_ROWS_LIMIT:,} (" in README.read_text(encoding="utf-8")


def test_the_readme_gives_the_models_drift_levels() -> None:
    """The drift levels the README states are the model's ``config.yml``'s (``drift.watch``
    and ``drift.alert``), by which the service judges each input's drift: they were copied."""
    readme = " ".join(README.read_text(encoding="utf-8").split())
    said = re.search(
        r"watched from ([0-9.]+) and alerted at ([0-9.]+) \(the model's `config.yml`\)", readme
    )
    assert said is not None
    levels = load_config().drift
    assert (float(said[1]), float(said[2])) == (levels.watch, levels.alert)
