"""Health probe of a container: exit 0 when the web process answers 200 on the given path.

    python deploy/probe.py /healthz      (liveness: the image's HEALTHCHECK)
    python deploy/probe.py /readyz       (readiness: the web service's health check in docker-compose.yml)

Standard library only, so a probe costs no Django start-up.
"""

import sys
import urllib.error
import urllib.request

BASE_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 5


def main(path: str) -> int:
    try:
        with urllib.request.urlopen(BASE_URL + path, timeout=TIMEOUT_SECONDS) as response:
            print(response.status, response.read().decode(errors="replace"))
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as error:  # 503 from /readyz: the body names what failed
        print(error.code, error.read().decode(errors="replace"))
    except OSError as error:
        print(f"no answer from {BASE_URL}{path}: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/healthz"))
