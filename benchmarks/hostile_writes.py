"""15. Hostile writes: other clients' latency while large bracket-heavy notes and reply previews are written.

Issue 19 item 7: four concurrent `add_internal_note` calls with 100 KB of Markdown brackets pushed
the others' p50 to 2.5 s and p99 to 4.0 s, and a reply preview of the same took 3.4 s: the
Markdown → HTML conversion (and an image pattern that backtracked quadratically on `![![…`) ran on
the event loop. Now it runs in a low-priority worker process
(pylon_mcp/offload.py: in a worker thread it still held the GIL the event loop waits for after
every wake-up), and the image pass is linear.

Benchmark 10's method with writers instead of a reader. Setup: `python -m pylon_mcp --transport
http` with customer replies switched on, against a sandbox (own processes). N "other" clients
call get_issue on ordinary issues back to back. Ours: their p99 while W writers post 100 KB
bracket-heavy Markdown (`[[[…`, `![![…`, `[a](…`, `*[*[…`, each body distinct so no cache helps),
half as internal notes and half as `send_customer_reply` previews (which send nothing); baseline:
the same clients, same server, with no writer. Slices alternate, so background load hits both alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx2

from benchmarks.common import (
    OURS_ARGV,
    Config,
    Outcome,
    Row,
    ratio,
    sandbox_proc,
    sched_cpus,
    server_env,
    side_summary,
)
from benchmarks.hostile_body import failed, others_calling_get_issue
from benchmarks.http_throughput import HEADERS, start_server

GOAL = 1.5  # others' p99 with writers ≤ 1.5× their p99 without
BODY_CHARS = 100_000  # the longest body_markdown a note or reply takes
SHAPES = ("[", "![", "[a](", "*[")
REPLY_ISSUE = "7"  # has a customer-visible message to answer


def bracket_body(n: int, size: int) -> str:
    head = f"note {n}: "
    shape = SHAPES[n % len(SHAPES)]
    return head + shape * ((size - len(head)) // len(shape))


def write_call(n: int, size: int) -> bytes:
    tool = "add_internal_note" if n % 2 == 0 else "send_customer_reply"
    issue = str(1 + n % 50) if tool == "add_internal_note" else REPLY_ISSUE
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 20_000 + n,
            "method": "tools/call",
            "params": {
                "name": tool,
                "arguments": {"issue_id": issue, "body_markdown": bracket_body(n, size)},
            },
        }
    ).encode()


async def phase(
    url: str, clients: int, writers: int, seconds: float, size: int, first: int
) -> dict[str, Any]:
    """Others' latencies for `seconds`; with `writers`, that many more clients post bodies meanwhile."""
    limits = httpx2.Limits(max_connections=clients + writers, max_keepalive_connections=clients + writers)
    write_times: list[float] = []
    errors = 0
    async with httpx2.AsyncClient(limits=limits, timeout=300, trust_env=False) as http:
        deadline = time.perf_counter() + seconds

        async def writer(n: int) -> None:
            nonlocal errors
            i = first + n
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.post(url, content=write_call(i, size), headers=HEADERS)
                write_times.append(time.perf_counter() - started)
                errors += failed(response)
                i += writers

        (latencies, failures), *_ = await asyncio.gather(
            others_calling_get_issue(http, url, clients, deadline), *(writer(n) for n in range(writers))
        )
        errors += failures
    return {"latencies": latencies, "writes": write_times, "errors": errors}


async def run(cfg: Config) -> Outcome:
    clients = cfg.pick(5, 2)
    writers = cfg.pick(4, 2)
    seconds = cfg.pick(4.0, 1.0)
    slices = cfg.pick(3, 1)
    size = cfg.pick(BODY_CHARS, 10_000)
    mine = os.sched_getaffinity(0)
    two = len(mine) >= 2
    server_cpus = sched_cpus({0}) if two else None
    other_cpus = sched_cpus({1}) if two else None
    quiet: dict[str, Any] = {"latencies": [], "writes": [], "errors": 0}
    loud: dict[str, Any] = {"latencies": [], "writes": [], "errors": 0}
    server = None
    try:
        with sandbox_proc(issues=300, cpus=other_cpus, name="writes-sandbox") as (upstream, _):
            env = {**server_env(upstream), "PYLON_ALLOW_CUSTOMER_REPLIES": "true"}
            server, url = start_server("writes-ours", OURS_ARGV, env, server_cpus)
            if other_cpus:
                os.sched_setaffinity(0, other_cpus)
            await phase(url, clients, 0, min(1.0, seconds), size, 0)  # warm-up
            written = 0
            for _ in range(slices):  # alternate: quiet, then with writers
                for target, count in ((quiet, 0), (loud, writers)):
                    got = await phase(url, clients, count, seconds, size, written)
                    written += len(got["writes"]) + writers
                    for key in ("latencies", "writes"):
                        target[key] += got[key]
                    target["errors"] += got["errors"]
    finally:
        os.sched_setaffinity(0, mine)
        if server is not None:
            server.stop()

    def summary(side: dict[str, Any]) -> dict[str, Any]:
        return side_summary(side, "writes", "write_median_ms")

    o, b = summary(loud), summary(quiet)
    r = ratio(o["p99_ms"], b["p99_ms"])
    row = Row(
        f"15 hostile writes: others' get_issue p99, {clients} clients, while {writers} writers post "
        f"{size // 1000} KB bracket-heavy notes and reply previews",
        f"{o['p99_ms']:.1f} ms (p50 {o['p50_ms']:.1f}; {o['writes']} writes, median {o['write_median_ms']} ms)",
        f"{b['p99_ms']:.1f} ms (p50 {b['p50_ms']:.1f}; no writer)",
        r,
        f"≤ {GOAL}×, 0 errors",
        r is not None and r <= GOAL and o["errors"] == 0 and b["errors"] == 0 and o["writes"] > 0,
        {"ours": o, "baseline": b},
    )
    notes = [f"hostile writes: with writers {o}", f"hostile writes: without {b}"]
    return Outcome([row], {"with_writers": o, "without": b, "body_chars": size}, notes)
