"""The production shape: docker-compose.yml (validated against the Compose Specification), the
Dockerfile (linted with hadolint), .dockerignore and gunicorn's access log. Both validators are
pinned in requirements-dev.txt, so they run wherever the suite runs; `docker compose config` runs
too where the docker client is installed."""

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from cryptography.fernet import Fernet

from tests.helpers.processes import free_port, wait_until
from tests.helpers.repository import ROOT

DOCKERFILE = ROOT / "Dockerfile"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
APP_SERVICES = ("web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", *APP_SERVICES)


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_services() -> dict:
    return compose()["services"]


def tool(name: str) -> str:
    """A tool installed with the suite's Python (requirements-dev.txt): next to it, or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: `make test` installs it (requirements-dev.txt)"
    return found


def test_compose_runs_the_production_stack():
    services = compose_services()
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= services.keys()
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A nowistay worker")
    assert services["beat"]["command"].startswith("celery -A nowistay beat")


def test_compose_points_the_app_at_postgres_and_redis():
    web = compose_services()["web"]
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert web["environment"]["REDIS_URL"].startswith("redis://")


# --- migrations once, before the app -----------------------------------------------------------------


def test_migrations_run_once_and_the_app_services_wait_for_them():
    services = compose_services()
    migrate = services["migrate"]
    assert migrate["command"] == "python manage.py migrate --noinput"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    for name in APP_SERVICES:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


# --- health checks -------------------------------------------------------------------------------------


def test_every_long_running_service_has_a_health_check():
    services = compose_services()
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
    assert services["migrate"]["healthcheck"] == {"disable": True}  # one-shot: the image's web probe does not apply


def test_the_app_health_checks_ask_each_process_the_right_question():
    services = compose_services()
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "deploy/probe.py", "/readyz"]
    # $$ is compose's escape for one $: the shell of the check expands the container's own host name.
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD-SHELL", "celery -A nowistay inspect ping --destination celery@$$HOSTNAME --timeout 10"
    ]
    assert services["beat"]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "beat_health"]
    assert services["postgres"]["healthcheck"]["test"] == ["CMD-SHELL", "pg_isready -U nowistay -d nowistay"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


# --- volumes and secrets ----------------------------------------------------------------------------------


def test_postgres_and_redis_keep_their_data_in_named_volumes():
    document = compose()
    assert document["services"]["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert document["services"]["redis"]["volumes"] == ["redisdata:/data"]
    assert {"pgdata", "redisdata"} <= set(document["volumes"])


SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")
INTERPOLATED = re.compile(r"^\$\{[A-Z_]+(:\?[^}]*)?\}$")


def test_secrets_come_only_from_the_env_file():
    services = compose_services()
    for name in ("migrate", *APP_SERVICES):
        assert services[name]["env_file"] == ".env", name
    for name, service in services.items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(variable):
                assert INTERPOLATED.match(str(value)), f"{name}: {variable} is a literal, not from .env"
            for password in re.findall(r"://[^:/@]+:([^@]*)@", str(value)):
                assert INTERPOLATED.match(password), f"{name}: {variable} carries a literal password"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "${POSTGRES_PASSWORD:?" in services["web"]["environment"]["DATABASE_URL"]


def test_the_production_env_example_sets_the_database_password():
    documented = (ROOT / "deploy" / "production.env.example").read_text()
    assert re.search(r"^POSTGRES_PASSWORD=replace-", documented, re.MULTILINE)


# --- the Compose Specification and the Dockerfile linter (no docker needed) ---------------------------


def check_compose_schema(path: Path) -> subprocess.CompletedProcess:
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_compose_file_is_valid_against_the_compose_specification():
    result = check_compose_schema(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_compose_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml").read_text().replace("service_completed_successfully", "service_finished")
    )
    result = check_compose_schema(broken)
    assert result.returncode != 0
    assert "service_finished" in result.stdout


def hadolint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("hadolint"), "--no-color", str(path)], capture_output=True, text=True, timeout=120)


def test_dockerfile_passes_hadolint():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_root_image_with_unpinned_packages(tmp_path):
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN pip install gunicorn\n")
    result = hadolint(sloppy)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3013"):
        assert rule in result.stdout, rule


# --- the Dockerfile and .dockerignore -----------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(index for index, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def test_the_image_is_built_in_stages_with_runtime_dependencies_only():
    instructions = dockerfile_instructions()
    assert sum(1 for name, _ in instructions if name == "FROM") >= 2
    installs = [arguments for name, arguments in instructions if name == "RUN" and "pip install" in arguments]
    assert installs and all("-r /tmp/requirements.txt" in run for run in installs)
    assert not [arguments for _, arguments in instructions if "requirements-dev" in arguments]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in final_stage()


def test_the_image_runs_as_a_non_root_user():
    users = [arguments for name, arguments in final_stage() if name == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit()  # numeric: an orchestrator can check it is not root


def test_the_image_compiles_static_files_and_probes_liveness():
    stage = final_stage()
    assert any(name == "RUN" and "manage.py collectstatic --noinput" in arguments for name, arguments in stage)
    (healthcheck,) = [arguments for name, arguments in stage if name == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["python", "deploy/probe.py", "/healthz"]')
    assert ("CMD", '["gunicorn", "--config", "deploy/gunicorn.conf.py", "nowistay.wsgi:application"]') in stage


def test_the_image_carries_the_compiled_translations():
    text = DOCKERFILE.read_text()
    assert "manage.py compilemessages" in text
    assert ("COPY", "--from=translations /src/locale /app/locale") in final_stage()


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    entries = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    expected = {
        ".git", ".venv", ".env", ".env.*", "db.sqlite3*", "*.sqlite3", "var", "staticfiles", ".pytest_cache",
        ".hypothesis", "node_modules", "**/__pycache__", "tests",
    }
    assert expected <= entries, sorted(expected - entries)


# --- gunicorn: the access log never carries a query string ------------------------------------------------

QUERY_CARRYING_ATOMS = ("%(r)s", "%(q)s", "%(f)s", "{referer}i", "{raw_uri}e", "{query_string}e", "{location}o")


def test_the_access_log_format_logs_the_path_only():
    config = runpy.run_path(str(GUNICORN_CONFIG))
    log_format = config["access_log_format"]
    assert "%(U)s" in log_format
    for atom in QUERY_CARRYING_ATOMS:
        assert atom not in log_format.lower(), atom
    assert config["accesslog"] == "-"


INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


def test_gunicorn_logs_an_oauth_callback_without_its_code_and_answers_a_probe_by_ip(tmp_path):
    """The web service's command with the config file, in production mode, requested as a vendor's
    sign-in page redirects a host back (code and state in the query) and as a load balancer probes."""
    port = free_port()
    env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="nowistay.settings",
        DEBUG="false",
        SECRET_KEY="x7Kq2mP9vR4tW8yB3nF6hJ1cL5dG0sA-zE_uQiOoXwYbTkMrNpVaSeDfHgJlCv",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="app.nowistay.example",
        EMAIL_URL="smtp+tls://nowistay:password@smtp.example.com:587",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="memory://",
        SANDBOX_URL="",
    )
    log = tmp_path / "gunicorn.log"
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG), "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "nowistay.wsgi:application",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(base + "/healthz", timeout=2).ok, "gunicorn to answer", timeout=60)
        probe = requests.get(base + "/healthz", headers={"Host": "10.0.3.7"}, timeout=10)
        callback = requests.get(
            base + "/locks/connect/tedee/callback/",
            params={"code": "AUTHCODE-0123456789", "state": "STATE-abcdef"},
            headers={"Host": "app.nowistay.example", "Referer": "https://app.nowistay.example/x?code=REFERER-CODE"},
            allow_redirects=False,
            timeout=10,
        )
        wait_until(lambda: "/locks/connect/tedee/callback/" in log.read_text(), "the access log line", timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=30)
    access_log = log.read_text()
    # Production logs are JSON lines (nowistay.logs, wired into gunicorn by its config file).
    records = [json.loads(line) for line in access_log.splitlines() if line.startswith("{")]
    access = [record for record in records if record["logger"] == "gunicorn.access"]
    assert (probe.status_code, probe.json(), probe.cookies.get_dict()) == (200, {"status": "ok"}, {})
    assert callback.status_code == 302  # to the sign-in page: the request reached Django
    assert any('"GET /locks/connect/tedee/callback/ HTTP/1.1" 302' in record["message"] for record in access)
    for secret in ("AUTHCODE-0123456789", "STATE-abcdef", "REFERER-CODE", "code=", "state="):
        assert secret not in access_log, secret


# --- docker compose itself, where it is installed ------------------------------------------------------------


def docker_compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not docker_compose_available(), reason="the docker compose client is not installed")
def test_compose_file_is_valid_for_docker_compose(tmp_path):
    env_file = ROOT / ".env"
    created = not env_file.exists()
    if created:
        env_file.write_text("SECRET_KEY=compose-config-check\n")
    env = {**os.environ, "POSTGRES_PASSWORD": os.environ.get("POSTGRES_PASSWORD", "compose-config-check")}
    try:
        result = subprocess.run(["docker", "compose", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        if created:
            env_file.unlink()
    assert result.returncode == 0, result.stderr
