"""Tool JSON Schemas computed once at development time, loaded at start-up.

Generating the input and output schemas is most of what building the server
costs (~25 ms of a ~750 ms cold start that a desktop client waits for). The
schemas only change when the code that defines them changes, so they are kept
in `schemas.json` together with a fingerprint of that code. A stale or missing
file is simply ignored (schemas are then generated live), so it can never serve
a schema that disagrees with validation; `tests/test_tool_surface.py` fails
until the file is regenerated: UPDATE_SNAPSHOTS=1 pytest tests/test_tool_surface.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pydantic
from mcp.server.mcpserver.utilities import func_metadata as func_metadata_module

CACHE_FILE = Path(__file__).with_name("schemas.json")
_PACKAGE = Path(__file__).resolve().parent.parent
# Everything that shapes a tool's published schemas.
SOURCES = (
    "tools/args.py",
    "tools/issues.py",
    "tools/issue_writes.py",
    "tools/followers.py",
    "tools/schema.py",
    "render/issues.py",
    "pylon/filters.py",
    "pylon/models.py",
)


def fingerprint() -> str | None:
    digest = hashlib.sha256(pydantic.VERSION.encode())
    # How the SDK turns a function signature into a schema, too.
    sdk = Path(func_metadata_module.__file__ or "")
    try:
        for path in (*(_PACKAGE / name for name in SOURCES), sdk):
            digest.update(path.read_bytes())
    except OSError:  # installed without sources: generate live
        return None
    return digest.hexdigest()


def load() -> dict[str, dict[str, Any]] | None:
    """{tool name: {"input": schema, "output": schema}}, or None when absent or stale."""
    expected = fingerprint()
    if expected is None:
        return None
    try:
        data = json.loads(CACHE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != expected:
        return None
    tools: dict[str, dict[str, Any]] = data["tools"]
    return tools


def write(tools: dict[str, dict[str, Any]]) -> None:
    payload = {"fingerprint": fingerprint(), "tools": tools}
    CACHE_FILE.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
