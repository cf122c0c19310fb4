import pytest

from tests.helpers.lifecycle import tick


@pytest.fixture
def committed_tick(django_capture_on_commit_callbacks):
    """One scheduler pass whose on-commit callbacks run (the `codes_ready` event goes out after commit)."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return tick()

    return run
