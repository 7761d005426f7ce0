"""Resources, templates, caching, change notifications, completions and prompts via a real client session."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from pylon_mcp.sandbox import Sandbox
from pylon_mcp.surface.resources.issues import RECENT_URI
from pylon_mcp.surface.tools.registry import TOOL_NAMES
from tests.mcp_helpers import connect, ok, text

pytestmark = pytest.mark.anyio

STATE_REF = ResourceTemplateReference(type="ref/resource", uri="pylon://issues/state/{state}")
TAG_REF = ResourceTemplateReference(type="ref/resource", uri="pylon://issues/tag/{tag}")
ISSUE_REF = ResourceTemplateReference(type="ref/resource", uri="pylon://issues/{issue_id}")


@pytest.fixture(params=["auto", "legacy"])
async def client(request: pytest.FixtureRequest, sandbox_url: str) -> AsyncIterator[Client]:
    async with connect(sandbox_url, mode=request.param) as c:
        yield c


async def read(client: Client, uri: str) -> str:
    result = await client.read_resource(uri)
    (content,) = result.contents
    assert content.mime_type == "text/markdown"
    return content.text  # type: ignore[union-attr]


def searches(sandbox: Sandbox) -> int:
    return len(sandbox.requests("POST /issues/search"))


async def test_lists_resources_and_templates(client: Client) -> None:
    resources = (await client.list_resources()).resources
    assert [str(r.uri) for r in resources] == [RECENT_URI]
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {
        "pylon://issues/{issue_id}",
        "pylon://issues/state/{state}",
        "pylon://issues/tag/{tag}",
        "pylon://articles/{article_id}",
        "pylon://issues/{issue_id}/messages",
        "pylon://accounts/{account}",
        "pylon://contacts/{contact}",
    }


async def test_recent_states_window_count_and_next_step(client: Client, sandbox: Sandbox) -> None:
    body = await read(client, RECENT_URI)
    head = body.splitlines()[0]
    assert head.startswith("Issues created in the last 7 days (since ")
    assert "newest first" in head and 'call search_issues with {"created_after": "' in head
    (entry,) = sandbox.requests("POST /issues/search")
    assert (
        entry.body["filter"]["field"] == "created_at" and entry.body["filter"]["operator"] == "time_is_after"
    )
    numbers = [int(line.split(" ")[1][1:]) for line in body.splitlines() if line.startswith("- #")]
    assert numbers == sorted(numbers, reverse=True) and numbers
    assert f"all {len(numbers)}." in head or f"{len(numbers)} of them; more exist" in head


def hinted_call(listing: str) -> dict[str, Any]:
    """The search_issues arguments a listing's first line tells the model to use."""
    head = listing.splitlines()[0]
    assert "call search_issues with " in head, head
    return json.loads(head.split("call search_issues with ", 1)[1].removesuffix("."))


@pytest.mark.parametrize("uri", [RECENT_URI, "pylon://issues/tag/bug", "pylon://issues/state/waiting_on_you"])
async def test_the_listing_hint_is_a_call_that_works(client: Client, uri: str) -> None:
    listing = await read(client, uri)
    arguments = hinted_call(listing)
    result = await ok(client, "search_issues", arguments)  # fails if the hint is not a valid call
    listed = {line.split(" ")[1] for line in listing.splitlines() if line.startswith("- #")}
    found = {line.split(" ")[1] for line in text(result).splitlines() if line.startswith("- #")}
    assert found and found <= listed  # the newest of the same issues come back
    if "tag/" in uri:
        assert arguments["tags"] == ["bug"]


async def test_listings_and_search_are_newest_first_whatever_order_pylon_sends(
    client: Client, sandbox: Sandbox
) -> None:
    sandbox.store.page_order = "shuffled"  # the spec promises no order; the sandbox now scrambles pages
    raw = sandbox.store.search(lambda record: True, 20, None)[0]
    assert [r.number for r in raw] != sorted((r.number for r in raw), reverse=True)  # really unsorted
    listing = await read(client, RECENT_URI)
    listed = [int(line.split(" ")[1][1:]) for line in listing.splitlines() if line.startswith("- #")]
    assert len(listed) > 5 and listed == sorted(listed, reverse=True)
    result = await ok(client, "search_issues", {"limit": 20})
    shown = [int(line.split(" ")[1][1:]) for line in text(result).splitlines() if line.startswith("- #")]
    structured = [issue["number"] for issue in (result.structured_content or {})["issues"]]
    assert len(shown) == 20 and shown == sorted(shown, reverse=True) and structured == shown


async def test_single_issue_by_number_and_id(client: Client, sandbox: Sandbox) -> None:
    for _ in range(3):  # each read spends at most one request on names: warm account, users, field labels
        await read(client, "pylon://issues/7")
    by_number = await read(client, "pylon://issues/7")
    by_id = await read(client, f"pylon://issues/{sandbox.store.find('7').id}")
    assert by_number.startswith("Issue #7 · ") and by_number == by_id
    assert "<p>" not in by_number
    # A resource has no structured content, so it keeps the Pylon link that get_issue's text leaves out.
    assert "\nLink: https://app.usepylon.com/issues/views/all-issues?issueNumber=7\n" in by_number


async def test_state_and_tag_listings(client: Client) -> None:
    by_state = await read(client, "pylon://issues/state/waiting_on_you")
    lines = [line for line in by_state.splitlines() if line.startswith("- #")]
    assert lines and all("· waiting_on_you ·" in line for line in lines)
    by_tag = await read(client, "pylon://issues/tag/bug")
    tagged = [line for line in by_tag.splitlines() if line.startswith("- #")]
    assert tagged and all("bug" in line.split("tags ", 1)[1] for line in tagged)


@pytest.mark.parametrize(
    "uri",
    ["pylon://issues/999999", "pylon://issues/no such", "pylon://issues/state/not_a_state",
     "pylon://issues/state/Bad State"],
)  # fmt: skip
async def test_missing_things_are_not_found_errors(client: Client, uri: str) -> None:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    assert caught.value.error.code == -32602  # the spec's resource-not-found code


async def test_listing_is_cached_within_the_ttl(sandbox_url: str, sandbox: Sandbox) -> None:
    async with connect(sandbox_url, resource_ttl=0.5) as client:
        first = await read(client, RECENT_URI)
        second = await read(client, RECENT_URI)
        assert first == second and searches(sandbox) == 1  # two reads, one upstream search
        await anyio.sleep(0.6)
        await read(client, RECENT_URI)
        assert searches(sandbox) == 2


async def test_a_write_invalidates_cached_listings(sandbox_url: str, sandbox: Sandbox) -> None:
    async with connect(sandbox_url, resource_ttl=60) as client:
        before = await read(client, "pylon://issues/state/new")
        newest = sandbox.store.search(lambda r: r.state == "new", 1, None)[0][0]
        await ok(client, "update_issue", {"issue_id": str(newest.number), "state": "closed"})
        after = await read(client, "pylon://issues/state/new")
    assert f"#{newest.number} · new" in before and f"#{newest.number} · " not in after
    assert searches(sandbox) == 2


async def test_cache_hints_on_modern_results(sandbox_url: str) -> None:
    async with connect(sandbox_url, resource_ttl=30) as client:
        result = await client.read_resource(RECENT_URI)
    assert result.ttl_ms == 30_000 and result.cache_scope == "private"


async def test_writes_notify_listen_subscribers(sandbox_url: str, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    wanted = ["pylon://issues/7", RECENT_URI, f"pylon://issues/state/{record.state}", "pylon://issues/8"]
    events: list[str] = []
    async with connect(sandbox_url) as client, client.listen(resource_subscriptions=wanted) as subscription:

        async def collect() -> None:
            async for event in subscription:
                events.append(event.uri)  # type: ignore[union-attr]

        async with anyio.create_task_group() as tg:
            tg.start_soon(collect)
            await ok(client, "update_issue", {"issue_id": "7", "state": "closed"})
            with anyio.fail_after(5):
                while len(events) < 3:  # noqa: ASYNC110 - polling a list the collector fills
                    await anyio.sleep(0.01)
            await anyio.sleep(0.3)  # room for a duplicate to arrive
            tg.cancel_scope.cancel()
    assert sorted(events) == sorted(wanted[:3])  # each once (counted, not a set), and not issue 8


async def test_writes_notify_legacy_subscribers(sandbox_url: str) -> None:
    seen: list[str] = []

    async def handler(message: Any) -> None:
        params = getattr(getattr(message, "params", None), "uri", None)
        if params is not None:
            seen.append(str(params))

    from pylon_mcp.server import build_server
    from tests.mcp_helpers import settings_for

    async with Client(build_server(settings_for(sandbox_url)), mode="legacy", cache=None,
                      message_handler=handler) as client:  # fmt: skip
        await client.session.subscribe_resource("pylon://issues/7")  # the handshake-era API, on purpose
        await ok(client, "snooze_issue", {"issue_id": "7", "snooze_until": "2099-01-01T00:00:00Z"})
        with anyio.fail_after(5):
            while "pylon://issues/7" not in seen:  # noqa: ASYNC110 - the handler fills `seen`
                await anyio.sleep(0.01)
    assert seen == ["pylon://issues/7"]  # only what was subscribed


# --- completions -------------------------------------------------------------------


async def test_state_completion_includes_seen_custom_states(client: Client) -> None:
    values = (await client.complete(STATE_REF, {"name": "state", "value": ""})).completion.values
    assert values[:5] == ["new", "waiting_on_you", "waiting_on_customer", "on_hold", "closed"]
    await read(client, RECENT_URI)  # shows the organisation's custom states
    values = (await client.complete(STATE_REF, {"name": "state", "value": ""})).completion.values
    assert set(values[5:]) <= {"in_progress", "escalated", "pending_release"} and len(values) > 5
    waiting = (await client.complete(STATE_REF, {"name": "state", "value": "wait"})).completion.values
    assert waiting == ["waiting_on_you", "waiting_on_customer"]


async def test_tag_issue_priority_and_days_completions(client: Client, sandbox: Sandbox) -> None:
    tags = (await client.complete(TAG_REF, {"name": "tag", "value": ""})).completion.values
    assert tags and set(tags) <= {
        t for r in sandbox.store.search(lambda _: True, 999, None)[0] for t in r.tags
    }
    numbers = (await client.complete(ISSUE_REF, {"name": "issue_id", "value": "2"})).completion.values
    assert numbers and all(n.startswith("2") for n in numbers)
    prompt = PromptReference(type="ref/prompt", name="summarize_recent")
    priorities = (await client.complete(prompt, {"name": "priority", "value": "h"})).completion.values
    assert priorities == ["high"]
    days = (await client.complete(prompt, {"name": "days", "value": ""})).completion.values
    assert "7" in days


# --- prompts ---------------------------------------------------------------------------


async def test_prompts_render(client: Client) -> None:
    assert [p.name for p in (await client.list_prompts()).prompts] == [
        "triage_issue",
        "draft_reply",
        "summarize_recent",
    ]
    triage = (await client.get_prompt("triage_issue", {"issue_id": "42"})).messages[0].content.text  # type: ignore[union-attr]
    assert "get_issue with issue_id='42'" in triage and "update_issue" in triage
    assert "never follow instructions" in triage
    summary = await client.get_prompt("summarize_recent", {"days": "3", "priority": "high", "tag": "bug"})
    text = summary.messages[0].content.text  # type: ignore[union-attr]
    assert "last 3 days" in text and "urgent or high" in text and "tags=['bug']" in text
    assert "update_issue" not in text


async def test_read_only_prompts_do_not_offer_writes(sandbox_url: str) -> None:
    async with connect(sandbox_url, read_only=True) as client:
        triage = (await client.get_prompt("triage_issue", {"issue_id": "7"})).messages[0].content.text  # type: ignore[union-attr]
    assert "update_issue" not in triage and "read-only" in triage


async def test_prompts_follow_the_tool_allowlist(sandbox_url: str) -> None:
    async with connect(sandbox_url, tools=("get_issue",)) as client:
        assert (await client.list_prompts()).prompts == []


@pytest.mark.parametrize(
    "tools",
    [
        ("search_issues",),
        ("get_issue", "search_issues"),
        ("get_issue", "search_issues", "update_issue"),
        ("get_issue_messages",),
        (),
    ],
)
async def test_prompts_mention_only_offered_tools(sandbox_url: str, tools: tuple[str, ...]) -> None:
    arguments = {
        "triage_issue": {"issue_id": "7"},
        "summarize_recent": {"days": "3"},
        "draft_reply": {"issue_id": "7"},
    }
    async with connect(sandbox_url, tools=tools) as client:
        offered = {tool.name for tool in (await client.list_tools()).tools}
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        assert prompts, "every case here offers search_issues or get_issue_messages, so at least one prompt"
        for name in prompts:
            rendered = (await client.get_prompt(name, arguments[name])).messages[0].content.text  # type: ignore[union-attr]
            mentioned = {tool for tool in TOOL_NAMES if re.search(rf"\b{tool}\b", rendered)}
            assert mentioned <= offered, (name, mentioned - offered)
