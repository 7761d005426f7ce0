"""One story about settings in every file: server.json (the MCP registry entry), manifest.json (the
Claude Desktop bundle), the README and docs, all told from pylon_mcp/config.py's OPTIONS and Settings.

A fresh install starts read-only everywhere (the README's client configs, the bundle, the registry
entry), and the token comes from the same place in Pylon everywhere. Other defaults are the server's own.
server.json's descriptions are generated from each option's help text: after a deliberate change,
UPDATE_SNAPSHOTS=1 pytest tests/test_settings_story.py rewrites them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from pylon_mcp.config import OPTIONS, Option, Settings
from pylon_mcp.pylon.auth import Secret

ROOT = Path(__file__).resolve().parent.parent
SERVER_JSON = ROOT / "server.json"
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
OPTION_BY_ENV = {option.env: option for option in OPTIONS}
TOKEN_WHERE = "Settings > Integrations & dev > API tokens"
# Registry entries whose description says more than the option's --help line: where the token comes
# from, and why a fresh install is read-only.
OWN_DESCRIPTIONS = {
    "PYLON_API_TOKEN": f"Pylon API token; a Pylon admin creates one under {TOKEN_WHERE}. "
    "Tokens starting pylon_api_eu_ go to Pylon's EU region.",
    "PYLON_READ_ONLY": "true (the default for a fresh install): offer only read tools and refuse writes. "
    "Set false to let the assistant change issues in your real Pylon workspace.",
}
# What a fresh install starts with where it differs from the server's own default.
FRESH_INSTALL = {"PYLON_READ_ONLY": "true"}
REGISTRY_FORMAT = {bool: "boolean", int: "number", float: "number"}


def server_json() -> dict[str, Any]:
    return json.loads(SERVER_JSON.read_text(encoding="utf-8"))


def variables() -> list[dict[str, Any]]:
    (package,) = server_json()["packages"]
    return package["environmentVariables"]


def server_default(option: Option) -> str | None:
    """The server's default for an option, spelled as an environment variable would; None when unset."""
    default = getattr(Settings(), option.name)
    if isinstance(default, Secret):
        return default.reveal() or None
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, tuple):
        return ",".join(default) or None
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return None if default is None else str(default)


def registry_description(option: Option) -> str:
    if option.env in OWN_DESCRIPTIONS:
        return OWN_DESCRIPTIONS[option.env]
    text = option.help.rstrip(".") + "."
    return text if "://" in text.split(" ", 1)[0] else text[0].upper() + text[1:]


def test_server_json_descriptions_come_from_the_options() -> None:
    entry = server_json()
    for variable in entry["packages"][0]["environmentVariables"]:
        expected = registry_description(OPTION_BY_ENV[variable["name"]])
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            variable["description"] = expected
        assert variable["description"] == expected or os.environ.get("UPDATE_SNAPSHOTS") == "1", (
            f"server.json's {variable['name']} description is out of date: "
            "UPDATE_SNAPSHOTS=1 pytest tests/test_settings_story.py"
        )
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SERVER_JSON.write_text(json.dumps(entry, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@pytest.mark.parametrize("variable", variables(), ids=lambda v: v["name"])
def test_server_json_defaults_and_formats_are_the_servers(variable: dict[str, Any]) -> None:
    option = OPTION_BY_ENV[variable["name"]]
    assert variable.get("format", "string") == REGISTRY_FORMAT.get(option.kind, "string")
    expected = FRESH_INSTALL.get(option.env, server_default(option))
    assert variable.get("default") == expected, variable["name"]


def test_a_fresh_install_is_read_only_everywhere() -> None:
    registry = {v["name"]: v for v in variables()}
    assert registry["PYLON_READ_ONLY"]["default"] == "true"
    assert MANIFEST["user_config"]["read_only"]["default"] is True
    # Every stdio client config the README shows starts read-only.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    configs = re.findall(r'^.*"env": \{.*$|^claude mcp add .*$', readme, re.MULTILINE)
    assert len(configs) >= 3
    for config in configs:
        assert re.search(r"PYLON_READ_ONLY[\"=: ]+\"?true", config), config


def test_bundle_settings_default_to_the_servers_defaults_but_read_only() -> None:
    env = MANIFEST["server"]["mcp_config"]["env"]
    for name, value in env.items():
        key = re.fullmatch(r"\$\{user_config\.([^}]+)\}", value)
        if not key:
            continue
        setting = MANIFEST["user_config"][key.group(1)]
        if setting.get("required"):
            continue
        default = setting["default"]
        spelled = ("true" if default else "false") if isinstance(default, bool) else str(default) or None
        assert spelled == FRESH_INSTALL.get(name, server_default(OPTION_BY_ENV[name])), name


def test_the_token_comes_from_the_same_place_in_pylon_everywhere() -> None:
    registry = {v["name"]: v for v in variables()}
    texts = {
        "server.json": registry["PYLON_API_TOKEN"]["description"],
        "manifest.json user_config": MANIFEST["user_config"]["api_token"]["description"],
        "manifest.json long_description": MANIFEST["long_description"],
        "README.md": (ROOT / "README.md").read_text(encoding="utf-8"),
    }
    for where, text in texts.items():
        assert TOKEN_WHERE in text, where
    everything = "\n".join([SERVER_JSON.read_text(), json.dumps(MANIFEST)] + [
        page.read_text() for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    ])  # fmt: skip
    # Any other spelling of the path to the token page is a second story.
    assert re.findall(r"Settings\s*(?:→|->)", everything) == []
