"""The release workflow (.github/workflows/release.yml) has the shape docs/development.md describes.

It cannot run here (no GitHub Actions, no PyPI upload), so this checks its structure only: a tag
triggers it; sdist and wheel are built and pass `twine check`; PyPI gets them through trusted
publishing (OIDC, no stored token) only after the build; the MCPB bundle is built with the mcpb
version CI validates with; and a release gets the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
TEXT = WORKFLOW.read_text(encoding="utf-8")


def runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def test_the_workflow_says_it_is_untested_and_the_docs_say_how_to_release() -> None:
    assert "UNTESTED" in TEXT
    development = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    releasing = development.split("## Releasing", 1)[1]
    assert "release.yml" in releasing and "never run" in releasing


def test_the_workflow_builds_checks_publishes_and_bundles() -> None:
    import yaml  # a test dependency (pyproject [test])

    workflow = yaml.safe_load(TEXT)
    trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert trigger == {"push": {"tags": ["v*"]}}
    assert workflow["permissions"] == {"contents": "read"}  # least privilege unless a job asks
    jobs = workflow["jobs"]

    build = jobs["build"]
    assert "python -m build" in runs(build) and "twine check --strict dist/*" in runs(build)
    assert "__version__" in runs(build) and "CHANGELOG.md" in runs(build)  # checked before publishing

    publish = jobs["publish-pypi"]
    assert publish["needs"] == "build" and publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert any(action.startswith("pypa/gh-action-pypi-publish@") for action in uses(publish))
    assert "password" not in TEXT.lower() and "secrets." not in TEXT  # trusted publishing: no token

    bundle = jobs["bundle"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert (
        "npx -y @anthropic-ai/mcpb@2.1 validate manifest.json" in runs(bundle) and "mcpb@2.1 validate" in ci
    )
    assert "npx -y @anthropic-ai/mcpb@2.1 pack ." in runs(bundle)

    release = jobs["github-release"]
    assert set(release["needs"]) == {"publish-pypi", "bundle"}
    assert release["permissions"] == {"contents": "write"}
    assert "gh release create" in runs(release)
