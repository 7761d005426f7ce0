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
- get_issue with names (directory warm) vs the same issue rendered with IDs only (no directory,
  same renderer, in this process), both against the raw JSON; and an issue whose body is a 1.5 KB
  HTML email (the markup an email client sends), created in the sandbox for the run.
- Upstream requests of a 20-result search_issues, counted in the sandbox's request log: a fresh
  server (cold directory: the lists a search names, fetched in parallel so that the first answer
  shows names) and once names are cached (warm), against the one request a search costs without names.

structuredContent (sent alongside the text, read by programs rather than most models) is
reported in the details.
"""

from __future__ import annotations

import asyncio
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
    admin,
    compact,
    median,
    sandbox,
    server_env,
    text_of,
)

SPEC = ROOT / "tests" / "spec" / "pylon-issues-openapi.json"
SEARCH_ARGS: dict[str, Any] = {"state": ["new", "waiting_on_you", "waiting_on_customer"], "limit": 20}

# A 1.5 KB body as an email client writes it: wrapper divs, inline styles, a quoted reply, a signature.
_STYLE = 'style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222222"'
EMAIL_HTML = (
    f'<div dir="ltr"><div {_STYLE}>Hi Pylon team,</div><div {_STYLE}><br></div>'
    f"<div {_STYLE}>Since Tuesday&#39;s release our finance team cannot download invoices from the billing "
    "page. The download button spins for about a minute and then shows &quot;Something went wrong&quot;. "
    "We tried Chrome and Firefox, with and without our VPN.</div>"
    f"<div {_STYLE}><br></div><div {_STYLE}>This blocks our month-end close on Friday, so it is urgent "
    "for us. Could you tell us whether this is a known issue and when a fix is expected?</div>"
    f"<div {_STYLE}><br></div><div {_STYLE}>Thanks,</div><div {_STYLE}>Ava</div>"
    '<div><div dir="ltr" class="gmail_signature"><div dir="ltr"><span style="color:#888888">'
    "Ava Rossi | Finance Operations | Northwind Traders</span></div></div></div><br>"
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 3, 2026 at 9:12 AM '
    'Pylon Support &lt;support@example.com&gt; wrote:<br></div><blockquote class="gmail_quote" '
    'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
    "Your request has been received.</blockquote></div></div>"
)


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
            email = await email_issue(http, ours)
            conversation = await conversation_sample(ours, http)
        requests = await search_requests(url)
    issues.sort()
    typical = issues[len(issues) // 2]
    ids_only = ids_only_text(typical[3])
    search_text = text_of(search)
    spec = compact(json.loads(SPEC.read_text()))
    tools = compact(listed).decode()
    rows = [
        size_row(f"3 get_issue text, #{typical[1]} (typical)", typical[2], typical[3], 0.40, count),
        size_row(f"3 get_issue text, #{typical[1]}, IDs only (no names)", ids_only, typical[3], None, count),
        size_row("3 get_issue text, 1.5 KB HTML email body", email[0], email[1], 0.30, count),
        size_row("3 search_issues text, 20 results", search_text, search_raw, 0.25, count),
        Row(
            "3 search_issues requests, 20 results, cold",
            f"{requests['cold']}",
            "1 (no names)",
            round(requests["cold"] / 1, 3),
            # Names on the first answer (not IDs): the lists a search names are fetched once, together.
            "≤ 1 + 2 lists (in parallel)",
            requests["cold"] <= 3,
            requests,
        ),
        Row(
            "3 search_issues requests, 20 results, warm",
            f"{requests['warm']}",
            "1 (no names)",
            round(requests["warm"] / 1, 3),
            "≤ 1 + 0",
            requests["warm"] <= 1,
            requests,
        ),
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
        "search_request_endpoints": requests["endpoints"],
        "conversation_structured_bytes": conversation["structured"],
    }
    notes = [
        f"sizes ({label}): get_issue text/raw over {sample} issues: median {details['get_issue_ratio_median']}, "
        f"range {details['get_issue_ratio_range']}; structuredContent also sent: get_issue "
        f"{typical[4]} B, search {details['search_structured_bytes']} B"
    ]
    return Outcome(rows, details, notes)


def ids_only_text(raw: bytes) -> str:
    """The issue rendered as the server would with no directory: IDs where names would go."""
    from pylon_mcp.pylon.models import Issue
    from pylon_mcp.render.issues import detail, issue_text

    issue = Issue.model_validate(json.loads(raw)["data"])
    out = detail(issue, body_format="markdown", body_offset=0, body_chars=4000)
    return issue_text(out, str(issue.number))


async def email_issue(http: httpx2.AsyncClient, ours: StdioPeer) -> tuple[str, bytes]:
    """Create an issue with a 1.5 KB email body (through the sandbox directly), then read it through ours."""
    account = (
        await http.post(
            "/accounts/search",
            json={"filter": {"field": "name", "operator": "equals", "value": "Northwind Traders"}},
        )
    ).json()["data"][0]
    contact = (
        await http.post(
            "/contacts/search",
            json={"filter": {"field": "account_id", "operator": "equals", "value": account["id"]}},
        )
    ).json()["data"][0]
    users = (await http.get("/users")).json()["data"]
    teams = (await http.get("/teams")).json()["data"]
    created = await http.post("/issues", json={
        "title": "Invoices cannot be downloaded since Tuesday's release", "body_html": EMAIL_HTML,
        "requester_id": contact["id"], "account_id": account["id"], "assignee_id": users[0]["id"],
        "team_id": teams[0]["id"], "priority": "urgent", "tags": ["billing", "bug"],
    })  # fmt: skip
    number = created.json()["data"]["number"]
    raw = (await http.get(f"/issues/{number}")).content
    return text_of(await ours.call("get_issue", {"issue_id": str(number)})), raw


async def search_requests(url: str) -> dict[str, Any]:
    """Upstream requests of one 20-result search from a fresh server (cold), and once names are cached."""
    async with StdioPeer(OURS_ARGV, server_env(url), "size-requests") as fresh:
        counts, endpoints = [], []
        for _ in range(5):  # names warm one request per call: accounts, teams, users, field labels
            await asyncio.to_thread(_clear_log, url)
            await fresh.call("search_issues", SEARCH_ARGS)
            logged = await asyncio.to_thread(admin, url, "requests")
            endpoints.append([entry["endpoint"] for entry in logged])
            counts.append(len(logged))
    return {"cold": counts[0], "warm": counts[-1], "per_call": counts, "endpoints": endpoints}


def _clear_log(url: str) -> None:
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        client.delete("/_sandbox/requests")


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
