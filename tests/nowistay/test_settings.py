"""Settings: the parsing helpers in nowistay.config, and settings.py read from a real environment."""

import base64
import logging
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from locks.providers import registry
from nowistay.config import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    broker_settings,
    database_settings,
    encryption_keys,
    validate_instance_id,
)
from sandbox.demo_sign_ins import DEMO_SIGN_INS, SANDBOX_CLIENT_SETTINGS, SANDBOX_PATHS
from tests.helpers.repository import ROOT
from tests.helpers.settings_probe import env_vars_read_by_settings, run_settings, settings_values

BASE_DIR = ROOT

VENDOR_URL_DEFAULTS = {
    "TTLOCK_API_URL": "https://euapi.ttlock.com",
    "TEDEE_API_URL": "https://api.tedee.com",
    "TEDEE_AUTH_URL": "https://tedee.b2clogin.com/tedee.onmicrosoft.com",
    "NUKI_API_URL": "https://api.nuki.io",
    "IGLOOHOME_API_URL": "https://api.igloodeveloper.co/igloohome",
    "IGLOOHOME_AUTH_URL": "https://auth.igloohome.co",
}


# --- database_settings -----------------------------------------------------------------------


class TestDatabaseSettings:
    def test_sqlite_gets_wal_immediate_and_timeout(self):
        config = database_settings({"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x.sqlite3"})
        options = config["OPTIONS"]
        assert "PRAGMA journal_mode=WAL" in options["init_command"]
        assert options["transaction_mode"] == "IMMEDIATE"
        assert options["timeout"] == SQLITE_BUSY_TIMEOUT_SECONDS == 30
        assert "CONN_MAX_AGE" not in config

    def test_sqlite_keeps_explicit_options(self):
        config = database_settings(
            {"ENGINE": "django.db.backends.sqlite3", "NAME": "x", "OPTIONS": {"timeout": 5}}
        )
        assert config["OPTIONS"]["timeout"] == 5
        assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"

    def test_postgres_gets_persistent_connections_and_no_sqlite_options(self):
        config = database_settings({"ENGINE": "django.db.backends.postgresql", "NAME": "nowistay", "HOST": "db"})
        assert config["CONN_MAX_AGE"] == 60
        assert config["CONN_HEALTH_CHECKS"] is True
        assert "init_command" not in config.get("OPTIONS", {})
        assert "transaction_mode" not in config.get("OPTIONS", {})

    def test_postgres_binds_parameters_on_the_server_and_prepares_hot_statements(self):
        config = database_settings({"ENGINE": "django.db.backends.postgresql", "NAME": "nowistay"})
        assert config["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}
        never = database_settings({"ENGINE": "django.db.backends.postgresql", "NAME": "nowistay"}, prepare_threshold=None)
        assert never["OPTIONS"]["prepare_threshold"] is None
        sqlite = database_settings({"ENGINE": "django.db.backends.sqlite3", "NAME": "x"})
        assert "server_side_binding" not in sqlite["OPTIONS"]

    def test_active_database_matches_its_engine(self):
        config = settings.DATABASES["default"]
        if config["ENGINE"] == "django.db.backends.sqlite3":
            assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        else:
            assert config["CONN_MAX_AGE"] == 60


# --- encryption_keys ---------------------------------------------------------------------------


class TestEncryptionKeys:
    def test_derives_a_valid_fernet_key_when_none(self):
        keys = encryption_keys([], "some-secret")
        assert len(keys) == 1
        assert len(base64.urlsafe_b64decode(keys[0])) == 32
        fernet = Fernet(keys[0].encode())
        assert fernet.decrypt(fernet.encrypt(b"hello")) == b"hello"

    def test_derived_key_is_stable_and_depends_on_secret(self):
        assert encryption_keys([], "secret-a") == encryption_keys(["", "  "], "secret-a")
        assert encryption_keys([], "secret-a") != encryption_keys([], "secret-b")

    def test_keeps_order_of_configured_keys(self):
        first, second, third = (Fernet.generate_key().decode() for _ in range(3))
        assert encryption_keys([first, f" {second} ", "", third], "ignored") == [first, second, third]

    @pytest.mark.parametrize(
        "bad_key",
        ["not-a-key", base64.urlsafe_b64encode(b"x" * 16).decode(), "!!!!", "abc"],
        ids=["garbage", "16-bytes", "symbols", "bad-padding"],
    )
    def test_rejects_bad_key(self, bad_key):
        good = Fernet.generate_key().decode()
        with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS must hold Fernet keys"):
            encryption_keys([good, bad_key], "secret")

    def test_settings_keys_are_usable(self):
        assert settings.FIELD_ENCRYPTION_KEYS
        for key in settings.FIELD_ENCRYPTION_KEYS:
            Fernet(key.encode())


# --- validate_instance_id --------------------------------------------------------------------


class TestInstanceId:
    @pytest.mark.parametrize("value", ["nw", "a", "prod01", "123456"])
    def test_accepts(self, value):
        assert validate_instance_id(value) == value

    @pytest.mark.parametrize("value", ["", "UPPER", "toolongid", "nw-1", "n w"])
    def test_rejects(self, value):
        with pytest.raises(ImproperlyConfigured, match="INSTANCE_ID must be 1-6 lowercase letters or digits"):
            validate_instance_id(value)

    def test_rejects_trailing_newline(self):
        with pytest.raises(ImproperlyConfigured):
            validate_instance_id("nw\n")

    def test_settings_instance_id_is_valid(self):
        assert validate_instance_id(settings.INSTANCE_ID) == settings.INSTANCE_ID


# --- broker_settings ---------------------------------------------------------------------------


class TestBrokerSettings:
    def test_filesystem_broker_without_url(self, tmp_path):
        config = broker_settings(broker_url="", result_url="", var_dir=tmp_path)
        assert urlsplit(config["CELERY_BROKER_URL"]).scheme == "filesystem"
        assert config["CELERY_RESULT_BACKEND"] is None
        options = config["CELERY_BROKER_TRANSPORT_OPTIONS"]
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            folder = Path(options[key])
            assert folder.is_dir(), key
            assert tmp_path in folder.parents
        # Producers write where consumers read.
        assert options["data_folder_in"] == options["data_folder_out"]

    def test_filesystem_broker_is_idempotent(self, tmp_path):
        first = broker_settings(broker_url="", result_url="", var_dir=tmp_path)
        assert broker_settings(broker_url="", result_url="", var_dir=tmp_path) == first

    def test_filesystem_broker_connects_without_a_hostname_warning(self, tmp_path, caplog):
        # kombu logged "No hostname was supplied. Reverting to default 'localhost'" at WARNING in
        # every process of `make run`, for every connection, with the bare "filesystem://".
        from kombu import Connection

        config = broker_settings(broker_url="", result_url="", var_dir=tmp_path)
        with caplog.at_level(logging.WARNING, logger="kombu"):
            connection = Connection(config["CELERY_BROKER_URL"], transport_options=config["CELERY_BROKER_TRANSPORT_OPTIONS"])
            with connection:
                connection.connect()
                _ = connection.default_channel  # reading it opens the filesystem channel
            assert connection.info()["transport"] == "filesystem"
        assert [record.getMessage() for record in caplog.records if record.name.startswith("kombu")] == []

    def test_redis_url(self, tmp_path):
        url = "redis://127.0.0.1:6379/3"
        config = broker_settings(broker_url=url, result_url=url, var_dir=tmp_path)
        assert config["CELERY_BROKER_URL"] == url
        assert config["CELERY_RESULT_BACKEND"] == url
        assert config["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 3600
        assert list(tmp_path.iterdir()) == []  # no filesystem folders for a real broker


# --- settings.py, in this process and parsed from a fresh environment --------------------------


class TestDjangoSettings:
    def test_vendor_urls_exposed_in_this_process(self):
        for name, default in VENDOR_URL_DEFAULTS.items():
            assert getattr(settings, name) == os.environ.get(name, default), name

    def test_vendor_url_defaults_without_env(self):
        values = settings_values(VENDOR_URL_DEFAULTS, remove=env_vars_read_by_settings())
        assert values == VENDOR_URL_DEFAULTS

    def test_vendor_urls_overridden_by_env(self):
        overrides = {name: f"http://127.0.0.1:9/{name.lower()}" for name in VENDOR_URL_DEFAULTS}
        overrides["TTLOCK_API_URL"] = "http://127.0.0.1:9/ttlock"
        values = settings_values(VENDOR_URL_DEFAULTS, overrides)
        assert values == overrides
        assert values["TTLOCK_API_URL"] == "http://127.0.0.1:9/ttlock"

    def test_typed_values_parsed_from_env(self):
        key_new, key_old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        values = settings_values(
            [
                "ALLOWED_HOSTS",
                "VENDOR_HTTP_TIMEOUT_SECONDS",
                "LOCKS_RETRY_INTERVAL_SECONDS",
                "FIELD_ENCRYPTION_KEYS",
                "INSTANCE_ID",
                "CELERY_BROKER_URL",
                "CELERY_RESULT_BACKEND",
                "CELERY_TASK_ALWAYS_EAGER",
                "DEBUG",
            ],
            {
                "ALLOWED_HOSTS": "app.nowistay.example,localhost",
                "VENDOR_HTTP_TIMEOUT_SECONDS": "5.5",
                "LOCKS_RETRY_INTERVAL_SECONDS": "12",
                "FIELD_ENCRYPTION_KEYS": f"{key_new},{key_old}",
                "INSTANCE_ID": "demo1",
                "REDIS_URL": "redis://127.0.0.1:6379/9",
                "CELERY_TASK_ALWAYS_EAGER": "true",
                "DEBUG": "false",
            },
            remove={"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"},
        )
        assert values == {
            "ALLOWED_HOSTS": ["app.nowistay.example", "localhost"],
            "VENDOR_HTTP_TIMEOUT_SECONDS": 5.5,
            "LOCKS_RETRY_INTERVAL_SECONDS": 12,
            "FIELD_ENCRYPTION_KEYS": [key_new, key_old],
            "INSTANCE_ID": "demo1",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
            "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/9",
            "CELERY_TASK_ALWAYS_EAGER": True,
            "DEBUG": False,
        }

    def test_database_url_parsed(self):
        values = settings_values(["DATABASES"], {"DATABASE_URL": "postgres://u:p@db.example:5433/nowistay"})
        default = values["DATABASES"]["default"]
        assert default["ENGINE"] == "django.db.backends.postgresql"
        assert (default["NAME"], default["HOST"], default["PORT"], default["USER"]) == ("nowistay", "db.example", 5433, "u")
        assert default["CONN_MAX_AGE"] == 60

    def test_sqlite_default_database(self):
        values = settings_values(["DATABASES"], remove={"DATABASE_URL"})
        default = values["DATABASES"]["default"]
        assert default["ENGINE"] == "django.db.backends.sqlite3"
        assert default["OPTIONS"]["transaction_mode"] == "IMMEDIATE"

    @pytest.mark.parametrize(
        "name, value, message",
        [
            ("INSTANCE_ID", "NOT-VALID", "INSTANCE_ID must be 1-6 lowercase letters or digits"),
            ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key", "FIELD_ENCRYPTION_KEYS must hold Fernet keys"),
        ],
    )
    def test_bad_env_values_stop_startup(self, name, value, message):
        result = run_settings(["INSTANCE_ID"], {name: value})
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr
        assert message in result.stderr


class TestConsoleEmailInTheWorker:
    """`make run` prints emails with Django's console backend; in the Celery worker, whose stdout is
    redirected to a logger, every line of them was logged at WARNING."""

    def test_default_email_backend_is_the_console(self):
        values = settings_values(["EMAIL_BACKEND"], remove={"EMAIL_URL"})
        assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"

    def test_a_console_email_printed_in_the_worker_is_logged_at_info(self, caplog):
        from celery.utils.log import get_logger
        from django.core.mail import EmailMessage
        from django.core.mail.backends.console import EmailBackend

        from nowistay.celery import app

        # What `celery worker` does at start-up (celery.app.log.Logging.redirect_stdouts), with
        # the level this project configures.
        logger = get_logger("celery.redirected")
        real_stdout = sys.stdout
        try:
            app.log.redirect_stdouts_to_logger(logger, loglevel=app.conf.worker_redirect_stdouts_level, stderr=False)
            with caplog.at_level(logging.DEBUG, logger="celery.redirected"):
                EmailMessage("Door code", "Your door code is 314159.", to=["guest@example.com"], connection=EmailBackend()).send()
        finally:
            sys.stdout = real_stdout
        printed = [record for record in caplog.records if record.name == "celery.redirected"]
        assert any("Subject: Door code" in record.getMessage() for record in printed)
        assert {record.levelname for record in printed} == {"INFO"}


class TestEnvExample:
    def test_parser_finds_the_variables(self):
        names = env_vars_read_by_settings()
        assert {"DATABASE_URL", "EMAIL_URL", "SECRET_KEY", "ALLOWED_HOSTS", "FIELD_ENCRYPTION_KEYS", "REDIS_URL"} <= names
        assert set(VENDOR_URL_DEFAULTS) <= names

    def test_env_example_documents_every_variable(self):
        env_example = BASE_DIR / ".env.example"
        assert env_example.is_file(), ".env.example is missing at the repository root"
        documented = set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]*)\s*=", env_example.read_text(), re.MULTILINE))
        missing = env_vars_read_by_settings() - documented
        assert not missing, f".env.example does not document: {sorted(missing)}"

    def test_env_example_vendor_urls_match_defaults(self):
        env_example = BASE_DIR / ".env.example"
        assert env_example.is_file(), ".env.example is missing at the repository root"
        documented = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", env_example.read_text(), re.MULTILINE))
        for name, default in VENDOR_URL_DEFAULTS.items():
            assert documented.get(name) == default, name


class TestVendorAddresses:
    """A vendor added to the registry needs no settings line: its addresses come from the
    environment (<VENDOR>_API_URL, <VENDOR>_AUTH_URL), and under `make run` from the sandbox."""

    SANDBOX = "http://127.0.0.1:8100"

    def test_any_vendors_address_comes_from_the_environment(self):
        env = {"HOMEIT_API_URL": "https://homeit.internal/v2", "HOMEIT_AUTH_URL": "https://auth.homeit.internal/v2"}
        assert settings_values(list(env), env) == env

    def test_make_run_points_every_sandbox_vendor_at_the_sandbox_and_the_environment_wins(self):
        env = {"DEBUG": "true", "SANDBOX_URL": self.SANDBOX, "NUKI_API_URL": "http://127.0.0.1:9999/nuki"}
        values = settings_values([*SANDBOX_PATHS, *SANDBOX_CLIENT_SETTINGS], env, remove=set(SANDBOX_PATHS) - {"NUKI_API_URL"})
        expected = {name: f"{self.SANDBOX}{path}" for name, path in SANDBOX_PATHS.items()}
        expected["NUKI_API_URL"] = "http://127.0.0.1:9999/nuki"
        assert {name: values[name] for name in SANDBOX_PATHS} == expected
        assert {name: values[name] for name in SANDBOX_CLIENT_SETTINGS} == SANDBOX_CLIENT_SETTINGS

    def test_a_sandbox_url_without_debug_redirects_nothing(self):
        values = settings_values(["TTLOCK_API_URL"], {"DEBUG": "false", "SANDBOX_URL": self.SANDBOX}, remove={"TTLOCK_API_URL"})
        assert values["TTLOCK_API_URL"] == "https://euapi.ttlock.com"

    def test_the_sandbox_mounts_and_signs_in_to_every_registered_vendor(self):
        for slug in registry.PROVIDER_CLASSES:
            assert f"{slug.upper()}_API_URL" in SANDBOX_PATHS, slug
            assert slug in DEMO_SIGN_INS, slug
