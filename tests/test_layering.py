"""Import rules that keep the layers readable from the folder tree (checked on the source, not at runtime)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pylon_mcp"


def imports(module: str) -> set[str]:
    """Every module a file imports, at any depth (lazy imports included)."""
    path = PACKAGE / (module.removeprefix("pylon_mcp.").replace(".", "/") + ".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(under: str = "") -> list[str]:
    root = PACKAGE / under
    return sorted("pylon_mcp." + str(p.relative_to(PACKAGE).with_suffix("")).replace("/", ".")
                  for p in root.rglob("*.py"))  # fmt: skip


SURFACE = "pylon_mcp.surface"  # what a model sees: tools, resources, prompts, completions
HOSTING = "pylon_mcp.hosting"  # the HTTP app, its limits, readiness and metrics


def importers(target: str) -> dict[str, list[str]]:
    """{module: the names it imports from `target` or below}, for every module that does."""
    found = {m: sorted(n for n in imports(m) if n == target or n.startswith(target + ".")) for m in modules()}
    return {m: names for m, names in found.items() if names}


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("pylon_mcp.surface.resources.issues", "pylon_mcp.surface.tools"),  # resources sit beside tools
        ("pylon_mcp.changes", "pylon_mcp.surface.tools"),
        ("pylon_mcp.changes", "pylon_mcp.surface.resources.issues"),
        ("pylon_mcp.surface.tools.issue_writes", "pylon_mcp.surface.resources.issues"),
        ("pylon_mcp.surface.tools.followers", "pylon_mcp.surface.resources.issues"),
        # write tools don't lean on read tools
        ("pylon_mcp.surface.tools.issue_writes", "pylon_mcp.surface.tools.issues"),
        ("pylon_mcp.surface.tools.followers", "pylon_mcp.surface.tools.issues"),
    ],
)
def test_layer_rule(module: str, forbidden: str) -> None:
    bad = sorted(name for name in imports(module) if name == forbidden or name.startswith(forbidden + "."))
    assert not bad, f"{module} imports {bad}"


def test_nothing_below_the_mcp_surface_knows_about_tools_or_resources() -> None:
    for module in modules("pylon") + modules("shared") + modules("render"):
        bad = [n for n in imports(module) if n == SURFACE or n.startswith(SURFACE + ".")]
        assert not bad, f"{module} imports {bad}"


def test_only_the_server_and_the_cli_reach_into_the_mcp_surface() -> None:
    outside = {m: names for m, names in importers(SURFACE).items() if not m.startswith(SURFACE + ".")}
    assert set(outside) <= {"pylon_mcp.server", "pylon_mcp.cli"}, outside


def test_only_the_server_and_the_cli_reach_into_hosting() -> None:
    outside = {m: names for m, names in importers(HOSTING).items() if not m.startswith(HOSTING + ".")}
    # The client records each upstream answer (a no-op until HTTP mode enables metrics).
    allowed = {"pylon_mcp.server", "pylon_mcp.cli", "pylon_mcp.pylon.client"}
    assert set(outside) <= allowed, outside
    assert set(outside.get("pylon_mcp.pylon.client", [])) <= {HOSTING, f"{HOSTING}.metrics"}


def test_the_client_endpoint_mixins_sit_below_the_client() -> None:
    """client.py builds PylonClient from the endpoint mixins, so nothing else in pylon/ imports it
    (not even lazily): they share the transport's pieces through pylon/transport.py."""
    users = {m for m in importers("pylon_mcp.pylon.client") if m.startswith("pylon_mcp.pylon.")}
    assert users == set(), users


def test_the_pylon_client_knows_nothing_about_mcp() -> None:
    for module in modules("pylon"):
        bad = [name for name in imports(module) if name == "mcp" or name.startswith(("mcp.", "mcp_types"))]
        assert not bad, f"{module} imports {bad}"


def test_optional_heavy_libraries_are_imported_in_one_place_each() -> None:
    owners = {
        "redis": {"pylon_mcp.shared.redis_backend", "pylon_mcp.shared.redis_knowledge"},
        "prometheus_client": {"pylon_mcp.hosting.metrics"},
    }
    for library, allowed in owners.items():
        users = {m for m in modules() if any(n == library or n.startswith(library + ".") for n in imports(m))}
        assert users == allowed, library
