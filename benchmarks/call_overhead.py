"""2. Per-call overhead over stdio: get_issue and search_issues against a sandbox with no latency.

Each round times, back to back: the upstream request made directly with httpx2, the same
work as an MCP tool call to pylon-mcp, and the baseline server's `echo` over stdio (the
cost of one MCP round trip). overhead = call - direct - echo within each round; the table
shows the median (and p95) of those per-round differences.

get_issue rotates over every seeded issue and is measured twice: by a server whose HTML
→ Markdown cache is switched off (every call converts its body: issue 16's goal, ≤ 0.5 ms),
and by a normal server, whose cache holds all of them after the warm-up.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx2

from benchmarks.common import (
    BASELINE_ARGV,
    OURS_ARGV,
    TOKEN,
    Config,
    Outcome,
    Row,
    StdioPeer,
    cpu_seconds,
    median,
    ms,
    percentile,
    ratio,
    sandbox,
    server_env,
)

GOAL_MS = 0.5
# Our server with the recent-conversions cache sized to nothing (a private knob, for this measurement only).
OURS_NO_HTML_CACHE_ARGV = [
    OURS_ARGV[0],
    "-c",
    "import pylon_mcp.render.html as h; h._recent.max_chars = 0; from pylon_mcp.cli import main; main()",
]
ISSUES = 300
SEARCH_ARGS: dict[str, Any] = {"state": ["new", "waiting_on_you"], "limit": 20}


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


def stats(samples: list[float]) -> dict[str, float]:
    return {"median_ms": ms(median(samples)), "p95_ms": ms(percentile(samples, 95))}


async def measure(
    rounds: int,
    direct: Callable[[int], Awaitable[Any]],
    ours: Callable[[int], Awaitable[Any]],
    echo: Callable[[], Awaitable[Any]],
) -> dict[str, Any]:
    samples: dict[str, list[float]] = {"call": [], "direct": [], "echo": []}
    started = -min(20, rounds)
    for i in range(started, rounds):  # negative i: warm-up
        d = await timed(partial(direct, i))
        c = await timed(partial(ours, i))
        e = await timed(echo)
        if i >= 0:
            samples["direct"].append(d)
            samples["call"].append(c)
            samples["echo"].append(e)
    out = {name: stats(values) for name, values in samples.items()}
    # Each round's own difference, then the median of those: rounds share the machine's moment,
    # so this is steadier on a busy machine than a difference of the three medians.
    per_round = [
        c - d - e for c, d, e in zip(samples["call"], samples["direct"], samples["echo"], strict=True)
    ]
    out["overhead"] = stats(per_round)
    out["_rounds"] = list(range(started, rounds))  # every call made, warm-up included (for CPU per call)
    out["overhead_of_medians"] = {
        key: round(out["call"][key] - out["direct"][key] - out["echo"][key], 3) for key in out["call"]
    }
    return out


def pid(peer: StdioPeer) -> int:
    assert peer.proc is not None
    return peer.proc.pid


async def with_cpu(server: int, echo: int, measuring: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The measurement, plus CPU time per call of the server measured and of the echo server.

    CPU time is what the server process itself spends (from /proc, 10 ms ticks over hundreds of
    calls): unlike wall time it does not grow when other work shares the cores.
    """
    before = cpu_seconds(server), cpu_seconds(echo)
    data = await measuring
    calls = len(data.pop("_rounds"))
    data["cpu_ms_per_call"] = {
        "server": round((cpu_seconds(server) - before[0]) * 1000 / calls, 3),
        "echo_server": round((cpu_seconds(echo) - before[1]) * 1000 / calls, 3),
    }
    return data


async def baseline_fetch_cpu(base: StdioPeer, rounds: int) -> float:
    """CPU ms per call of the baseline's fetch_issue: an SDK tool making the same GET, returning raw JSON."""
    before = cpu_seconds(pid(base))
    for i in range(rounds):
        checked(await base.call("fetch_issue", {"issue_id": str(i % ISSUES + 1)}))
    return round((cpu_seconds(pid(base)) - before) * 1000 / rounds, 3)


def checked(result: dict[str, Any]) -> dict[str, Any]:
    if result.get("isError"):
        raise RuntimeError(f"tool call failed: {result.get('content')}")
    return result


async def run(cfg: Config) -> Outcome:
    rounds = cfg.pick(500, 20)
    with sandbox(issues=300) as url:
        env = server_env(url)
        async with (
            StdioPeer(OURS_ARGV, env, "overhead-ours") as ours,
            StdioPeer(OURS_NO_HTML_CACHE_ARGV, env, "overhead-ours-no-html-cache") as uncached,
            StdioPeer(BASELINE_ARGV, env, "overhead-baseline") as base,
            httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        ):
            first = checked(await ours.call("search_issues", SEARCH_ARGS))
            body = {"filter": first["structuredContent"]["filter"], "limit": SEARCH_ARGS["limit"]}

            async def direct_get(i: int) -> None:
                (await http.get(f"/issues/{i % ISSUES + 1}")).raise_for_status()

            async def ours_get(i: int) -> None:
                checked(await ours.call("get_issue", {"issue_id": str(i % ISSUES + 1)}))

            async def uncached_get(i: int) -> None:
                checked(await uncached.call("get_issue", {"issue_id": str(i % ISSUES + 1)}))

            async def direct_search(_: int) -> None:
                (await http.post("/issues/search", json=body)).raise_for_status()

            async def ours_search(_: int) -> None:
                checked(await ours.call("search_issues", SEARCH_ARGS))

            async def echo() -> None:
                checked(await base.call("echo", {"text": "ping"}))

            echo_pid = pid(base)
            get_uncached = await with_cpu(
                pid(uncached), echo_pid, measure(rounds, direct_get, uncached_get, echo)
            )
            get = await with_cpu(pid(ours), echo_pid, measure(rounds, direct_get, ours_get, echo))
            fetch_cpu_ms = await baseline_fetch_cpu(base, rounds)
            search = await with_cpu(
                pid(ours), echo_pid, measure(cfg.pick(300, 20), direct_search, ours_search, echo)
            )
    rows = []
    for label, data, goal in (
        ("get_issue, no HTML cache", get_uncached, GOAL_MS),
        ("get_issue, HTML cache", get, None),
        ("search_issues", search, None),
    ):
        base_ms = data["direct"]["median_ms"] + data["echo"]["median_ms"]
        overhead = data["overhead"]["median_ms"]
        rows.append(
            Row(
                f"2 {label} stdio call, median",
                f"{data['call']['median_ms']:.2f} ms (p95 {data['call']['p95_ms']:.2f})",
                f"{base_ms:.2f} ms (direct+echo)",
                ratio(data["call"]["median_ms"], base_ms),
                f"overhead ≤ {goal:g} ms (is {overhead:.2f})"
                if goal
                else f"report (overhead {overhead:.2f} ms)",
                overhead <= goal if goal else None,
                data,
            )
        )
    for label, data in (("get_issue, no HTML cache", get_uncached), ("get_issue, HTML cache", get)):
        cpu = {**data["cpu_ms_per_call"], "baseline_fetch_issue": fetch_cpu_ms}
        rows.append(
            Row(
                f"2 {label}: server CPU per call",
                f"{cpu['server']:.2f} ms",
                f"{fetch_cpu_ms:.2f} ms (baseline fetch_issue: same GET, raw JSON)",
                ratio(cpu["server"], fetch_cpu_ms),
                f"report (beyond fetch_issue {cpu['server'] - fetch_cpu_ms:.2f} ms; "
                f"echo alone {cpu['echo_server']:.2f} ms)",
                None,
                cpu,
            )
        )
    notes = [
        f"{label}: call {d['call']} direct {d['direct']} echo {d['echo']} → overhead {d['overhead']}; "
        f"CPU ms per call: server {d['cpu_ms_per_call']['server']}, echo server {d['cpu_ms_per_call']['echo_server']}"
        for label, d in (
            ("get_issue, no HTML cache", get_uncached),
            ("get_issue", get),
            ("search_issues", search),
        )
    ]
    notes.append(
        "the machine is shared (2 cores, other engineers' jobs): compare within a run, not across runs"
    )
    details = {
        "get_issue_no_html_cache": get_uncached,
        "get_issue": get,
        "search_issues": search,
        "search_body": body,
    }
    return Outcome(rows, details, notes)
