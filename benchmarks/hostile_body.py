"""10. Hostile bodies: other clients' latency while 512 KB customer bodies of nested HTML are read.

Issue 14 item 19: reading an issue whose body was 512 KB of nested `<ul><li>` or `<div>` used
to stall every other client of an HTTP server for 30 to 48 s, because the conversion ran on the
event loop and parse time exploded with depth. Now the depth guard cuts such trees before
parsing and the conversion runs in a low-priority worker process (pylon_mcp/offload.py).

Setup: `python -m pylon_mcp --transport http` against a sandbox (own processes). Distinct
hostile issues of 512 KB each (nested ul/li, nested div, and start tags that never close, in
turn; each with its own text so the conversion cache cannot help) are created in the sandbox.
N "other" clients call get_issue on ordinary issues back to back. Ours: their p99 while one
more client reads the hostile issues one after another; baseline: the same clients, same
server, with no hostile reader. Slices alternate, so background load hits both alike.

Issue 19 item 1: `<style>` blocks were matched with backtracking regexes (20 KB of style text took
4.5 s, holding the GIL). Two more rows, against the same bodies without their style block:
- others' p99 while a reader reads `<style>`-heavy bodies (30 KB of `@`, 30 KB of letters, a realistic
  50 KB marketing stylesheet) vs while it reads the same bodies with the style block taken out
  (goal at most 1.5x);
- in-process rendering time of the worst `<style>` shapes at the 512 KB cap (`@`, letters, `{`, `(`,
  selector soup, many small blocks, unclosed `<style `, a stylesheet just under the CSS budget, an
  inline style per element, 2,000 `*` rules over distinct elements),
  each body distinct so no cache helps, vs the same body without its style block (goal ≤ 200 ms).
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
    ratio,
    sandbox_proc,
    sched_cpus,
    server_env,
    side_summary,
)
from benchmarks.http_throughput import HEADERS, start_server

GOAL = 3.0  # others' p99 with a hostile reader ≤ 3× their p99 without one
STYLE_GOAL = (
    1.5  # others' p99 while <style>-heavy bodies are read ≤ 1.5× while the same bodies without it are
)
RENDER_GOAL_MS = 200.0  # rendering any body up to the cap
BODY_BYTES = 512 * 1024
STYLE_KINDS = ("style_at", "style_letters", "stylesheet")


KINDS = ("ul", "div", "unclosed")


def hostile_body(kind: str, nonce: int, size: int = BODY_BYTES) -> str:
    head = f"<p>hostile body {kind} {nonce}</p>"
    if kind == "unclosed":  # start tags that never close: quadratic for a naive tag pattern
        return head + '<a "' * ((size - len(head)) // 4) + ">"
    opener, closer = ("<ul><li>x", "</li></ul>") if kind == "ul" else ("<div>x", "</div>")
    depth = (size - len(head)) // (len(opener) + len(closer))
    return head + opener * depth + closer * depth


def style_body(kind: str, nonce: int, size: int = 30_000, with_style: bool = True) -> str:
    """A body whose `<style>` block is `size` characters of `kind`; without it when `with_style` is false."""
    head = f"<p>style body {kind} {nonce}</p><p>Our invoices show up twice since the sync on {nonce}.</p>"
    if kind == "style_at":
        css = "@" * size
    elif kind == "style_letters":
        css = "a" * size
    elif kind == "stylesheet":
        from tests.emails import marketing_css, marketing_email

        body = (
            marketing_email(marketing_css(size) + f"/* {nonce} */")  # distinct: no parsed-sheet cache helps
            if with_style
            else marketing_email("").replace("<style></style>", "")
        )
        return body.replace("March", f"March {nonce}")
    elif kind == "braces":
        css = "{" * size
    elif kind == "parens":
        css = "(" * size
    elif kind == "selectors":
        css = "a b c d e f " * (size // 12)
    elif kind == "near_budget":  # ordinary rules up to just under the CSS token budget
        from tests.emails import marketing_css

        css = marketing_css(min(size, 80_000))
    elif kind == "inline_styles":  # every element its own inline style
        return head + "".join(
            f'<p style="color:#{i % 4096:03x};padding:{i}px">x</p>' if with_style else "<p>x</p>"
            for i in range(size // 40)
        )
    elif kind == "universal_rules":  # rules that every element is a candidate for
        elements = "".join(f"<p class=a{i}>x</p>" for i in range(size // 20))
        rules = f"<style>/* {nonce} */" + "*{color:#333}" * 2000 + "</style>"
        return head + (rules if with_style else "") + elements
    elif kind == "many_blocks":
        return head + ("<style>p{}</style>" * (size // 18) if with_style else "")
    elif kind == "unclosed_style":
        return head + ("<style " * (size // 7) + ">" if with_style else "")
    else:
        raise ValueError(kind)
    return head + (f"<style>/* {nonce} */{css}</style>" if with_style else "")


RENDER_KINDS = ("style_at", "style_letters", "braces", "parens", "selectors", "near_budget", "many_blocks",
                "unclosed_style", "stylesheet", "inline_styles", "universal_rules")  # fmt: skip


def render_times(size: int, repeats: int) -> dict[str, dict[str, float]]:
    """In-process rendering time (ms, best of `repeats`, each body distinct) per shape, with and without style."""
    from pylon_mcp.render.html import _convert_body

    _convert_body("<p>warm up</p><style>p{color:#333}</style>")
    out: dict[str, dict[str, float]] = {}
    nonce = 0
    for kind in RENDER_KINDS:
        timing: dict[str, float] = {}
        for with_style in (True, False):
            best = float("inf")
            for _ in range(repeats):
                nonce += 1
                body = style_body(kind, nonce, size, with_style)[:size]
                started = time.perf_counter()
                _convert_body(body)
                best = min(best, time.perf_counter() - started)
            timing["with_style" if with_style else "without"] = best * 1000
        out[kind] = timing
    return out


def create_style_issues(upstream: str, count: int, with_style: bool) -> list[str]:
    numbers = []
    for n in range(count):
        kind = STYLE_KINDS[n % len(STYLE_KINDS)]
        size = 50_000 if kind == "stylesheet" else 30_000
        response = httpx2.post(
            f"{upstream}/issues",
            json={
                "title": f"style {n}",
                "body_html": style_body(kind, n + (0 if with_style else 100_000), size, with_style),
                "requester_email": "s@style.example",
            },
            headers=auth_headers(),
            timeout=60,
        )
        response.raise_for_status()
        numbers.append(str(response.json()["data"]["number"]))
    return numbers


def call(issue: str, request_id: int) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": "get_issue", "arguments": {"issue_id": issue}},
        }
    ).encode()


def failed(response: httpx2.Response) -> bool:
    return response.status_code != 200 or b'"isError":false' not in response.content


async def others_calling_get_issue(
    http: httpx2.AsyncClient, url: str, clients: int, deadline: float
) -> tuple[list[float], int]:
    """The other clients of benchmarks 10, 14 and 15: `clients` loops calling get_issue until `deadline`;
    their latencies and how many calls failed."""
    latencies: list[float] = []
    errors = 0

    async def other(n: int) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await http.post(url, content=call(str(1 + i % 200), i), headers=HEADERS)
            latencies.append(time.perf_counter() - started)
            errors += failed(response)
            i += clients

    await asyncio.gather(*(other(n) for n in range(clients)))
    return latencies, errors


async def phase(url: str, clients: int, seconds: float, hostile: list[str]) -> dict[str, Any]:
    """Others' latencies for `seconds`; with `hostile`, one more client reads those issues meanwhile."""
    limits = httpx2.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    hostile_times: list[float] = []
    errors = 0
    async with httpx2.AsyncClient(limits=limits, timeout=300, trust_env=False) as http:
        deadline = time.perf_counter() + seconds

        async def reader() -> None:
            nonlocal errors
            for n, issue in enumerate(hostile):
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                response = await http.post(url, content=call(issue, 10_000 + n), headers=HEADERS)
                hostile_times.append(time.perf_counter() - started)
                errors += failed(response)

        (latencies, failures), *_ = await asyncio.gather(
            others_calling_get_issue(http, url, clients, deadline), *([reader()] if hostile else [])
        )
        errors += failures
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
    styled = {"latencies": [], "hostile_reads": [], "errors": 0}
    unstyled = {"latencies": [], "hostile_reads": [], "errors": 0}
    server = None
    try:
        with sandbox_proc(issues=300, cpus=other_cpus, name="hostile-sandbox") as (upstream, _):
            hostile = create_hostile_issues(upstream, cfg.pick(10, 2) * slices, size)
            per_style_slice = cfg.pick(30, 3)
            with_style = create_style_issues(upstream, per_style_slice * slices, True)
            without_style = create_style_issues(upstream, per_style_slice * slices, False)
            server, url = start_server("hostile-ours", OURS_ARGV, server_env(upstream), server_cpus)
            if other_cpus:
                os.sched_setaffinity(0, other_cpus)
            await phase(url, clients, min(1.0, seconds), [])  # warm-up
            per_slice = len(hostile) // slices
            for s in range(slices):  # alternate: quiet, then with a hostile reader
                window = slice(s * per_style_slice, (s + 1) * per_style_slice)
                for target, reading in (
                    (quiet, []),
                    (loud, hostile[s * per_slice : (s + 1) * per_slice]),
                    (unstyled, without_style[window]),
                    (styled, with_style[window]),
                ):
                    got = await phase(url, clients, seconds, reading)
                    for key in ("latencies", "hostile_reads"):
                        target[key] += got[key]
                    target["errors"] += got["errors"]
    finally:
        os.sched_setaffinity(0, mine)
        if server is not None:
            server.stop()

    def summary(side: dict[str, Any]) -> dict[str, Any]:
        return side_summary(side, "hostile_reads", "hostile_read_median_ms")

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
    so, su = summary(styled), summary(unstyled)
    style_ratio = ratio(so["p99_ms"], su["p99_ms"])
    style_row = Row(
        f"10 hostile body: others' get_issue p99, {clients} clients, while <style>-heavy bodies are read "
        "(30 KB of @, 30 KB of letters, a 50 KB marketing stylesheet)",
        f"{so['p99_ms']:.1f} ms ({so['hostile_reads']} reads, median {so['hostile_read_median_ms']} ms)",
        f"{su['p99_ms']:.1f} ms (same bodies without the style block, median {su['hostile_read_median_ms']} ms)",
        style_ratio,
        f"≤ {STYLE_GOAL}×, 0 errors",
        style_ratio is not None
        and style_ratio <= STYLE_GOAL
        and so["errors"] == 0
        and su["errors"] == 0
        and so["hostile_reads"] > 0,
        {"ours": so, "baseline": su},
    )
    render_size = cfg.pick(BODY_BYTES, 64 * 1024)
    times = render_times(render_size, cfg.pick(3, 1))
    worst_kind = max(times, key=lambda k: times[k]["with_style"])
    worst = times[worst_kind]
    render_row = Row(
        f"10 hostile body: rendering the worst <style> body of {render_size // 1024} KB "
        f"({len(times)} shapes, worst: {worst_kind}), in-process",
        f"{worst['with_style']:.1f} ms",
        f"{worst['without']:.1f} ms (same body without the style block)",
        ratio(worst["with_style"], worst["without"]),
        f"≤ {RENDER_GOAL_MS:.0f} ms",
        worst["with_style"] <= RENDER_GOAL_MS,
        {"times_ms": times},
    )
    notes = [
        f"hostile: with reader {o}",
        f"hostile: without reader {b}",
        f"style: with style {so}",
        f"style: without style {su}",
        "render ms (with style / without): "
        + ", ".join(f"{k} {v['with_style']:.1f}/{v['without']:.1f}" for k, v in times.items()),
    ]
    return Outcome(
        [row, style_row, render_row],
        {
            "with_hostile_reader": o,
            "without": b,
            "body_bytes": size,
            "style_heavy": so,
            "style_removed": su,
            "render_ms": times,
        },
        notes,
    )
