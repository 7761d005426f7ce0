"""What a reader of the repository and of the package index sees: pyproject's metadata, a changelog
written for users (Keep a Changelog), and a security policy."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}  # Keep a Changelog 1.1.0


def test_pyproject_links_and_classifies_an_application() -> None:
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(PROJECT["urls"])
    assert all(url.startswith("https://") for url in PROJECT["urls"].values())
    classifiers = PROJECT["classifiers"]
    assert len([c for c in classifiers if c.startswith("Development Status ::")]) == 1
    assert "Topic :: Software Development :: Libraries" not in classifiers  # an application, not a library
    assert any(c.startswith("Intended Audience ::") for c in classifiers)
    assert any(c.startswith("Environment ::") for c in classifiers)


def test_the_changelog_is_one_keep_a_changelog_for_users() -> None:
    versions = re.findall(r"^## (.+)$", CHANGELOG, re.MULTILINE)
    assert versions[0] == "[Unreleased]" and versions.count("[Unreleased]") == 1
    for heading in versions[1:]:  # a released version has a date, never "Unreleased"
        assert re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", heading), heading
    assert set(re.findall(r"^### (.+)$", CHANGELOG, re.MULTILINE)) <= SECTIONS
    # References a reader cannot follow: the project's internal issue numbers and goals.
    assert re.findall(r"\bissue \d+\b|\bgoal \d+\b", CHANGELOG, re.IGNORECASE) == []


def test_security_policy_says_how_to_report_and_what_is_in_scope() -> None:
    policy = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    for heading in ("Reporting a vulnerability", "Supported versions", "In scope", "Out of scope"):
        assert f"\n## {heading}\n" in policy, heading
    assert "security/advisories/new" in policy  # private reporting, not a public issue
    for topic in ("Prompt injection", "Token handling", "Server-side request forgery", "OAuth"):
        assert topic in policy, topic
