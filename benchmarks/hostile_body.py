"""10. Hostile bodies: other clients' latency while 512 KB customer bodies of nested HTML are read.

Issue 14 item 19: reading an issue whose body was 512 KB of nested `<ul><li>` or `<div>` used
to stall every other client of an HTTP server for 30 to 48 s, because the conversion ran on the
event loop and parse time exploded with depth. Now the depth guard cuts such trees before
parsing and the conversion runs in a worker thread.

Setup: `python -m pylon_mcp --transport http` against a sandbox (own processes). Distinct
hostile issues of 512 KB each (nested ul/li, nested div, and start tags that never close, in
turn; each with its own text so the conversion cache cannot help) are created in the sandbox.
N "other" clients call get_issue on ordinary issues back to back. Ours: their p99 while one
more client reads the hostile issues one after another; baseline: the same clients, same
server, with no hostile reader. Slices alternate, so background load hits both alike.
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
    auth_headers,
    ms,
    percentile,
    ratio,
    sandbox_proc,
    sched_cpus,
    server_env,
)
from benchmarks.http_throughput import HEADERS, start_server

GOAL = 3.0  # others' p99 with a hostile reader ≤ 3× their p99 without one
BODY_BYTES = 512 * 1024


KINDS = ("ul", "div", "unclosed")


def hostile_body(kind: str, nonce: int, size: int = BODY_BYTES) -> str:
    head = f"<p>hostile body {kind} {nonce}</p>"
    if kind == "unclosed":  # start tags that never close: quadratic for a naive tag pattern
        return head + '<a "' * ((size - len(head)) // 4) + ">"
    opener, closer = ("<ul><li>x", "</li></ul>") if kind == "ul" else ("<div>x", "</div>")
    depth = (size - len(head)) // (len(opener) + len(closer))
    return head + opener * depth + closer * depth


def call(issue: str, request_id: int) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": "get_issue", "arguments": {"issue_id": issue}},
        }
    ).encode()


async def phase(url: str, clients: int, seconds: float, hostile: list[str]) -> dict[str, Any]:
    """Others' latencies for `seconds`; with `hostile`, one more client reads those issues meanwhile."""
    limits = httpx2.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    latencies: list[float] = []
    hostile_times: list[float] = []
    errors = 0
    async with httpx2.AsyncClient(limits=limits, timeout=300, trust_env=False) as http:
        deadline = time.perf_counter() + seconds

        async def other(n: int) -> None:
            nonlocal errors
            i = n
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.post(url, content=call(str(1 + i % 200), i), headers=HEADERS)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200 or b'"isError":false' not in response.content
                i += clients

        async def reader() -> None:
            nonlocal errors
            for n, issue in enumerate(hostile):
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                response = await http.post(url, content=call(issue, 10_000 + n), headers=HEADERS)
                hostile_times.append(time.perf_counter() - started)
                errors += response.status_code != 200 or b'"isError":false' not in response.content

        await asyncio.gather(*(other(n) for n in range(clients)), *([reader()] if hostile else []))
    return {"latencies": latencies, "hostile_reads": hostile_times, "errors": errors}


def create_hostile_issues(upstream: str, count: int, size: int) -> list[str]:
    numbers = []
    for n in range(count):
        body = hostile_body(KINDS[n % len(KINDS)], n, size)
        response = httpx2.post(
            f"{upstream}/issues",
            json={"title": f"hostile {n}", "body_html": body, "requester_email": "h@hostile.example"},
            headers=auth_headers(),
            timeout=60,
        )
        response.raise_for_status()
        numbers.append(str(response.json()["data"]["number"]))
    return numbers


async def run(cfg: Config) -> Outcome:
    clients = cfg.pick(5, 2)
    seconds = cfg.pick(4.0, 1.0)
    slices = cfg.pick(3, 1)
    size = cfg.pick(BODY_BYTES, 64 * 1024)
    mine = os.sched_getaffinity(0)
    two = len(mine) >= 2
    server_cpus = sched_cpus({0}) if two else None
    other_cpus = sched_cpus({1}) if two else None
    quiet = {"latencies": [], "hostile_reads": [], "errors": 0}
    loud = {"latencies": [], "hostile_reads": [], "errors": 0}
    server = None
    try:
        with sandbox_proc(issues=300, cpus=other_cpus, name="hostile-sandbox") as (upstream, _):
            hostile = create_hostile_issues(upstream, cfg.pick(10, 2) * slices, size)
            server, url = start_server("hostile-ours", OURS_ARGV, server_env(upstream), server_cpus)
            if other_cpus:
                os.sched_setaffinity(0, other_cpus)
            await phase(url, clients, min(1.0, seconds), [])  # warm-up
            per_slice = len(hostile) // slices
            for s in range(slices):  # alternate: quiet, then with a hostile reader
                for target, reading in ((quiet, []), (loud, hostile[s * per_slice : (s + 1) * per_slice])):
                    got = await phase(url, clients, seconds, reading)
                    for key in ("latencies", "hostile_reads"):
                        target[key] += got[key]
                    target["errors"] += got["errors"]
    finally:
        os.sched_setaffinity(0, mine)
        if server is not None:
            server.stop()

    def summary(side: dict[str, Any]) -> dict[str, Any]:
        return {
            "calls": len(side["latencies"]),
            "errors": side["errors"],
            "p50_ms": ms(percentile(side["latencies"], 50)),
            "p99_ms": ms(percentile(side["latencies"], 99)),
            "max_ms": ms(max(side["latencies"], default=0.0)),
            "hostile_reads": len(side["hostile_reads"]),
            "hostile_read_median_ms": ms(percentile(side["hostile_reads"], 50))
            if side["hostile_reads"]
            else None,
        }

    o, b = summary(loud), summary(quiet)
    r = ratio(o["p99_ms"], b["p99_ms"])
    row = Row(
        f"10 hostile body: others' get_issue p99, {clients} clients, while {size // 1024} KB hostile bodies are read",
        f"{o['p99_ms']:.1f} ms ({o['hostile_reads']} hostile reads, median {o['hostile_read_median_ms']} ms)",
        f"{b['p99_ms']:.1f} ms (no hostile reader)",
        r,
        f"≤ {GOAL:.0f}×, 0 errors",
        r is not None and r <= GOAL and o["errors"] == 0 and b["errors"] == 0 and o["hostile_reads"] > 0,
        {"ours": o, "baseline": b},
    )
    notes = [f"hostile: with reader {o}", f"hostile: without reader {b}"]
    return Outcome([row], {"with_hostile_reader": o, "without": b, "body_bytes": size}, notes)
