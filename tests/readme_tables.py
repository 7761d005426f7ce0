"""Tables in the README and docs/, generated from the code and manifest.json (tests/test_readme.py checks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pylon_mcp.config import OPTIONS
from pylon_mcp.server import build_tool
from pylon_mcp.surface.tools.registry import TOOLS


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def tools_table() -> str:
    rows = [
        "| Tool | What it does | Toolset | Reads or writes | Offered "
        "| readOnly | destructive | idempotent | openWorld |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in TOOLS:
        tool = build_tool(spec)
        first_sentence = tool.description.split(". ")[0].rstrip(".") + "."
        hints = tool.annotations
        assert hints is not None
        switch = next(o.env for o in OPTIONS if o.name == (spec.switch or "enable_delete"))
        offered = "by default" if spec.default else f"with `{switch}=true`"
        rows.append(
            f"| `{tool.name}` | {first_sentence} | {spec.toolset} | "
            f"{'read' if spec.read_only else 'write'} | {offered} | "
            f"{_yes(bool(hints.read_only_hint))} | {_yes(bool(hints.destructive_hint))} | "
            f"{_yes(bool(hints.idempotent_hint))} | {_yes(bool(hints.open_world_hint))} |"
        )
    return "\n".join(rows)


def options_table() -> str:
    rows = ["| Environment variable | Flag | What it sets |", "| --- | --- | --- |"]
    for option in OPTIONS:
        flag = option.flag if option.kind is bool else f"{option.flag} {option.name.upper()}"
        rows.append(f"| `{option.env}` | `{flag}` | {option.help} |")
    return "\n".join(rows)


MANIFEST = Path(__file__).resolve().parent.parent / "manifest.json"


def _bundle_default(setting: dict[str, Any]) -> str:
    if "default" not in setting:
        return "none"
    value = setting["default"]
    if isinstance(value, bool):
        return "**on**" if value else "off"
    return f"`{value}`" if value != "" else "empty"


def bundle_table() -> str:
    """The settings Claude Desktop asks for when the bundle is installed, and the variable each becomes."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    env_of = {
        value.removeprefix("${user_config.").removesuffix("}"): name
        for name, value in manifest["server"]["mcp_config"]["env"].items()
        if value.startswith("${user_config.")
    }
    rows = ["| Setting | Required | Default | Becomes | What it does |", "| --- | --- | --- | --- | --- |"]
    for key, setting in manifest["user_config"].items():
        rows.append(
            f"| {setting['title']} | {'yes' if setting.get('required') else 'no'} | "
            f"{_bundle_default(setting)} | `{env_of[key]}` | {setting['description']} |"
        )
    return "\n".join(rows)


TABLES = {"tools": tools_table, "options": options_table, "bundle": bundle_table}
