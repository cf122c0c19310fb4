import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose_services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_compose_runs_the_production_stack():
    services = compose_services()
    assert {"postgres", "redis", "web", "worker", "beat"} <= services.keys()
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A nowistay worker")
    assert services["beat"]["command"].startswith("celery -A nowistay beat")


def test_compose_points_the_app_at_postgres_and_redis():
    web = compose_services()["web"]
    assert web["environment"]["DATABASE_URL"].startswith("postgres://")
    assert web["environment"]["REDIS_URL"].startswith("redis://")


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
    try:
        result = subprocess.run(["docker", "compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    finally:
        if created:
            env_file.unlink()
    assert result.returncode == 0, result.stderr
