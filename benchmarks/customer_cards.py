"""13. Customer cards: what an account card costs a model's context, and Pylon's rate limits.

- Bytes: the text a model reads from get_account (the card: owner, type, fields by label,
  tags, channels, external IDs, open-issue count and the five most recently updated) against
  the raw JSON a model would otherwise be handed for the same question: the account
  (`GET /accounts/{id}`) plus its open issues (`POST /issues/search`, the same filter and limit
  the card uses), compact JSON. Over a sample of accounts; median and the largest.
- Requests per card, counted in the sandbox's request log: cold (a fresh server: the directory's
  users and field-label lists load once), warm (an account by name, lists loaded: the name's
  search answers the account, plus one issue search), and again within the directory's
  refresh window (the issue search alone). The same for the contact card (cold by email, warm
  again by email). The baseline is the 2 requests the raw JSON above costs.
"""

from __future__ import annotations

from typing import Any

import httpx2

from benchmarks.common import (
    OURS_ARGV,
    TOKEN,
    Config,
    Outcome,
    Row,
    StdioPeer,
    compact,
    median,
    ratio,
    sandbox,
    server_env,
    text_of,
)
from pylon_mcp.pylon.customers import CARD_SEARCH_LIMIT, open_issues_filter

RAW_REQUESTS = 2  # GET /accounts/{id} + one POST /issues/search


def logged(http: httpx2.Client) -> list[str]:
    entries = http.get("/_sandbox/requests").json()["data"]
    http.delete("/_sandbox/requests")
    return [f"{e['method']} {e['path']}" for e in entries]


async def card(peer: StdioPeer, http: httpx2.Client, tool: str, arguments: dict[str, Any]) -> tuple[str, int]:
    http.delete("/_sandbox/requests")
    result = await peer.call(tool, arguments)
    if result.get("isError"):
        raise RuntimeError(f"{tool} {arguments} failed: {text_of(result)}")
    return text_of(result), len(logged(http))


def raw_bytes(http: httpx2.Client, account_id: str) -> int:
    account = http.get(f"/accounts/{account_id}").json()
    body = {"filter": open_issues_filter(account_id).to_body(), "limit": CARD_SEARCH_LIMIT}
    issues = http.post("/issues/search", json=body).json()
    return len(compact(account)) + len(compact(issues))


async def run(cfg: Config) -> Outcome:
    sample = cfg.pick(31, 4)
    with (
        sandbox(issues=300) as url,
        httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        every = {"field": "external_ids", "operator": "is_set"}  # every sandbox account has a CRM ID
        listed = http.post("/accounts/search", json={"filter": every, "limit": 100}).json()["data"]
        chosen = sorted(listed, key=lambda a: a["name"])[:sample]
        anyone = {"field": "email", "operator": "string_contains", "value": "@"}
        contact = http.post("/contacts/search", json={"filter": anyone, "limit": 1}).json()["data"][0]
        sizes: list[tuple[int, int, str]] = []
        counts: dict[str, int] = {}
        async with StdioPeer(OURS_ARGV, server_env(url), "customer-cards") as peer:
            first = chosen[0]
            text, counts["account cold (fresh server, by ID)"] = await card(peer, http, "get_account",
                                                                            {"account": first["id"]})  # fmt: skip
            _, counts["account again within the refresh window"] = await card(
                peer, http, "get_account", {"account": first["id"]}
            )
            sizes.append((len(text.encode()), raw_bytes(http, first["id"]), first["name"]))
            warm: list[int] = []
            for account in chosen[1:]:
                text, requests = await card(peer, http, "get_account", {"account": account["name"]})
                warm.append(requests)
                sizes.append((len(text.encode()), raw_bytes(http, account["id"]), account["name"]))
            counts["account warm (known lists, by name)"] = max(warm) if warm else 0
            _, counts["contact cold (by email)"] = await card(
                peer, http, "get_contact", {"contact": contact["email"]}
            )
            _, counts["contact warm (by email)"] = await card(
                peer, http, "get_contact", {"contact": contact["email"]}
            )
    ours = [s for s, _, _ in sizes]
    raws = [r for _, r, _ in sizes]
    shares = sorted(s / r for s, r, _ in sizes)
    typical = median(shares)
    largest = max(sizes)
    rows = [
        Row(
            f"13 account card, model-facing bytes (median of {len(sizes)} accounts)",
            f"{median(ours):.0f} B",
            f"{median(raws):.0f} B raw account + open issues JSON",
            round(typical, 3),
            "≤ 0.1× raw",
            typical <= 0.1,
        ),
        Row(
            "13 account card, largest",
            f"{largest[0]} B ({largest[2]})",
            f"{largest[1]} B raw",
            ratio(largest[0], largest[1]),
            "report",
            None,
        ),
    ]
    goals = {
        "account cold (fresh server, by ID)": None,
        "account warm (known lists, by name)": 2,
        "account again within the refresh window": 1,
        "contact cold (by email)": None,
        "contact warm (by email)": 2,
    }
    for label, goal in goals.items():
        mine = counts[label]
        rows.append(
            Row(
                f"13 requests per card: {label}",
                str(mine),
                f"{RAW_REQUESTS} (raw JSON, no names)",
                ratio(mine, RAW_REQUESTS),
                "report" if goal is None else f"≤ {goal}",
                None if goal is None else mine <= goal,
            )
        )
    notes = [f"accounts: {', '.join(name for _, _, name in sizes)}"]
    details = {
        "sizes": [{"account": n, "card_bytes": s, "raw_bytes": r} for s, r, n in sizes],
        "requests": counts,
    }
    return Outcome(rows, details, notes)
