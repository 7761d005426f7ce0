"""create_issue, update_issue, snooze_issue, manage_followers, delete_issue through an MCP session."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import get_args

import pytest
from mcp import Client

from pylon_mcp.pylon.models import PRIORITIES, UPDATABLE_FIELDS, Issue, Priority, UpdateIssueRequest
from pylon_mcp.pylon.timefmt import format_rfc3339, utcnow
from pylon_mcp.render.issues import _values as render_values
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.surface.tools.issue_writes import update_issue
from tests.mcp_helpers import connect, fails, ok, text

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(sandbox_url: str) -> AsyncIterator[Client]:
    async with connect(sandbox_url) as c:
        yield c


def writes(sandbox: Sandbox) -> list:
    return [
        r
        for r in sandbox.requests()
        if r.method in ("POST", "PATCH", "DELETE") and not r.path.endswith("/search")
    ]


# --- create ----------------------------------------------------------------------


async def test_create_from_markdown(client: Client, sandbox: Sandbox) -> None:
    result = await ok(
        client,
        "create_issue",
        {
            "title": "Login loop",
            "body_markdown": "Users **cannot** log in.\n\n- Chrome\n- Safari",
            "requester_email": "pat@example.org",
            "priority": "urgent",
            "tags": ["sso"],
        },
    )
    (sent,) = sandbox.requests("POST /issues")
    assert (
        sent.body["body_html"]
        == "<p>Users <strong>cannot</strong> log in.</p>\n<ul>\n<li>Chrome</li>\n<li>Safari</li>\n</ul>"
    )
    assert set(sent.body) == {"title", "body_html", "requester_email", "priority", "tags"}
    data = result.structured_content or {}
    assert data["action"] == "created" and data["issue"]["number"] == 301
    assert data["issue"]["priority"] == "urgent" and data["issue"]["tags"] == ["sso"]
    assert text(result).startswith("Created issue #301.")


async def test_create_sanitises_html_before_sending(client: Client, sandbox: Sandbox) -> None:
    account = next(iter(sandbox.store.directory.accounts))
    await ok(
        client,
        "create_issue",
        {
            "title": "x",
            "account_id": account,
            "body_html": '<p onclick="x()">hi <a href="javascript:alert(1)">a</a></p><script>steal()</script>',
        },
    )
    (sent,) = sandbox.requests("POST /issues")
    assert sent.body["body_html"] == "<p>hi <a>a</a></p>"


async def test_markdown_html_is_escaped_not_passed_through(client: Client, sandbox: Sandbox) -> None:
    await ok(
        client,
        "create_issue",
        {"title": "x", "requester_email": "a@b.co", "body_markdown": "<img src=x onerror=alert(1)> text"},
    )
    (sent,) = sandbox.requests("POST /issues")
    assert "<img" not in sent.body["body_html"] and "text" in sent.body["body_html"]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"title": "x", "body_html": "<p>b</p>"}, "needs account_id or a requester"),
        ({"title": "x", "requester_email": "a@b.co"}, "exactly one of body_html or body_markdown"),
        ({"title": "x", "requester_email": "a@b.co", "body_html": "b", "body_markdown": "b"}, "exactly one"),
        ({"title": "x", "requester_email": "not-an-email", "body_html": "b"}, "not an email address"),
        ({"title": "x", "requester_email": "a@b.co", "body_html": "<script>x</script>"}, "body is empty"),
        (
            {"title": "x", "requester_email": "a@b.co", "body_html": "b", "priority": "p1"},
            "'urgent', 'high', 'medium' or 'low'",
        ),
        ({"title": "", "requester_email": "a@b.co", "body_html": "b"}, "title"),
        ({"body_html": "b", "requester_email": "a@b.co"}, "title: Field required"),
        (
            {"title": "x", "requester_email": "a@b.co", "body_html": "b", "destination": "email"},
            "'destination'",
        ),
    ],
)
async def test_create_refuses_bad_input_without_a_request(
    client: Client, sandbox: Sandbox, arguments: dict, fragment: str
) -> None:
    assert fragment in await fails(client, "create_issue", arguments)
    assert sandbox.requests() == []


async def test_create_upstream_400_names_status_and_request_id(client: Client) -> None:
    missing = "00000000-0000-4000-8000-000000000000"  # ID-shaped, so passed through to Pylon unresolved
    message = await fails(client, "create_issue", {"title": "x", "body_html": "b", "account_id": missing})
    assert (
        "HTTP 400" in message and "request_id req_" in message and f"account {missing} not found" in message
    )


# --- update ----------------------------------------------------------------------


async def test_update_sends_only_given_fields_by_id(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    before_state = record.state
    result = await ok(client, "update_issue", {"issue_id": "7", "state": "closed"})
    (patch,) = sandbox.requests("PATCH /issues/{id}")
    assert patch.path == f"/issues/{record.id}"  # the number was resolved to the ID first
    assert patch.body == {"state": "closed"}
    first_line = text(result).splitlines()[0]
    assert first_line == f"Updated issue #7: state: {before_state} → closed"
    assert (result.structured_content or {})["changes"] == [
        {"field": "state", "before": before_state, "after": "closed"}
    ]


async def test_add_and_remove_tags_keep_the_others(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    original = list(record.tags)
    await ok(client, "update_issue", {"issue_id": "7", "add_tags": ["vip"], "remove_tags": [original[0]]})
    (patch,) = sandbox.requests("PATCH /issues/{id}")
    assert patch.body == {"tags": [*original[1:], "vip"]}
    assert sandbox.store.find("7").tags == [*original[1:], "vip"]


async def test_tags_replace_the_whole_list(client: Client, sandbox: Sandbox) -> None:
    result = await ok(client, "update_issue", {"issue_id": "7", "tags": ["only"]})
    assert sandbox.store.find("7").tags == ["only"]
    assert "tags: +only" in text(result)


async def test_unassign_with_empty_string(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    assert record.assignee_id
    result = await ok(client, "update_issue", {"issue_id": "7", "assignee_id": ""})
    assert sandbox.store.find("7").assignee_id is None
    assert "assignee: " in text(result) and "→ none" in text(result)


async def test_no_op_update_sends_nothing(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    result = await ok(
        client, "update_issue", {"issue_id": "7", "state": record.state, "add_tags": record.tags[:1]}
    )
    assert sandbox.requests("PATCH /issues/{id}") == []
    assert text(result).startswith("No change to issue #7.")


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"issue_id": "7", "priority": "high"}, "cannot change priority"),
        ({"issue_id": "7"}, "nothing to change"),
        ({"issue_id": "7", "tags": ["a"], "add_tags": ["b"]}, "replaces the whole list"),
        ({"issue_id": "7", "type": "conversation"}, "'ticket'"),
        ({"issue_id": "7", "state": ""}, "state"),
        ({"issue_id": "7", "assigne_id": "u"}, "has no argument(s) 'assigne_id'"),
    ],
)
async def test_update_refuses_bad_input_without_a_request(
    client: Client, sandbox: Sandbox, arguments: dict, fragment: str
) -> None:
    assert fragment in await fails(client, "update_issue", arguments)
    assert sandbox.requests() == []


async def test_update_unknown_state_is_refused_before_writing(client: Client, sandbox: Sandbox) -> None:
    message = await fails(client, "update_issue", {"issue_id": "7", "state": "done"})
    assert "no status is called 'done'" in message and "slug closed" in message
    assert sandbox.requests("PATCH /issues/{id}") == []


# --- snooze, followers, delete -----------------------------------------------------


async def test_snooze(client: Client, sandbox: Sandbox) -> None:
    until = format_rfc3339((utcnow() + timedelta(days=2)).replace(microsecond=0))
    # An issue that is neither on hold nor snoozed, so both fields change.
    before = next(r for r in sandbox.store._order if r.state != "on_hold" and r.snoozed_until is None)
    was, number = before.state, before.number
    result = await ok(client, "snooze_issue", {"issue_id": str(number), "snooze_until": until})
    assert sandbox.store.find(str(number)).state == "on_hold"
    first_line = text(result).splitlines()[0]
    assert first_line == f"Snoozed issue #{number}: state: {was} → on_hold; snoozed until: none → {until}"
    (snooze,) = sandbox.requests("POST /issues/{id}/snooze")
    assert snooze.body == {"snooze_until": until}


@pytest.mark.parametrize(
    ("until", "fragment"),
    [
        ("2001-01-01T00:00:00Z", "not in the future (now is "),
        ("tomorrow", "RFC3339"),
        ("2026-13-01T00:00:00Z", "not a valid date"),
    ],
)
async def test_snooze_refuses_bad_times(client: Client, sandbox: Sandbox, until: str, fragment: str) -> None:
    assert fragment in await fails(client, "snooze_issue", {"issue_id": "7", "snooze_until": until})
    assert sandbox.requests() == []


async def test_manage_followers(client: Client, sandbox: Sandbox) -> None:
    following = sandbox.store.find("7").followers
    user = next(u for u in sandbox.store.directory.users if ("user", u) not in following)
    name = sandbox.store.directory.users[user].name
    added = await ok(client, "manage_followers", {"issue_id": "7", "operation": "add", "user_ids": [user]})
    assert ("user", user) in sandbox.store.find("7").followers
    # No followers seen before this call: it confirms the list after, without a request for "before".
    # Followers show as people do everywhere: users by name (issue 20, item 2).
    assert f"user {name}" in text(added).split("Followers: ")[1] and user not in text(added)
    issue_requests = [
        r.endpoint for r in sandbox.requests() if r.endpoint.startswith(("GET /issues", "POST /issues"))
    ]
    assert issue_requests == ["GET /issues/{id}", "POST /issues/{id}/followers"]
    removed = await ok(
        client, "manage_followers", {"issue_id": "7", "operation": "remove", "user_ids": [user]}
    )
    assert ("user", user) not in sandbox.store.find("7").followers
    assert f"−user {name}" in text(removed)
    assert "give user_ids and/or contact_ids" in await fails(
        client, "manage_followers", {"issue_id": "7", "operation": "add"}
    )
    assert "'add' or 'remove'" in await fails(
        client, "manage_followers", {"issue_id": "7", "operation": "toggle", "user_ids": [user]}
    )


async def test_delete_is_off_by_default_and_explains(client: Client, sandbox: Sandbox) -> None:
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert "delete_issue" not in tools
    message = await fails(client, "delete_issue", {"issue_id": "7"})
    assert "PYLON_ENABLE_DELETE" in message and "update_issue with state 'closed'" in message
    assert writes(sandbox) == []


async def test_delete_when_enabled(sandbox_url: str, sandbox: Sandbox) -> None:
    async with connect(sandbox_url, enable_delete=True) as c:
        result = await ok(c, "delete_issue", {"issue_id": "7"})
    assert text(result).startswith("Deleted issue #7.") and "cannot be undone" in text(result)
    assert len(sandbox.store) == 299


# --- read-only mode --------------------------------------------------------------


async def test_read_only_hides_and_refuses_every_write(sandbox_url: str, sandbox: Sandbox) -> None:
    async with connect(sandbox_url, read_only=True, enable_delete=True, allow_customer_replies=True) as c:
        names = {tool.name for tool in (await c.list_tools()).tools}
        assert names == {
            "get_issue",
            "search_issues",
            "find",
            "get_account",
            "get_contact",
            "search_knowledge",
            "get_article",
            "get_issue_messages",
            "get_attachment",
        }
        user = next(iter(sandbox.store.directory.users))
        attempts = {
            "create_issue": {"title": "x", "body_html": "b", "requester_email": "a@b.co"},
            "update_issue": {"issue_id": "7", "state": "closed"},
            "snooze_issue": {"issue_id": "7", "snooze_until": "2099-01-01T00:00:00Z"},
            "manage_followers": {"issue_id": "7", "operation": "add", "user_ids": [user]},
            "delete_issue": {"issue_id": "7"},
            "add_internal_note": {"issue_id": "7", "body_markdown": "x"},
            "send_customer_reply": {"issue_id": "7", "body_markdown": "x"},
            "link_external_issue": {"issue_id": "7", "source": "jira", "external_issue_id": "10042"},
        }
        for name, arguments in attempts.items():
            assert "read-only mode" in await fails(c, name, arguments)
        followers = await ok(c, "get_issue", {"issue_id": "7", "include": ["followers"]})
        assert "Followers:" in text(followers)  # listing followers is a read
    assert writes(sandbox) == []
    # Only reads: GETs and the directory's account search (names for get_issue).
    assert {r.endpoint for r in sandbox.requests() if r.method != "GET"} == {"POST /accounts/search"}


def test_updatable_fields_have_one_source() -> None:
    # Issue 14, item 18: the tool's arguments, the no-op check and the change line all derive from
    # UpdateIssueRequest; a field added there must show up in each, or this fails.
    assert tuple(f for f in UpdateIssueRequest.model_fields if f != "custom_fields") == UPDATABLE_FIELDS
    assert set(UPDATABLE_FIELDS) <= set(inspect.signature(update_issue).parameters)
    assert set(Issue().current_values()) == set(UPDATABLE_FIELDS)
    assert set(UPDATABLE_FIELDS) <= set(render_values(Issue()))
    assert PRIORITIES == get_args(Priority) == ("urgent", "high", "medium", "low")


async def test_update_sends_only_the_fields_that_change(client: Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    same = {"state": record.state, "tags": list(record.tags), "assignee_id": record.assignee_id or ""}
    result = await ok(client, "update_issue", {"issue_id": "7", **same, "title": "Renamed once"})
    (patch,) = [r for r in sandbox.requests() if r.method == "PATCH"]
    assert patch.body == {"title": "Renamed once"}
    assert text(result).startswith("Updated issue #7: title: ")
