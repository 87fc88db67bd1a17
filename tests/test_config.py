"""Settings: environment, .env file, explicit overrides, validation and production rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from config import DEFAULT_JWT_SECRET, AppEnv, ConfigError, load_settings

if TYPE_CHECKING:
    from pathlib import Path

STRONG_SECRET = "s" * 48
ENV_VARS = (
    "APP_ENV",
    "DATABASE_URL",
    "JWT_SECRET",
    "QIKINK_API_URL",
    "QIKINK_CLIENT_ID",
    "QIKINK_CLIENT_SECRET",
    "QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE",
    "QIKINK_RATE_RESERVE",
    "QIKINK_RATE_WINDOW_SECONDS",
    "QIKINK_PUBLISHABLE_KEYS",
    "STOREFRONT_QIKINK_PROXY",
    "QIKINK_STOREFRONT_CALLS_PER_MINUTE",
    "GRAPHIQL_ENABLED",
    "INTROSPECTION_ENABLED",
    "LOG_LEVEL",
    "METRICS_TOKEN",
    "STOREFRONT_MAX_BODY_BYTES",
    "MEDUSA_BACKEND_URL",
    "MEDUSA_API_KEY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_run_on_sqlite_under_data_with_the_sandbox_and_thirty_calls_a_minute() -> None:
    settings = load_settings(env_file=None)
    assert settings.app_env is AppEnv.DEVELOPMENT
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("/data/qikink.db")
    assert settings.qikink_api_url == "https://sandbox.qikink.com"
    assert settings.qikink_rate_limit_requests_per_minute == 30
    assert settings.has_qikink_credentials is False
    assert settings.graphiql is True
    assert settings.introspection is True


def test_the_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("QIKINK_CLIENT_ID", "123456789012345")
    monkeypatch.setenv("QIKINK_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "0")
    monkeypatch.setenv("QIKINK_PUBLISHABLE_KEYS", "pk_1, pk_2,,")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qikink")
    settings = load_settings(env_file=None)
    assert settings.qikink_client_id == "123456789012345"
    assert settings.qikink_client_secret is not None
    assert settings.qikink_client_secret.get_secret_value() == "s3cret"
    assert settings.qikink_rate_limit_requests_per_minute == 0
    assert settings.qikink_publishable_keys == ["pk_1", "pk_2"]
    assert settings.database_url == "postgres://postgres@127.0.0.1:5432/qikink"


def test_a_dotenv_file_is_read_and_the_environment_wins_over_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("QIKINK_CLIENT_ID=from-file\nLOG_LEVEL=debug\n")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    settings = load_settings(env_file=env_file)
    assert settings.qikink_client_id == "from-file"
    assert settings.log_level == "WARNING"


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "10")
    settings = load_settings(env_file=None, qikink_rate_limit_requests_per_minute=5)
    assert settings.qikink_rate_limit_requests_per_minute == 5


@pytest.mark.parametrize(
    "url",
    [
        "https://sandbox.qikink.com/v1",
        "https://sandbox.qikink.com/v1/",
        "https://sandbox.qikink.com/",
    ],
)
def test_a_trailing_v1_or_slash_is_stripped_from_the_api_url(url: str) -> None:
    assert load_settings(env_file=None, qikink_api_url=url).qikink_api_url == (
        "https://sandbox.qikink.com"
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "-1"),
        ("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "thirty"),
        ("QIKINK_API_URL", "ftp://qikink.com"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("APP_ENV", "staging"),
        ("LOG_LEVEL", "LOUD"),
        ("GRAPHIQL_ENABLED", "perhaps"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(env_file=None)


def _production(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "app_env": "production",
        "jwt_secret": STRONG_SECRET,
        "qikink_client_id": "123456789012345",
        "qikink_client_secret": "live-secret",
        "qikink_publishable_keys": ["pk_live_1"],
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"jwt_secret": DEFAULT_JWT_SECRET}, "JWT_SECRET"),
        ({"jwt_secret": "short-secret"}, "JWT_SECRET"),
        ({"qikink_client_id": None}, "QIKINK_CLIENT_ID"),
        ({"qikink_client_secret": ""}, "QIKINK_CLIENT_SECRET"),
        ({"qikink_publishable_keys": []}, "QIKINK_PUBLISHABLE_KEYS is required"),
    ],
)
def test_production_refuses_to_start_without_a_real_secret_and_credentials(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env_file=None, **_production(**overrides))


def test_production_turns_graphiql_and_introspection_off_unless_asked() -> None:
    settings = load_settings(env_file=None, **_production())
    assert (settings.graphiql, settings.introspection) == (False, False)
    opted_in = load_settings(
        env_file=None, **_production(graphiql_enabled=True, introspection_enabled=True)
    )
    assert (opted_in.graphiql, opted_in.introspection) == (True, True)


def test_the_client_secret_never_shows_in_the_settings_repr() -> None:
    settings = load_settings(env_file=None, **_production())
    assert "live-secret" not in repr(settings)
    assert STRONG_SECRET not in repr(settings)


def test_the_qikink_proxy_is_closed_to_storefronts_by_default() -> None:
    settings = load_settings(env_file=None)
    assert settings.storefront_qikink_proxy is False
    assert settings.qikink_storefront_calls_per_minute == 5


@pytest.mark.parametrize("secret", [None, DEFAULT_JWT_SECRET, "s" * 31])
@pytest.mark.parametrize("app_env", ["development", "test"])
def test_real_qikink_credentials_refuse_a_weak_jwt_secret_in_any_environment(
    app_env: str, secret: str | None
) -> None:
    credentials = {
        "app_env": app_env,
        "qikink_client_id": "123456789012345",
        "qikink_client_secret": "live-secret",
    }
    if secret is not None:
        credentials["jwt_secret"] = secret
    with pytest.raises(ConfigError, match="JWT_SECRET must be set") as refused:
        load_settings(env_file=None, **credentials)
    assert "Qikink credentials" in str(refused.value)
    assert "forge admin tokens" in str(refused.value)
    strong = {**credentials, "jwt_secret": "s" * 32, "qikink_publishable_keys": ["pk_1"]}
    assert load_settings(env_file=None, **strong).has_qikink_credentials
    # Without credentials the simulator runs, and the development default is fine.
    assert load_settings(env_file=None, app_env=app_env).uses_simulator


def test_the_storefront_body_limit_and_the_metrics_token_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = load_settings(env_file=None)
    assert defaults.storefront_max_body_bytes == 64 * 1024
    assert defaults.metrics_token is None
    for variable, value in (
        ("STOREFRONT_MAX_BODY_BYTES", "100"),
        ("STOREFRONT_MAX_BODY_BYTES", str(2 * 1024 * 1024)),
        ("METRICS_TOKEN", "short"),
    ):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigError, match=variable):
            load_settings(env_file=None)
        monkeypatch.delenv(variable)


def test_the_storefront_share_must_leave_room_in_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOREFRONT_QIKINK_PROXY", "true")
    monkeypatch.setenv("QIKINK_PUBLISHABLE_KEYS", "pk_1")
    monkeypatch.setenv("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "10")
    monkeypatch.setenv("QIKINK_STOREFRONT_CALLS_PER_MINUTE", "10")
    with pytest.raises(ConfigError, match="QIKINK_STOREFRONT_CALLS_PER_MINUTE must be less than"):
        load_settings(env_file=None)
    monkeypatch.setenv("QIKINK_STOREFRONT_CALLS_PER_MINUTE", "0")
    with pytest.raises(ConfigError, match="QIKINK_STOREFRONT_CALLS_PER_MINUTE"):
        load_settings(env_file=None)
    monkeypatch.setenv("QIKINK_STOREFRONT_CALLS_PER_MINUTE", "9")
    assert load_settings(env_file=None).qikink_storefront_calls_per_minute == 9


def test_the_sync_leaves_a_fifth_of_the_budget_unless_told_and_never_all_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(env_file=None).rate_reserve == 6
    monkeypatch.setenv("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "60")
    assert load_settings(env_file=None).rate_reserve == 12
    monkeypatch.setenv("QIKINK_RATE_RESERVE", "0")
    assert load_settings(env_file=None).rate_reserve == 0
    monkeypatch.setenv("QIKINK_RATE_RESERVE", "60")
    with pytest.raises(ConfigError, match="QIKINK_RATE_RESERVE must be less than"):
        load_settings(env_file=None)
    monkeypatch.setenv("QIKINK_RATE_RESERVE", "-1")
    with pytest.raises(ConfigError, match="QIKINK_RATE_RESERVE"):
        load_settings(env_file=None)
    # With no budget there is nothing to reserve.
    monkeypatch.setenv("QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE", "0")
    monkeypatch.setenv("QIKINK_RATE_RESERVE", "5")
    assert load_settings(env_file=None).rate_reserve == 0


@pytest.mark.parametrize("app_env", [None, "development"])
def test_a_rate_window_other_than_a_minute_is_refused_outside_tests(
    monkeypatch: pytest.MonkeyPatch, app_env: str | None
) -> None:
    if app_env is not None:
        monkeypatch.setenv("APP_ENV", app_env)
    assert load_settings(env_file=None).qikink_rate_window_seconds == 60
    monkeypatch.setenv("QIKINK_RATE_WINDOW_SECONDS", "60")
    assert load_settings(env_file=None).qikink_rate_window_seconds == 60
    monkeypatch.setenv("QIKINK_RATE_WINDOW_SECONDS", "5")
    with pytest.raises(ConfigError, match="QIKINK_RATE_WINDOW_SECONDS may differ from 60 only"):
        load_settings(env_file=None)


def test_tests_may_shorten_the_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("QIKINK_RATE_WINDOW_SECONDS", "2.5")
    assert load_settings(env_file=None).qikink_rate_window_seconds == 2.5
    monkeypatch.setenv("QIKINK_RATE_WINDOW_SECONDS", "0")
    with pytest.raises(ConfigError, match="QIKINK_RATE_WINDOW_SECONDS"):
        load_settings(env_file=None)


LIVE_CREDENTIALS = {"QIKINK_CLIENT_ID": "123456789012345", "QIKINK_CLIENT_SECRET": "live-secret"}


@pytest.mark.parametrize("app_env", [None, "development", "test", "production"])
@pytest.mark.parametrize("credentials", [False, True])
def test_an_open_qikink_proxy_without_publishable_keys_never_starts(
    monkeypatch: pytest.MonkeyPatch, app_env: str | None, credentials: bool
) -> None:
    monkeypatch.setenv("STOREFRONT_QIKINK_PROXY", "true")
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    if app_env is not None:
        monkeypatch.setenv("APP_ENV", app_env)
    if credentials or app_env == "production":
        for name, value in LIVE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="QIKINK_PUBLISHABLE_KEYS is required") as refused:
        load_settings(env_file=None)
    assert "STOREFRONT_QIKINK_PROXY=true" in str(refused.value)
    monkeypatch.setenv("QIKINK_PUBLISHABLE_KEYS", "pk_1")
    assert load_settings(env_file=None).storefront_qikink_proxy is True


@pytest.mark.parametrize("app_env", [None, "development", "test"])
def test_real_qikink_credentials_bring_the_production_rules_whatever_app_env_says(
    monkeypatch: pytest.MonkeyPatch, app_env: str | None
) -> None:
    for name, value in LIVE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    if app_env is not None:
        monkeypatch.setenv("APP_ENV", app_env)
    with pytest.raises(ConfigError, match="QIKINK_PUBLISHABLE_KEYS is required") as refused:
        load_settings(env_file=None)
    assert "whatever APP_ENV says" in str(refused.value)
    monkeypatch.setenv("QIKINK_PUBLISHABLE_KEYS", "pk_1")
    settings = load_settings(env_file=None)
    assert settings.uses_simulator is False
    assert (settings.graphiql, settings.introspection, settings.suggestions) == (
        False,
        False,
        False,
    )
    # Turned on by name, they are on.
    monkeypatch.setenv("GRAPHIQL_ENABLED", "true")
    monkeypatch.setenv("INTROSPECTION_ENABLED", "true")
    opted_in = load_settings(env_file=None)
    assert (opted_in.graphiql, opted_in.introspection, opted_in.suggestions) == (True, True, True)


def test_credentials_for_a_qikink_on_this_machine_keep_the_development_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `qikink-graphql simulator` on a loopback port, with its well-known credentials.
    monkeypatch.setenv("QIKINK_API_URL", "http://127.0.0.1:8765")
    monkeypatch.setenv("QIKINK_CLIENT_ID", "123456789012345")
    monkeypatch.setenv("QIKINK_CLIENT_SECRET", "sim-secret")
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    settings = load_settings(env_file=None)
    assert settings.has_qikink_credentials is True
    assert (settings.graphiql, settings.introspection, settings.suggestions) == (True, True, True)
    # A weak secret is still refused: the credentials could be a real account's.
    monkeypatch.setenv("JWT_SECRET", DEFAULT_JWT_SECRET)
    with pytest.raises(ConfigError, match="JWT_SECRET must be set"):
        load_settings(env_file=None)
    # Anywhere else, the same credentials are a real account's.
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("QIKINK_API_URL", "https://qikink.example.com")
    with pytest.raises(ConfigError, match="QIKINK_PUBLISHABLE_KEYS is required"):
        load_settings(env_file=None)


@pytest.mark.parametrize("secret", [None, DEFAULT_JWT_SECRET, "s" * 31])
def test_a_medusa_backend_refuses_a_weak_jwt_secret_beside_the_simulator(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("MEDUSA_BACKEND_URL", "https://medusa.example.com")
    if secret is not None:
        monkeypatch.setenv("JWT_SECRET", secret)
    with pytest.raises(ConfigError, match="JWT_SECRET must be set") as refused:
        load_settings(env_file=None)
    assert "when MEDUSA_BACKEND_URL is set" in str(refused.value)
    monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)
    settings = load_settings(env_file=None)
    assert (settings.uses_simulator, settings.guards_simulator) == (True, True)
    assert load_settings(env_file=None, medusa_backend_url=None).guards_simulator is False


def test_an_override_of_create_app_is_held_to_the_rules_of_the_environment() -> None:
    from web.app import create_app

    settings = load_settings(env_file=None)
    with pytest.raises(ConfigError, match="QIKINK_RATE_RESERVE must be less than"):
        create_app(settings, qikink_rate_reserve=30)
    with pytest.raises(ConfigError, match="QIKINK_RATE_WINDOW_SECONDS may differ"):
        create_app(settings, qikink_rate_window_seconds=5)
    with pytest.raises(ConfigError, match="LOG_LEVEL: must be one of"):
        create_app(settings, log_level="LOUD")
    with pytest.raises(ConfigError, match="QIKINK_RESERVE: no such setting"):
        create_app(settings, qikink_reserve=3)
    app = create_app(settings, qikink_rate_reserve=2, jwt_secret=STRONG_SECRET)
    assert app.state.settings.rate_reserve == 2
    assert app.state.settings.jwt_secret.get_secret_value() == STRONG_SECRET
