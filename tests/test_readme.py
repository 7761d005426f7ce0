"""The README and docs/ agree with the code: generated tables, the two first commands, CI running the
test command, links that lead somewhere, and a README that stays a user's guide.

After a deliberate change: UPDATE_SNAPSHOTS=1 pytest tests/test_readme.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.readme_tables import TABLES

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]


def section(text: str, name: str) -> tuple[int, int]:
    start = text.index(f"<!-- {name}-table:start -->") + len(f"<!-- {name}-table:start -->\n")
    return start, text.index(f"<!-- {name}-table:end -->")


def page_with(name: str) -> Path:
    """The one page (README or docs/) that holds a generated table."""
    holders = [page for page in PAGES if f"<!-- {name}-table:start -->" in page.read_text()]
    assert len(holders) == 1, f"the {name} table must be in exactly one page, found {holders}"
    return holders[0]


@pytest.mark.parametrize("name", list(TABLES))
def test_generated_tables_match_the_code(name: str) -> None:
    page = page_with(name)
    text = page.read_text()
    start, end = section(text, name)
    expected = TABLES[name]() + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        page.write_text(text[:start] + expected + text[end:])
    start, end = section(page.read_text(), name)
    assert page.read_text()[start:end] == expected, (
        f"{page.relative_to(ROOT)}'s {name} table is out of date: UPDATE_SNAPSHOTS=1 pytest tests/test_readme.py"
    )


def test_the_tools_table_is_in_the_readme_and_the_others_in_docs() -> None:
    assert page_with("tools") == README
    assert page_with("options") == ROOT / "docs" / "configuration.md"
    assert page_with("bundle") == ROOT / "docs" / "bundle.md"


def first_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, "the README starts with a shell block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_the_first_two_commands_install_and_run_the_demo_and_the_tests() -> None:
    run, test = first_commands()[:2]
    assert "pip install -e ." in run and "--demo" in run
    assert "pip install -e '.[test]'" in test and "pytest" in test


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test = first_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()


def prose(page: Path) -> str:
    """A page without its generated blocks (benchmark figures are generated, with their date)."""
    return re.sub(r"<!-- (\S+):start -->.*?<!-- \1:end -->", "", page.read_text(), flags=re.DOTALL)


# The pages that were once part of the README (the benchmark page is measurements, each with its run).
FROM_README = ("bundle", "configuration", "development", "hosting", "safety", "sandbox", "tools")


@pytest.mark.parametrize(
    "page", [README, *(ROOT / "docs" / f"{n}.md" for n in FROM_README)], ids=lambda p: p.name
)
def test_no_hand_written_sizes_or_file_counts(page: Path) -> None:
    # "about 45 files, under 100 kB" drifted to 47 and 105.6 kB. Figures that change with every commit
    # are generated or left out.
    assert re.findall(r"\b\d+(?:\.\d+)?\s?(?:kB|KB|MB)\b|\babout \d+ files\b", prose(page)) == []


def test_python_version_is_said_before_the_first_command_and_matches_pyproject() -> None:
    text = README.read_text()
    before_commands = text[: text.index("```sh")]
    assert "**Requires Python 3.11 or newer**" in before_commands
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()


def test_every_install_route_says_what_to_install() -> None:
    install = README.read_text().split("## Install", 1)[1].split("##", 1)[0]
    rows = [line for line in install.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 3
    for row in rows:
        assert "nothing to install" not in row
    assert "install uv" in next(row for row in rows if row.startswith("| uv "))


def test_no_install_path_assumes_a_published_package() -> None:
    # Nothing is on PyPI yet: `pip install 'pylon-mcp[redis]'` or `uvx pylon-mcp` would fail for a reader.
    # docs/development.md's "Releasing" section may name them as what a release makes possible.
    published = re.compile(r"pip install '?pylon-mcp|pipx install pylon-mcp|uvx pylon-mcp(?!\S)")
    for page in [*PAGES, ROOT / "Dockerfile"]:
        text = page.read_text()
        if page.name == "development.md":
            text = text.split("## Releasing", 1)[0]
        # A line may name such a command to say that it fails (Troubleshooting).
        lines = [line for line in text.splitlines() if "Nothing is published" not in line]
        assert published.findall("\n".join(lines)) == [], page.name


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return {slug(heading) for heading in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_local_links_lead_to_a_file_and_heading_that_exist(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}: no such file"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.name} links to {target}: no such heading"


def test_the_readme_is_a_users_guide() -> None:
    # Details live in docs/; the README says what it is, how to install and connect, the tools, safety,
    # troubleshooting and where the rest is. No project history or internal figures a reader can't follow.
    text = README.read_text()
    assert len(text.splitlines()) <= 300, "the README grew past 300 lines: move the details to a docs/ page"
    for heading in ("Install", "Connect a client", "Tools", "Safety", "Troubleshooting", "Documentation"):
        assert f"\n## {heading}\n" in text, heading
    history = re.compile(r"\bissue \d+\b|\bbenchmark \d+\b|\blast release\b|@ [0-9a-f]{7}\b", re.IGNORECASE)
    assert history.findall(prose(README)) == []
    linked = set(re.findall(r"\]\(docs/([^)#]+)", text))
    assert {page.name for page in DOCS} <= linked, "every docs/ page is linked from the README"
