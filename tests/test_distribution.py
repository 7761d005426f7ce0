"""What operators install from: the MCP registry entry (server.json) and the container image."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path

import jsonschema
import pytest

from pylon_mcp import __version__
from pylon_mcp.config import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests/schemas/server.schema.2025-12-11.json").read_text())
SERVER = json.loads((ROOT / "server.json").read_text())


def test_server_json_validates_against_the_vendored_registry_schema() -> None:
    assert SERVER["$schema"] == SCHEMA["$id"]
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(SERVER)


def test_server_json_names_this_package_version_and_readme_line() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (package,) = SERVER["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == project["name"]
    assert package["version"] == SERVER["version"] == __version__
    # The registry proves PyPI ownership by this line in the README (the PyPI description).
    readme = (ROOT / "README.md").read_text()
    assert re.findall(r"mcp-name: (\S+) -->", readme) == [SERVER["name"]]


def test_server_json_environment_variables_are_real_options_with_secrets_marked() -> None:
    options = {option.env: option for option in OPTIONS}
    variables = SERVER["packages"][0]["environmentVariables"]
    assert {v["name"] for v in variables if v.get("isRequired")} == {"PYLON_API_TOKEN"}
    for variable in variables:
        option = options[variable["name"]]  # KeyError: an option that does not exist
        assert variable["isSecret"] is (option.kind == "secret"), variable["name"]
    assert {"PYLON_API_TOKEN", "PYLON_MCP_AUTH_TOKEN", "PYLON_MCP_REDIS_URL"} <= {
        v["name"] for v in variables if v["isSecret"]
    }


def test_the_schema_refuses_what_the_registry_refuses() -> None:
    """The vendored schema is doing its job: a broken entry fails."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert not validator.is_valid({**SERVER, "name": "no-slash"})
    assert not validator.is_valid({**SERVER, "description": "x" * 101})


DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_dockerfile_is_slim_non_root_with_a_healthcheck_and_embedded_defaults() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE)
    assert stages and all(image.startswith("python:3.") and image.endswith("-slim") for image in stages)
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    # Numeric (hadolint DL3066): Kubernetes' runAsNonRoot can only verify a numeric user.
    user = re.findall(r"^USER (\d+)(?::(\d+))?$", final, re.MULTILINE)
    assert user and "0" not in user[-1], "the last USER must be numeric, not root"
    assert f"--uid {user[-1][0]}" in final, "USER must be the user the image creates"
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert "PYLON_MCP_REDIS_URL" not in re.sub(r"^#.*$", "", final, flags=re.MULTILINE)  # default: in-process


def test_dockerfile_installs_only_pinned_packages() -> None:
    # hadolint DL3013: every `pip install` names wheel files built in the image, or exact versions.
    installs = re.findall(r"pip install ([^&\n]+)", DOCKERFILE)
    assert installs
    for args in installs:
        packages = [arg for arg in args.split() if not arg.startswith("-")]
        assert packages and all(p.endswith(".whl") or "==" in p for p in packages), args


def _engine() -> str | None:
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=20).returncode == 0:
            return path
    return None


@pytest.mark.slow
def test_the_image_builds_and_runs_as_a_non_root_user() -> None:
    engine = _engine()
    if engine is None:
        pytest.skip(
            "no container engine answers here (docker/podman missing or no daemon): image not built; "
            "see docs/development.md to run it"
        )
    tag = f"pylon-mcp-test:{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run([engine, "build", "-q", "-t", tag, str(ROOT)], check=True, timeout=900)
        user = subprocess.run([engine, "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True,
                              text=True, check=True, timeout=120)  # fmt: skip
        assert user.stdout.strip() not in ("", "0")
        version = subprocess.run([engine, "run", "--rm", tag, "--version"], capture_output=True, text=True,
                                 check=True, timeout=120)  # fmt: skip
        assert __version__ in version.stdout + version.stderr
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, timeout=120)
