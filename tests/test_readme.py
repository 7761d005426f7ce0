"""The README agrees with the code: generated tables, the two first commands, and CI running the test command.

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


def section(text: str, name: str) -> tuple[int, int]:
    start = text.index(f"<!-- {name}-table:start -->") + len(f"<!-- {name}-table:start -->\n")
    return start, text.index(f"<!-- {name}-table:end -->")


@pytest.mark.parametrize("name", list(TABLES))
def test_generated_tables_match_the_code(name: str) -> None:
    text = README.read_text()
    start, end = section(text, name)
    expected = TABLES[name]() + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        text = text[:start] + expected + text[end:]
        README.write_text(text)
    start, end = section(README.read_text(), name)
    assert README.read_text()[start:end] == expected, (
        f"README's {name} table is out of date: UPDATE_SNAPSHOTS=1 pytest tests/test_readme.py"
    )


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


def prose() -> str:
    """The README without its generated blocks (benchmark figures are generated, with their date)."""
    text = README.read_text()
    return re.sub(r"<!-- (\S+):start -->.*?<!-- \1:end -->", "", text, flags=re.DOTALL)


def test_no_hand_written_sizes_or_file_counts() -> None:
    # Issue 14, item 6: "about 45 files, under 100 kB" drifted to 47 and 105.6 kB. Figures that change
    # with every commit are generated or left out.
    assert re.findall(r"\b\d+(?:\.\d+)?\s?(?:kB|KB|MB)\b|\babout \d+ files\b", prose()) == []


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
