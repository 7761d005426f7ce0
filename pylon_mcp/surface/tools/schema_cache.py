"""Tool JSON Schemas and descriptions generated once per machine and installed version, loaded at later start-ups.

Generating the tools' input and output schemas is the largest part of building the
server (measured: cold start 574 ms without a cache, 508 ms with it, against a bare
SDK server's ~495 ms). Desktop clients start the server often, so the schemas are
written to the user's cache directory on the first start and read on the next ones.

Nothing is committed to the repository: the file is keyed by a fingerprint of the
package's sources and of the versions of the libraries that shape the schemas, so an
upgrade of either simply writes a new file. A missing, stale, unreadable or unwritable
cache means the schemas are generated live, which is always correct.

A start-up that finds every tool in the cache imports no tool module at all (the
descriptions are cached with the schemas): a tool's module loads on its first call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core
from mcp.server.mcpserver.utilities import func_metadata as func_metadata_module

from pylon_mcp.config import cache_dir

_PACKAGE = Path(__file__).resolve().parents[2]  # pylon_mcp/ (this file is pylon_mcp/surface/tools/)


def _library_versions() -> str:
    # Versions from the already-imported modules, and the SDK's schema code by size and mtime:
    # importlib.metadata would cost ~30 ms of start-up to scan site-packages.
    sdk = Path(func_metadata_module.__file__ or "")
    try:
        stat = sdk.stat()
        sdk_key = f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        sdk_key = "?"
    return f"pydantic={pydantic.VERSION};pydantic-core={pydantic_core.__version__};mcp-schema-code={sdk_key}"


def fingerprint() -> str | None:
    """A digest of every package source file's name, size and modification time, and the versions
    of the libraries that shape the schemas. Stat, not contents: reading and hashing ~80 files took
    ~9 ms of every start; any edit or reinstall changes a file's mtime, which is all a cache key needs.
    os.scandir rather than Path.rglob: half the time, on every start."""
    digest = hashlib.sha256(_library_versions().encode())
    try:
        for name, size, mtime in sorted(_sources(str(_PACKAGE))):
            digest.update(f"{name}:{size}:{mtime};".encode())
    except OSError:
        return None
    return digest.hexdigest()[:32]


def _sources(root: str) -> list[tuple[str, int, int]]:
    """(path relative to root with "/", size, mtime in ns) of every *.py file under root."""
    found: list[tuple[str, int, int]] = []
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    stat = entry.stat()
                    name = os.path.relpath(entry.path, root).replace(os.sep, "/")
                    found.append((name, stat.st_size, stat.st_mtime_ns))
    return found


def cache_file(key: str) -> Path:
    return cache_dir() / f"tool-schemas-{key}.json"


def load(key: str | None) -> dict[str, dict[str, Any]] | None:
    """{tool name: {"description": text, "input": schema, "output": schema}}, or None when there is no
    usable cache."""
    if key is None:
        return None
    try:
        data = json.loads(cache_file(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    tools = data.get("tools") if isinstance(data, dict) else None
    return tools if isinstance(tools, dict) else None


def write(key: str | None, tools: dict[str, dict[str, Any]]) -> None:
    """Best effort and atomic: a reader never sees half a file; any failure is ignored."""
    if key is None:
        return
    target = cache_file(key)
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob("tool-schemas-*.json"):
            if stale != target:
                stale.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tool-schemas-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"tools": tools}, handle, separators=(",", ":"))
        os.replace(tmp, target)
