"""The README and docs/ stand on their own: everything they point at is in the repository.

A clone holds nothing beside the repository, so a link (or a path in backticks) to `../shared/…`
is missing there. Relative links must resolve to a file or folder of the repository (and an anchor
to a heading of the file it names); paths written as code must exist too.
"""

import re
from pathlib import Path

import pytest

from tests.helpers.repository import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
PARENT_PATH = re.compile(r"(?:\.\./)+[\w.*/-]*")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
REPO_PATH = re.compile(r"^[\w.-]+(?:/[\w.*-]+)*/?$")
# Folders a run creates (`var/`), never part of a clone.
GENERATED = {"var", ".venv", "staticfiles"}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    return {slug(heading) for heading in HEADING.findall(FENCE.sub("", path.read_text()))}


def inside_repository(path: Path) -> bool:
    return path == ROOT or ROOT in path.parents


def top_level_folders() -> set[str]:
    return {entry.name for entry in ROOT.iterdir() if entry.is_dir() and not entry.name.startswith(".")} - GENERATED


def test_there_are_documents_to_check():
    assert ROOT / "README.md" in DOCUMENTS
    assert {relative(path) for path in DOCUMENTS} >= {"docs/product.md", "docs/vendors.md"}


def test_the_readme_links_to_the_product_description():
    targets = LINK.findall((ROOT / "README.md").read_text())
    assert "docs/product.md" in targets and "docs/vendors.md" in targets


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_relative_links_resolve_inside_the_repository(document):
    problems = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not inside_repository(linked):
            problems.append(f"{target}: outside the repository")
        elif not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{target}: no heading #{anchor} in {relative(linked)}")
    assert not problems, f"{relative(document)}: {problems}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_nothing_points_above_the_repository(document):
    """Links, code spans and prose alike: `../x` from this file must stay inside the repository."""
    outside = [
        written
        for written in PARENT_PATH.findall(document.read_text())
        if not inside_repository((document.parent / written).resolve())
    ]
    assert not outside, f"{relative(document)} points outside the repository: {outside}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_repository_paths_written_as_code_exist(document):
    folders = top_level_folders()
    missing = []
    for span in CODE_SPAN.findall(FENCE.sub("", document.read_text())):
        if not REPO_PATH.match(span) or span.split("/")[0] not in folders:
            continue
        if not list(ROOT.glob(span.rstrip("/"))):
            missing.append(span)
    assert not missing, f"{relative(document)} names paths that do not exist: {missing}"


def test_no_tracked_file_points_a_reader_outside_the_repository():
    """Code comments and docstrings cite the repository's docs, never a folder beside the clone."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = re.compile(r"shared/(?:reference|product)|vendor-apis(?:-addendum)?\.md|\bSPEC\.md")
    offenders = [
        f"{name}:{number}"
        for name in tracked
        if name.endswith((".py", ".md", ".html", ".txt")) and name != relative(Path(__file__))
        for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
        if outside.search(line)
    ]
    assert offenders == []
