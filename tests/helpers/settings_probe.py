"""settings.py read in a fresh interpreter, from the environment a test gives it."""

import json
import os
import re
import subprocess
import sys

from tests.helpers.repository import ROOT

SETTINGS_FILE = ROOT / "nowistay" / "settings.py"
# Settings that settings.py imports from a module of their own.
SETTINGS_MODULES = (SETTINGS_FILE, ROOT / "nowistay" / "channel_settings.py")


def env_vars_read_by_settings() -> set[str]:
    """Every variable settings.py reads: env.<type>("NAME", ...), env.list("NAME"), env.email_url(...)..."""
    source = "\n".join(path.read_text() for path in SETTINGS_MODULES)
    return set(re.findall(r"\benv\.\w+\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))


def run_settings(names, env_overrides=None, remove=()):
    """Import nowistay.settings in a fresh interpreter with the given environment; return the values."""
    env = {key: value for key, value in os.environ.items() if key not in remove}
    env.update(env_overrides or {})
    env["DJANGO_SETTINGS_MODULE"] = "nowistay.settings"
    code = (
        "import json, sys\n"
        "from django.conf import settings\n"
        "names = json.loads(sys.argv[1])\n"
        "print(json.dumps({n: getattr(settings, n) for n in names}, default=str))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(names))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


def settings_values(names, env_overrides=None, remove=()):
    result = run_settings(names, env_overrides, remove)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
