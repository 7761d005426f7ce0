"""1. Cold start: spawn → initialize → initialized → tools/list answered, over stdio.

Ours is `python -m pylon_mcp` pointed at a loopback port that listens but never answers:
any connection start-up makes to "Pylon" shows up there and is reported. The baseline is
benchmarks/baseline_server.py. Runs alternate ours/baseline (9; smoke: 2) after one untimed warm-up each.
`-X importtime` of both start-ups gives the modules only ours imports.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from typing import Any

from benchmarks.common import (
    BASELINE_ARGV,
    OURS_ARGV,
    PYTHON,
    SRC,
    Config,
    Outcome,
    Row,
    StdioPeer,
    median,
    ms,
    ratio,
    server_env,
)

GOAL = 1.10
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


async def start_once(argv: list[str], env: dict[str, str], name: str) -> float:
    started = time.perf_counter()
    peer = StdioPeer(argv, env, name)
    await peer.start()
    try:
        await peer.initialize()
        listed = await peer.request("tools/list")
        elapsed = time.perf_counter() - started
    finally:
        await peer.close()
    if not listed.get("tools"):
        raise RuntimeError(f"{name}: tools/list returned no tools")
    return elapsed


def connections(listener: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def import_profile(argv: list[str], env: dict[str, str]) -> dict[str, tuple[int, int, str | None]]:
    """module → (self µs, cumulative µs, parent module) from `-X importtime` of a start-up that sees EOF."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *argv[1:]], env=env, cwd=SRC, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    entries = [m.groups() for line in done.stderr.splitlines() if (m := _LINE.match(line))]
    out: dict[str, tuple[int, int, str | None]] = {}
    stack: list[str] = []
    for own, cumulative, indent, module in reversed(entries):  # parents come before children
        depth = len(indent) // 2
        del stack[depth:]
        out.setdefault(module, (int(own), int(cumulative), stack[-1] if stack else None))
        stack.append(module)
    return out


def extra_imports(ours: dict[str, Any], baseline: dict[str, Any], top: int = 8) -> dict[str, Any]:
    """Modules only ours imports: their total self time and the biggest subtrees."""
    only = {name: v for name, v in ours.items() if name not in baseline}
    subtree: dict[str, int] = {}  # self time of only-ours modules, added up under their top-most such parent
    for name, (own, _, parent) in only.items():
        while parent in only:
            name, parent = parent, only[parent][2]
        subtree[name] = subtree.get(name, 0) + own
    roots = sorted(subtree.items(), key=lambda item: -item[1])
    return {
        "extra_self_ms": round(sum(v[0] for v in only.values()) / 1000, 1),
        "extra_modules": len(only),
        "ours_total_ms": round(sum(v[0] for v in ours.values()) / 1000, 1),
        "baseline_total_ms": round(sum(v[0] for v in baseline.values()) / 1000, 1),
        "top_extra_subtrees_ms": {name: round(cum / 1000, 1) for name, cum in roots[:top]},
    }


async def run(cfg: Config) -> Outcome:
    runs = cfg.pick(9, 2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.setblocking(False)
    env = server_env(f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        if True:  # warm the page cache and write .pyc files (a fresh clone has none)
            await start_once(OURS_ARGV, env, "cold-ours")
            await start_once(BASELINE_ARGV, env, "cold-baseline")
        for _ in range(runs):
            times["ours"].append(await start_once(OURS_ARGV, env, "cold-ours"))
            times["baseline"].append(await start_once(BASELINE_ARGV, env, "cold-baseline"))
        upstream_connections = connections(listener)
    finally:
        listener.close()
    profile = extra_imports(import_profile(OURS_ARGV, env), import_profile(BASELINE_ARGV, env))
    ours, base = median(times["ours"]), median(times["baseline"])
    r = ratio(ours, base)
    row = Row(
        "1 cold start → tools/list (median)",
        f"{ms(ours):.0f} ms",
        f"{ms(base):.0f} ms",
        r,
        f"≤ {GOAL:.2f}×, no Pylon call",
        r is not None and r <= GOAL and upstream_connections == 0,
        {"ours_ms": [ms(t) for t in times["ours"]], "baseline_ms": [ms(t) for t in times["baseline"]]},
    )
    details = {
        "runs": runs,
        "ours_ms": row.values["ours_ms"],
        "baseline_ms": row.values["baseline_ms"],
        "pylon_connections_during_startup": upstream_connections,
        "import_profile": profile,
    }
    top = ", ".join(f"{k} {v}" for k, v in list(profile["top_extra_subtrees_ms"].items())[:5])
    notes = [
        f"cold start: {upstream_connections} connection(s) to Pylon during start-up; imports only ours "
        f"makes: {profile['extra_modules']} modules, {profile['extra_self_ms']} ms; biggest (ms): {top}"
    ]
    return Outcome([row], details, notes)
