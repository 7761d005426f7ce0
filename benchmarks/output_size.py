"""3. Model-facing size: bytes (and tokens, or bytes/4 as an estimate) of what a model reads.

- get_issue: the text content of the tool result vs the raw body of GET /issues/{n}, over a
  sample of issues; the "typical" issue is the one with the median ratio.
- search_issues limit 20: text content vs the raw body of POST /issues/search with the same
  filter and limit.
- get_issue_messages: the text content for a seeded 10-message email conversation with quoted
  history vs the raw body of GET /issues/{id}/messages, and how many upstream requests the call
  made (from the sandbox's request log) when the conversation fits one page.
- tools/list: the whole result as compact JSON vs the compact JSON of the OpenAPI extract
  of the same endpoints (tests/spec/pylon-issues-openapi.json): what a model would get if it
  were handed the API description instead of our tool definitions.

structuredContent (sent alongside the text, read by programs rather than most models) is
reported in the details.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from benchmarks.common import (
    OURS_ARGV,
    ROOT,
    TOKEN,
    Config,
    Outcome,
    Row,
    StdioPeer,
    compact,
    median,
    sandbox,
    server_env,
    text_of,
)

SPEC = ROOT / "tests" / "spec" / "pylon-issues-openapi.json"
SEARCH_ARGS: dict[str, Any] = {"state": ["new", "waiting_on_you", "waiting_on_customer"], "limit": 20}


def tokenizer() -> tuple[str, Callable[[str], int]]:
    """tiktoken's cl100k_base if it loads offline; otherwise bytes/4, labelled as an estimate."""
    try:
        import tiktoken  # type: ignore[import-not-found]

        encoding = tiktoken.get_encoding("cl100k_base")
        return "cl100k_base tokens", lambda text: len(encoding.encode(text))
    except Exception:  # not installed, or its BPE file cannot be downloaded here
        return "tokens (est. bytes/4)", lambda text: round(len(text.encode()) / 4)


def size_row(name: str, ours: str, raw: bytes, goal: float | None, count: Callable[[str], int]) -> Row:
    ours_bytes, raw_bytes = len(ours.encode()), len(raw)
    r = round(ours_bytes / raw_bytes, 3)
    return Row(
        name,
        f"{ours_bytes} B (~{count(ours)} tok)",
        f"{raw_bytes} B (~{count(raw.decode())} tok)",
        r,
        f"≤ {goal:.0%}" if goal is not None else "report",
        r <= goal if goal is not None else None,
        {"ours_bytes": ours_bytes, "baseline_bytes": raw_bytes},
    )


async def run(cfg: Config) -> Outcome:
    sample = cfg.pick(50, 10)
    label, count = tokenizer()
    with sandbox(issues=300) as url:
        async with (
            StdioPeer(OURS_ARGV, server_env(url), "size-ours") as ours,
            httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        ):
            issues = []
            for number in range(1, sample + 1):
                result = await ours.call("get_issue", {"issue_id": str(number)})
                raw = (await http.get(f"/issues/{number}")).content
                text = text_of(result)
                structured = len(compact(result.get("structuredContent")))
                issues.append((len(text.encode()) / len(raw), number, text, raw, structured))
            search = await ours.call("search_issues", SEARCH_ARGS)
            body = {"filter": search["structuredContent"]["filter"], "limit": SEARCH_ARGS["limit"]}
            search_raw = (await http.post("/issues/search", json=body)).content
            listed = await ours.request("tools/list")
            conversation = await conversation_sample(ours, http)
    issues.sort()
    typical = issues[len(issues) // 2]
    search_text = text_of(search)
    spec = compact(json.loads(SPEC.read_text()))
    tools = compact(listed).decode()
    rows = [
        size_row(f"3 get_issue text, #{typical[1]} (typical)", typical[2], typical[3], 0.40, count),
        size_row("3 search_issues text, 20 results", search_text, search_raw, 0.25, count),
        size_row(
            f"3 get_issue_messages text, #{conversation['number']} (10 emails, quoted history)",
            conversation["text"],
            conversation["raw"],
            0.35,
            count,
        ),
        Row(
            "3 get_issue_messages upstream requests (fits one page)",
            str(conversation["requests"]),
            "1 (GET /issues/{id}/messages)",
            float(conversation["requests"]),
            "1 request",
            conversation["requests"] == 1,
            {"endpoints": conversation["endpoints"]},
        ),
        size_row("3 tools/list JSON vs OpenAPI extract", tools, spec, None, count),
    ]
    details = {
        "tokenizer": label,
        "get_issue_ratio_median": round(median([i[0] for i in issues]), 3),
        "get_issue_ratio_range": [round(issues[0][0], 3), round(issues[-1][0], 3)],
        "get_issue_sample": sample,
        "get_issue_structured_bytes_typical": typical[4],
        "search_results": len(search["structuredContent"].get("issues", [])),
        "search_structured_bytes": len(compact(search.get("structuredContent"))),
        "tools": [tool["name"] for tool in listed["tools"]],
        "conversation_structured_bytes": conversation["structured"],
    }
    notes = [
        f"sizes ({label}): get_issue text/raw over {sample} issues: median {details['get_issue_ratio_median']}, "
        f"range {details['get_issue_ratio_range']}; structuredContent also sent: get_issue "
        f"{typical[4]} B, search {details['search_structured_bytes']} B"
    ]
    return Outcome(rows, details, notes)


async def conversation_sample(ours: StdioPeer, http: httpx2.AsyncClient) -> dict[str, Any]:
    """The first seeded email issue whose conversation has 10 messages with quoted history, read by ID."""
    for number in range(1, 301):
        issue = (await http.get(f"/issues/{number}")).json()["data"]
        if issue.get("source") != "email":
            continue
        raw = (await http.get(f"/issues/{issue['id']}/messages")).content
        messages = json.loads(raw)["data"]
        if len(messages) != 10 or not any("wrote:" in m.get("message_html", "") for m in messages):
            continue
        await http.delete("/_sandbox/requests")
        result = await ours.call("get_issue_messages", {"issue_id": issue["id"]})
        log = (await http.get("/_sandbox/requests")).json()["data"]
        return {
            "number": number,
            "text": text_of(result),
            "raw": raw,
            "structured": len(compact(result.get("structuredContent"))),
            "requests": len(log),
            "endpoints": [entry["endpoint"] for entry in log],
        }
    raise RuntimeError("no seeded 10-message email conversation with quoted history")
