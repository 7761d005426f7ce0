"""Upstream requests per tool call, counted in the sandbox's request log.

Every request spends the organisation's per-minute Pylon budget, which all its tools and
people share. These pin the counts (issue 16), so a change that adds a request fails here:
- get_issue 1, search_issues 1, create_issue 1 (issue endpoints);
- a cold get_issue also loads the directory lists its text names (account, teams, users, custom
  fields), together and in parallel, so the first answer shows names (issue 20): 5 requests cold,
  1 warm (the lists are cached for 10 minutes, accounts in an LRU);
- update_issue / snooze_issue / manage_followers: 1 with an ID or a number seen in the last
  few minutes, 2 with another number (read for its ID); add_tags/remove_tags always 2;
- the "before → after" line comes from what the server saw; without it, the state after;
- get_account / get_contact: 2 once the directory knows the customer (the account or contact, one issue
  search), 1 when it read it moments ago; cold, the users and field-label lists once;
- link_external_issue: 1 with an ID, 2 with a number not seen; "already linked" 1 (a fresh read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from mcp import Client

from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.server import build_server
from pylon_mcp.state import AppState
from tests.mcp_helpers import connect, ok, settings_for, text

pytestmark = pytest.mark.anyio

GET = "GET /issues/{id}"
PATCH = "PATCH /issues/{id}"
SNOOZE = "POST /issues/{id}/snooze"
FOLLOW = "POST /issues/{id}/followers"
GET_FOLLOWERS = "GET /issues/{id}/followers"


@pytest.fixture
async def client(sandbox_url: str) -> AsyncIterator[Client]:
    async with connect(sandbox_url) as c:
        yield c


def sent(sandbox: Sandbox) -> list[str | None]:
    """Issue endpoints requested since the last call, then a clean log for the next step.

    Directory lookups (names for IDs, pylon_mcp/directory.py) are counted apart: each list at most
    once per call (they are cached after); test_cold_and_warm_get_issue pins them.
    """
    logged = [r.endpoint for r in sandbox.requests()]
    sandbox.clear_log()
    lookups = [e for e in logged if not (e or "").split(" ", 1)[-1].startswith("/issues")]
    assert len(lookups) == len(set(lookups)), lookups
    return [e for e in logged if e not in lookups]


DIRECTORY_LISTS = ["POST /accounts/search", "GET /teams", "GET /users", "GET /custom-fields"]


async def test_cold_and_warm_get_issue(client: Client, sandbox: Sandbox) -> None:
    """Cold: the issue and every list its text names, at once; warm: the issue alone. Both show names."""
    record = sandbox.store.find("7")
    team = sandbox.store.directory.teams[record.team_id].name
    assignee = sandbox.store.directory.users[record.assignee_id].name
    for expected in ([GET, *DIRECTORY_LISTS], [GET]):
        shown = text(await ok(client, "get_issue", {"issue_id": "7"}))
        assert Counter(r.endpoint for r in sandbox.requests()) == Counter(expected)
        sandbox.clear_log()
        assert f"assignee {assignee} · team {team}" in shown, shown
        assert record.team_id not in shown and "Names of" not in shown
    # Another issue of an account not seen yet: its account alone.
    other = next(r for r in sandbox.store._order if r.account_id not in {record.account_id, None})
    await ok(client, "get_issue", {"issue_id": other.id})
    assert Counter(r.endpoint for r in sandbox.requests()) == Counter([GET, "POST /accounts/search"])


def later(days: int = 2) -> str:
    return format_rfc3339((utcnow() + timedelta(days=days)).replace(microsecond=0))


async def test_reads_cost_one_request(client: Client, sandbox: Sandbox) -> None:
    await ok(client, "get_issue", {"issue_id": "7"})
    assert sent(sandbox) == [GET]
    await ok(
        client, "search_issues", {"state": ["new"], "tags": ["bug"], "created_after": "2020-01-01T00:00:00Z"}
    )
    assert sent(sandbox) == ["POST /issues/search"]
    await ok(client, "get_issue", {"issue_id": "7", "include": ["followers"]})
    assert sent(sandbox) == [GET, GET_FOLLOWERS]


async def test_create_costs_one_request(client: Client, sandbox: Sandbox) -> None:
    account = next(iter(sandbox.store.directory.accounts))
    await ok(client, "create_issue", {"title": "t", "body_markdown": "b", "account_id": account})
    assert sent(sandbox) == ["POST /issues"]


async def test_update_by_id_is_one_request_and_confirms_the_state_after(
    client: Client, sandbox: Sandbox
) -> None:
    record = sandbox.store.find("7")
    result = await ok(client, "update_issue", {"issue_id": record.id, "state": "closed"})
    assert sent(sandbox) == [PATCH]
    first, now = text(result).splitlines()[:2]
    assert first == "Updated issue #7." and now.startswith("Now: #7 · closed")  # no made-up "before"
    assert "changes" not in (result.structured_content or {})


async def test_update_by_unseen_number_reads_it_first(client: Client, sandbox: Sandbox) -> None:
    before = sandbox.store.find("7").state
    result = await ok(client, "update_issue", {"issue_id": "7", "state": "closed"})
    assert sent(sandbox) == [GET, PATCH]
    assert text(result).splitlines()[0] == f"Updated issue #7: state: {before} → closed"


@pytest.mark.parametrize("seen_by", ["get_issue", "search_issues"])
async def test_writes_to_a_number_seen_recently_are_one_request_each(
    client: Client, sandbox: Sandbox, seen_by: str
) -> None:
    record = sandbox.store.find("7")
    before = record.state
    look = (
        {"issue_id": "7"} if seen_by == "get_issue" else {"title_contains": record.title[:200], "limit": 100}
    )
    seen = await ok(client, seen_by, look)
    assert "#7 " in text(seen)
    sandbox.clear_log()
    updated = await ok(client, "update_issue", {"issue_id": "7", "state": "closed"})
    assert sent(sandbox) == [PATCH]
    assert text(updated).splitlines()[0] == f"Updated issue #7: state: {before} → closed"
    snoozed = await ok(client, "snooze_issue", {"issue_id": "#7", "snooze_until": later()})
    assert sent(sandbox) == [SNOOZE]
    assert "state: closed → on_hold" in text(snoozed)  # "before" is what the update answered
    user = next(iter(sandbox.store.directory.users))
    await ok(client, "manage_followers", {"issue_id": 7, "operation": "add", "user_ids": [user]})
    assert sent(sandbox) == [FOLLOW]


async def test_snooze_counts(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("9")
    result = await ok(client, "snooze_issue", {"issue_id": record.id, "snooze_until": later()})
    assert sent(sandbox) == [SNOOZE]
    assert text(result).startswith("Snoozed issue #9.") and "snoozed until" in text(result)
    await ok(client, "snooze_issue", {"issue_id": "11", "snooze_until": later()})
    assert sent(sandbox) == [GET, SNOOZE]


async def test_followers_counts_and_before_from_what_was_seen(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    user, person = next(iter(sandbox.store.directory.users.items()))
    cold = await ok(
        client, "manage_followers", {"issue_id": record.id, "operation": "add", "user_ids": [user]}
    )
    assert sent(sandbox) == [FOLLOW]
    assert text(cold).startswith(
        f"Updated followers of issue {record.id}."
    ) and f"user {person.name}" in text(cold)
    # The list this call answered is the "before" of the next one.
    removed = await ok(
        client, "manage_followers", {"issue_id": record.id, "operation": "remove", "user_ids": [user]}
    )
    assert sent(sandbox) == [FOLLOW]
    assert f"−user {person.name}" in text(removed)
    await ok(client, "manage_followers", {"issue_id": "12", "operation": "add", "user_ids": [user]})
    assert sent(sandbox) == [GET, FOLLOW]


async def test_tag_edits_always_read_first(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    await ok(client, "get_issue", {"issue_id": "7"})
    sandbox.clear_log()
    await ok(client, "update_issue", {"issue_id": record.id, "add_tags": ["vip"]})
    assert sent(sandbox) == [GET, PATCH]


async def test_a_stale_copy_never_says_no_change(client: Client, sandbox: Sandbox) -> None:
    await ok(client, "get_issue", {"issue_id": "7"})
    record = sandbox.store.find("7")
    seen_state = record.state
    record.state = "closed" if seen_state != "closed" else "new"  # someone changed it in Pylon since
    sandbox.clear_log()
    # The remembered copy says "already so": a fresh read checks before nothing is sent.
    result = await ok(client, "update_issue", {"issue_id": "7", "state": seen_state})
    assert sent(sandbox) == [GET, PATCH]
    assert sandbox.store.find("7").state == seen_state and "→" in text(result)


async def test_every_given_field_is_sent_against_a_remembered_copy(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    await ok(client, "get_issue", {"issue_id": "7"})
    sandbox.clear_log()
    await ok(client, "update_issue", {"issue_id": "7", "state": record.state, "title": "Renamed"})
    (patch,) = sandbox.requests(PATCH)
    # The remembered copy may be stale, so nothing is skipped on its word: one request, every field.
    assert patch.body == {"state": record.state, "title": "Renamed"}
    assert sent(sandbox) == [PATCH]


async def test_a_field_changed_elsewhere_since_it_was_seen_is_still_written(
    client: Client, sandbox: Sandbox
) -> None:
    record = sandbox.store.find("7")
    seen_state = record.state
    await ok(client, "get_issue", {"issue_id": "7"})
    other = "closed" if seen_state != "closed" else "new"
    record.state = other  # someone changed it in Pylon after the server saw it
    sandbox.clear_log()
    await ok(client, "update_issue", {"issue_id": "7", "state": seen_state, "title": "Back"})
    (patch,) = sandbox.requests(PATCH)
    assert patch.body == {"state": seen_state, "title": "Back"}
    assert sandbox.store.find("7").state == seen_state


# --- customer cards and links (issue 22) ------------------------------------------------------------
# A card is the account (or contact) plus one issue search: 2 requests once the directory knows the
# customer and has its lists (users, field labels); a name's search answers the account itself.

ACCOUNT = "GET /accounts/{id}"
CONTACT = "GET /contacts/{id}"
ISSUES = "POST /issues/search"
LINK = "POST /issues/{id}/external-issues"


@asynccontextmanager
async def served(url: str) -> AsyncIterator[tuple[Client, AppState]]:
    server = build_server(settings_for(url))
    async with Client(server, cache=None) as client:
        state = server.holder.current
        assert state is not None
        yield client, state


def move_on(state: AppState, seconds: float) -> None:
    """The directory's clock, `seconds` later: what it read is still known, but no longer just read."""
    clock = state.directory._clock
    state.directory._clock = lambda: clock() + seconds


def everything(sandbox: Sandbox) -> list[str]:
    """Every endpoint requested since the last call, sorted (concurrent lookups finish in any order)."""
    logged = sorted(r.endpoint or "" for r in sandbox.requests())
    sandbox.clear_log()
    return logged


async def test_account_card_cold_and_warm(sandbox_url: str, sandbox: Sandbox) -> None:
    account = next(iter(sandbox.store.directory.accounts.values()))
    async with served(sandbox_url) as (client, state):
        await ok(client, "get_account", {"account": account.id})
        assert everything(sandbox) == sorted([ACCOUNT, ISSUES, "GET /users", "GET /custom-fields"])
        await ok(client, "get_account", {"account": account.id})  # read moments ago: no need to read again
        assert everything(sandbox) == [ISSUES]
        move_on(state, state.directory.refresh_after)  # known to the directory, but not read just now
        await ok(client, "get_account", {"account": account.id})
        assert everything(sandbox) == sorted([ACCOUNT, ISSUES])
        move_on(state, state.directory.refresh_after)
        await ok(client, "get_account", {"account": account.name})  # the name's search answers the account
        assert everything(sandbox) == sorted(["POST /accounts/search", ISSUES])


async def test_contact_card_cold_and_warm(sandbox_url: str, sandbox: Sandbox) -> None:
    contact = next(iter(sandbox.store.directory.contacts.values()))
    async with served(sandbox_url) as (client, state):
        await ok(client, "get_contact", {"contact": contact.email})
        # the email's search answers the contact; its account's name and the field labels, once
        assert everything(sandbox) == sorted(["POST /contacts/search", ISSUES, "POST /accounts/search",
                                              "GET /custom-fields"])  # fmt: skip
        move_on(state, state.directory.refresh_after)
        await ok(client, "get_contact", {"contact": contact.id})
        assert everything(sandbox) == sorted([CONTACT, ISSUES])


async def test_get_issue_with_the_account_cold_and_warm(sandbox_url: str, sandbox: Sandbox) -> None:
    async with served(sandbox_url) as (client, state):
        await ok(client, "get_issue", {"issue_id": "7", "include": ["account"]})
        # the issue's names (account, teams, users, issue fields) and the card (its fields, open issues)
        assert everything(sandbox) == sorted([GET, "POST /accounts/search", ISSUES, "GET /users", "GET /teams",
                                              "GET /custom-fields", "GET /custom-fields"])  # fmt: skip
        move_on(state, state.directory.refresh_after)  # the first lines take a copy up to the TTL old
        await ok(client, "get_issue", {"issue_id": "8", "include": ["account"]})
        record = sandbox.store.find("8")
        account_known = record.account_id == sandbox.store.find("7").account_id
        names = [] if account_known else ["POST /accounts/search"]
        assert everything(sandbox) == sorted([GET, ISSUES, *names])


async def test_link_counts(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    link = {"source": "jira", "external_issue_id": "10042"}
    await ok(client, "link_external_issue", {"issue_id": record.id, **link})
    assert sent(sandbox) == [LINK]  # an ID: no read first
    await ok(client, "link_external_issue", {"issue_id": "8", **link})
    assert sent(sandbox) == [GET, LINK]  # a number not seen: read for its ID
    again = await ok(client, "link_external_issue", {"issue_id": "8", **link})
    assert sent(sandbox) == [GET]  # remembered as linked: a fresh read confirms, nothing is written
    assert (again.structured_content or {})["action"] == "already_linked"
