"""4. HTTP throughput: N concurrent clients calling get_issue over Streamable HTTP for a fixed time.

Ours: `python -m pylon_mcp --transport http` (stateless, JSON responses, uvicorn) against a
sandbox in its own process. Baseline: benchmarks/baseline_server.py served the same way
(MCPServer.streamable_http_app(stateless_http=True, json_response=True), same uvicorn),
calling its `fetch_issue` tool, which makes the same upstream GET with httpx2 and returns
the raw JSON. That is fairer than `echo`: both sides pay for the sandbox hop, so the ratio
shows what our validation, rendering and guard cost; `echo` (full mode only) is shown as
the SDK's ceiling.

Clients: one asyncio task per simulated client in this process, sharing one httpx2 pool
with a connection per client, each POSTing a pre-serialised JSON-RPC tools/call (stateless
servers need no initialize) and checking `"isError":false`. CPU: the server under test is
pinned to CPU 0; the sandbox and this load generator share CPU 1. Each side's CPU use is
in the details, so a saturated load generator would show. Each side's 10 s run in 2 s slices,
interleaved ours/baseline/echo, so background load on a shared machine hits every side alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2

from benchmarks.common import (
    BASELINE_ARGV,
    OURS_ARGV,
    Config,
    Outcome,
    Proc,
    Row,
    free_port,
    ms,
    percentile,
    ratio,
    sandbox_proc,
    sched_cpus,
    server_env,
)

GOAL = 0.8
HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def bodies(tool: str, argument: str, count: int = 300) -> list[bytes]:
    values = [str(n) for n in range(1, count + 1)] if argument == "issue_id" else ["ping"]
    return [
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "tools/call",
                "params": {"name": tool, "arguments": {argument: value}},
            }
        ).encode()
        for i, value in enumerate(values, 1)
    ]


@dataclass
class Target:
    """One server and tool under load; slices of load add up here."""

    name: str
    proc: Proc
    url: str
    payloads: list[bytes]
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=lambda: {"server": 0.0, "sandbox": 0.0, "loadgen": 0.0})
    headers: dict[str, str] = field(default_factory=lambda: HEADERS)

    async def drive(self, clients: int, seconds: float, sandbox: Proc, record: bool = True) -> None:
        """`clients` tasks, each POSTing tools/call back to back for `seconds`, on one connection each."""
        limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx2.AsyncClient(limits=limits, timeout=60, trust_env=False) as http:

            async def client(i: int, deadline: float) -> None:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    response = await http.post(
                        self.url, content=self.payloads[i % len(self.payloads)], headers=self.headers
                    )
                    elapsed = time.perf_counter() - started
                    i += clients
                    if response.status_code != 200 or b'"isError":false' not in response.content:
                        self.errors += record
                    elif record:
                        self.latencies.append(elapsed)

            if not record:  # warm-up: connections open, caches warm
                await asyncio.gather(*(client(n, time.perf_counter() + seconds) for n in range(clients)))
                return
            before = {
                "server": self.proc.cpu_seconds(),
                "sandbox": sandbox.cpu_seconds(),
                "loadgen": time.process_time(),
            }
            started = time.perf_counter()
            await asyncio.gather(*(client(n, started + seconds) for n in range(clients)))
            self.seconds += time.perf_counter() - started
            after = {
                "server": self.proc.cpu_seconds(),
                "sandbox": sandbox.cpu_seconds(),
                "loadgen": time.process_time(),
            }
            for key in self.cpu:
                self.cpu[key] += after[key] - before[key]

    def summary(self) -> dict[str, Any]:
        return {
            "calls": len(self.latencies),
            "errors": self.errors,
            "calls_per_s": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": ms(percentile(self.latencies, 50)),
            "p99_ms": ms(percentile(self.latencies, 99)),
            **{f"{key}_cpu": round(value / self.seconds, 2) for key, value in self.cpu.items()},
        }


async def drive_interleaved(
    targets: Sequence[Target], clients: int, seconds: float, slices: int, sandbox: Proc
) -> None:
    """A short unrecorded warm-up of each target, then `slices` alternating slices of load, so
    background load on a shared machine hits every side alike."""
    for target in targets:
        await target.drive(clients, min(1.0, seconds / 5), sandbox, record=False)
    for _ in range(slices):
        for target in targets:
            await target.drive(clients, seconds / slices, sandbox)


def start_server(name: str, argv: list[str], env: dict[str, str], cpus: set[int] | None) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(name, [*argv, "--transport", "http", "--port", str(port)], env, cpus)
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 60
    while True:  # ready when a tools/list answers
        proc.check()
        try:
            body = b'{"jsonrpc":"2.0","id":0,"method":"tools/list","params":{}}'
            if httpx2.post(url, content=body, headers=HEADERS, timeout=2).status_code == 200:
                return proc, url
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.05)


async def run(cfg: Config) -> Outcome:
    seconds = cfg.pick(10.0, 1.0)
    slices = cfg.pick(5, 1)
    levels = cfg.pick([1, 10, 50], [1, 5])
    mine = os.sched_getaffinity(0)
    two = len(mine) >= 2
    server_cpus = sched_cpus({0}) if two else None
    other_cpus = sched_cpus({1}) if two else None
    results: dict[str, dict[str, Any]] = {}
    procs: list[Proc] = []
    try:
        with sandbox_proc(issues=300, cpus=other_cpus, name="http-sandbox") as (upstream, sandbox):
            env = server_env(upstream)
            ours, ours_url = start_server("http-ours", OURS_ARGV, env, server_cpus)
            procs.append(ours)
            base, base_url = start_server("http-baseline", BASELINE_ARGV, env, server_cpus)
            procs.append(base)
            if other_cpus:
                os.sched_setaffinity(0, other_cpus)
            for clients in levels:
                targets = [
                    Target("ours", ours, ours_url, bodies("get_issue", "issue_id")),
                    Target("baseline", base, base_url, bodies("fetch_issue", "issue_id")),
                ]
                if not cfg.smoke:
                    targets.append(Target("echo", base, base_url, bodies("echo", "text")))
                await drive_interleaved(targets, clients, seconds, slices, sandbox)
                results.update({f"{t.name}_{clients}": t.summary() for t in targets})
    finally:
        os.sched_setaffinity(0, mine)
        for proc in procs:
            proc.stop()
    rows = []
    for clients in levels:
        o, b = results[f"ours_{clients}"], results[f"baseline_{clients}"]
        r = ratio(o["calls_per_s"], b["calls_per_s"])
        rows.append(
            Row(
                f"4 http get_issue, {clients} client{'s' if clients > 1 else ''} (calls/s, p99)",
                f"{o['calls_per_s']:.0f}/s, {o['p99_ms']:.1f} ms",
                f"{b['calls_per_s']:.0f}/s, {b['p99_ms']:.1f} ms",
                r,
                f"≥ {GOAL:.1f}×, 0 errors",
                r is not None and r >= GOAL and o["errors"] == 0,
                {"ours": o, "baseline": b},
            )
        )
    layout = "server under test on CPU 0; sandbox + load generator on CPU 1" if two else "no pinning (1 CPU)"
    notes = [
        f"http layout: {layout}; {seconds:g} s per side and level, in {slices} interleaved slices, after a warm-up"
    ]
    notes += [f"http {key}: {value}" for key, value in results.items()]
    return Outcome(rows, {"layout": layout, "seconds": seconds, "results": results}, notes)
