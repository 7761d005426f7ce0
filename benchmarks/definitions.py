"""11. Context and rate-limit budget: tool-definition bytes and upstream requests per call, vs the previous commit.

- Definitions: what a model is shown on every turn (name + description + inputSchema, compact
  JSON) for the default tool set with writes on, and the whole tools/list; per toolset too.
  Issue 16's goal is 10 KB for that set with the conversation and directory tools included;
  until they exist here, their budget (1.5 KB + 0.8 KB) is held back from the 10 KB.
- Requests: each tool call of a fixed script, counted in the sandbox's request log: issue
  endpoints against the goal, directory lookups (names for IDs, at most one per call) beside them.

The baseline is the package at PYLON_BENCH_BASELINE_REV (default HEAD~1: on main, the state
before the last merge), exported with `git archive` into a temporary directory (the repository
is not touched), and run the same way as ours against the same sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

from benchmarks.common import (
    OURS_ARGV,
    ROOT,
    SRC,
    TOKEN,
    Config,
    Outcome,
    Row,
    StdioPeer,
    admin,
    compact,
    ratio,
    sandbox,
    server_env,
)

BUDGET = 10_000
RESERVED = {"conversation": 1_500, "directory": 800}  # issue 16's budgets for tools other branches add
TOOLSETS = ("issues", "conversation", "directory", "knowledge")
FUTURE = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
FOLLOW = {"operation": "add", "user_ids": ["{user}"]}

# (label, issue number, look at it first?, tool, arguments, goal). Each uses its own issue, so
# "not seen" is cold in one server process; the search runs last because it sees 20 issues.
SCRIPT: list[tuple[str, int, bool, str, dict[str, Any], int]] = [
    ("get_issue", 21, False, "get_issue", {"issue_id": "{n}"}, 1),
    ("update_issue, ID", 22, False, "update_issue", {"issue_id": "{id}", "title": "Renamed"}, 1),
    ("update_issue, number seen", 23, True, "update_issue", {"issue_id": "{n}", "title": "Renamed"}, 1),
    ("update_issue, number not seen", 24, False, "update_issue", {"issue_id": "{n}", "title": "Renamed"}, 2),
    ("update_issue add_tags, ID", 25, False, "update_issue", {"issue_id": "{id}", "add_tags": ["bench"]}, 2),
    ("snooze_issue, ID", 26, False, "snooze_issue", {"issue_id": "{id}", "snooze_until": FUTURE}, 1),
    ("snooze_issue, number seen", 27, True, "snooze_issue", {"issue_id": "{n}", "snooze_until": FUTURE}, 1),
    ("snooze_issue, number not seen", 28, False, "snooze_issue", {"issue_id": "{n}", "snooze_until": FUTURE}, 2),
    ("manage_followers, ID", 29, False, "manage_followers", {"issue_id": "{id}", **FOLLOW}, 1),
    ("manage_followers, number seen", 30, True, "manage_followers", {"issue_id": "{n}", **FOLLOW}, 1),
    ("manage_followers, number not seen", 31, False, "manage_followers", {"issue_id": "{n}", **FOLLOW}, 2),
    ("search_issues", 0, False, "search_issues", {"state": ["new", "on_hold"], "limit": 20}, 1),
]  # fmt: skip


def baseline_rev() -> str:
    return os.environ.get("PYLON_BENCH_BASELINE_REV") or "HEAD~1"


def export_baseline(rev: str, into: Path) -> str:
    """The baseline's pylon_mcp package under `into`; returns the commit it came from."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "pylon_mcp"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return commit


def model_facing(tool: dict[str, Any]) -> int:
    return len(
        compact(
            {"name": tool["name"], "description": tool.get("description"), "inputSchema": tool["inputSchema"]}
        )
    )


def sizes(tools: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "tools": len(tools),
        "model_facing": sum(model_facing(tool) for tool in tools),
        "tools_list": len(compact({"tools": tools})),
    }


def fill(arguments: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    return json.loads(
        json.dumps(arguments)
        .replace("{n}", values["n"])
        .replace("{id}", values["id"])
        .replace("{user}", values["user"])
    )


async def run_version(env: dict[str, str], cwd: Path, name: str, url: str) -> dict[str, Any]:
    admin(url, "reset", {})
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        ids = {n: http.get(f"/issues/{n}").json()["data"] for _, n, *_ in SCRIPT if n}
        user = next(issue["assignee"]["id"] for issue in ids.values() if issue.get("assignee"))
        out: dict[str, Any] = {"counts": {}, "definitions": {}}
        async with StdioPeer(OURS_ARGV, env, f"defs-{name}", cwd=cwd) as peer:
            out["definitions"]["default"] = sizes((await peer.request("tools/list"))["tools"])
            for label, number, look_first, tool, arguments, _ in SCRIPT:
                values = {"n": str(number), "id": ids[number]["id"] if number else "", "user": user}
                if look_first:
                    await peer.call("get_issue", {"issue_id": str(number)})
                http.delete("/_sandbox/requests")
                result = await peer.call(tool, fill(arguments, values))
                if result.get("isError"):
                    raise RuntimeError(f"{name}: {label} failed: {result.get('content')}")
                logged = [entry["path"] for entry in http.get("/_sandbox/requests").json()["data"]]
                issues = sum(1 for path in logged if path.startswith("/issues"))
                out["counts"][label] = issues
                out.setdefault("lookups", {})[label] = len(logged) - issues  # directory: names for IDs
    return out


async def toolset_sizes(url: str, cache: Path) -> dict[str, dict[str, int]]:
    out = {}
    for toolset in (*TOOLSETS, "all"):
        env = {**server_env(url), "PYLON_TOOLSETS": toolset, "PYLON_MCP_CACHE_DIR": str(cache)}
        async with StdioPeer(OURS_ARGV, env, f"defs-toolset-{toolset}") as peer:
            out[toolset] = sizes((await peer.request("tools/list"))["tools"])
    return out


async def run(cfg: Config) -> Outcome:
    rev = baseline_rev()
    with tempfile.TemporaryDirectory(prefix="pylon-bench-baseline-") as tmp, sandbox(issues=300) as url:
        base_dir = Path(tmp) / "src"
        base_dir.mkdir()
        try:
            commit = export_baseline(rev, base_dir)
        except subprocess.CalledProcessError as exc:  # e.g. a shallow clone without the previous commit
            reason = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
            commit = f"unavailable ({rev}: {reason.strip()[:60]}), ours again"
            base_dir = SRC
        ours_env = {**server_env(url), "PYLON_MCP_CACHE_DIR": str(Path(tmp) / "cache-ours")}
        base_env = {
            **ours_env,
            "PYTHONPATH": str(base_dir),
            "PYLON_MCP_CACHE_DIR": str(Path(tmp) / "cache-base"),
        }
        ours = await run_version(ours_env, SRC, "ours", url)
        base = await run_version(base_env, base_dir, "baseline", url)
        per_toolset = await toolset_sizes(url, Path(tmp) / "cache-ours")
    empty = [toolset for toolset in RESERVED if per_toolset[toolset]["tools"] == 0]
    reserved = sum(RESERVED[toolset] for toolset in empty)
    o, b = ours["definitions"]["default"], base["definitions"]["default"]
    rows = [
        Row(
            "11 definitions (name+description+inputSchema), default set, writes on",
            f"{o['model_facing']} B, {o['tools']} tools",
            f"{b['model_facing']} B @ {commit}",
            ratio(o["model_facing"], b["model_facing"]),
            f"≤ {BUDGET - reserved} B (10 KB − {reserved} B held for {', '.join(empty) or 'nothing'})",
            o["model_facing"] <= BUDGET - reserved,
        ),
        Row(
            "11 tools/list, whole result",
            f"{o['tools_list']} B",
            f"{b['tools_list']} B @ {commit}",
            ratio(o["tools_list"], b["tools_list"]),
            "report",
            None,
        ),
    ]
    for toolset in (*TOOLSETS, "all"):
        s = per_toolset[toolset]
        rows.append(
            Row(
                f"11 toolset {toolset}",
                f"{s['model_facing']} B model-facing, {s['tools_list']} B tools/list, {s['tools']} tools",
                "",
                None,
                "report",
                None,
            )
        )
    for label, *_, goal in SCRIPT:
        mine, theirs = ours["counts"][label], base["counts"][label]
        names = ours.get("lookups", {}).get(label, 0)
        rows.append(
            Row(
                f"11 requests: {label}",
                str(mine) + (f" (+{names} directory)" if names else ""),
                f"{theirs} @ {commit}",
                ratio(mine, theirs),
                f"≤ {goal}",
                mine <= goal,
            )
        )
    notes = [f"baseline: {rev} = {commit} (git archive); ours: {SRC}"]
    details = {
        "baseline_rev": rev,
        "baseline_commit": commit,
        "ours": ours,
        "baseline": base,
        "toolsets": per_toolset,
    }
    return Outcome(rows, details, notes)
