"""search_knowledge and get_article through a real MCP session, against the sandbox over loopback.

Each test builds the index in memory from the sandbox (a few requests, well under a
second) and waits for the sync by its cycle count, never by sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.knowledge_seed import DRAFT_WORD
from pylon_mcp.server import PylonMCPServer, build_server
from tests.mcp_helpers import fails, ok, settings_for, text

pytestmark = pytest.mark.anyio

KNOWLEDGE_ENDPOINTS = (
    "GET /knowledge-bases",
    "GET /knowledge-bases/{id}/collections",
    "GET /knowledge-bases/{id}/articles",
    "GET /knowledge-bases/{id}/articles/{article_id}",
    "GET /macros",
    "GET /macro-groups",
    "POST /feature-requests/search",
    "POST /issues/search",
)


@asynccontextmanager
async def session(url: str, **changes: Any) -> AsyncIterator[tuple[Client, PylonMCPServer]]:
    server = build_server(
        settings_for(url, knowledge_index=changes.pop("knowledge_index", "memory"), **changes)
    )
    async with Client(server, cache=None) as client:
        yield client, server


def knowledge(server: PylonMCPServer) -> Any:
    state = server.holder.current
    assert state is not None
    return state.knowledge


async def built(client: Client, server: PylonMCPServer) -> None:
    """The first tool call starts the build; wait for it to finish."""
    await ok(client, "search_knowledge", {"query": "warm up"})
    await knowledge(server).synced(1)


def article_id(sandbox: Sandbox, title: str) -> str:
    book = sandbox.store.knowledge
    return next(a.id for articles in book.articles.values() for a in articles if a.title == title)


async def search(client: Client, **arguments: Any) -> tuple[str, list[dict[str, Any]]]:
    result = await ok(client, "search_knowledge", arguments)
    assert result.structured_content is not None
    return text(result), result.structured_content["hits"]


async def test_a_question_written_from_an_issue_finds_its_article_first(sandbox_url: str) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        _, hits = await search(
            client, query="our invoice charges seats for users we removed", kinds=["article"]
        )
        assert hits[0]["title"] == "Why your invoice shows more seats than you have"
        _, hits = await search(client, query="our webhooks show up twenty minutes late", kinds="article")
        assert hits[0]["title"] == "Webhooks: delivery, retries and delays"
        for hit in hits:
            assert {"kind", "id", "title", "score"} <= set(hit)
            assert hit["url"].startswith("https://help.sandbox-org.example/")
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


async def test_hits_are_one_line_each_with_what_to_cite(sandbox_url: str) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        body, hits = await search(
            client, query="sso login loops back to the start", kinds=["article", "issue"], limit=6
        )
        lines = [line for line in body.splitlines() if line[:2].rstrip(".").isdigit()]
        assert len(lines) == len(hits) == 6
        kinds = {hit["kind"] for hit in hits}
        assert kinds == {"article", "issue"}
        for line, hit in zip(lines, hits, strict=True):
            if hit["kind"] == "article":
                assert hit["url"] in line and hit["id"] in line
            else:
                assert f"#{hit['number']}" in line and hit["url"] in line
        assert "Index: " in body and "updated" in body


async def test_drafts_never_show_and_only_published_words_are_searchable(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        _, hits = await search(client, query="quantum ledger pricing holographic sync", limit=20)
        assert not [h for h in hits if "(draft)" in h["title"]]
        _, hits = await search(client, query=DRAFT_WORD)
        assert hits == []
        draft = article_id(sandbox, "Quantum ledger pricing (draft)")
        assert "not published" in await fails(client, "get_article", {"article_id": draft})


async def test_hidden_text_and_scripts_never_reach_the_index_or_the_model(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        for words in ("canary", "steal", "evil"):
            _, hits = await search(client, query=words, limit=20)
            assert hits == [], words
        for title in ("Browser requirements", "Accessibility statement"):
            body = text(await ok(client, "get_article", {"article_id": article_id(sandbox, title)}))
            assert "canary" not in body and "evil.example" not in body and "display" not in body
        body = text(
            await ok(client, "get_article", {"article_id": article_id(sandbox, "Working hours and holidays")})
        )
        assert "javascript:" not in body
        assert "~~~article" in body  # the instruction-like text is inside the fence, as data


async def test_unlisted_articles_are_indexed_and_marked(sandbox_url: str) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        body, hits = await search(client, query="nonprofit discount", kinds=["article"])
        assert hits[0]["title"] == "Enterprise discount for nonprofits" and hits[0]["unlisted"] is True
        assert "unlisted" in body.splitlines()[1]


async def test_macros_carry_their_text_and_type_and_long_ones_are_cut(sandbox_url: str) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        body, hits = await search(client, query="reauthorize the slack app token", kinds=["macro"], limit=1)
        assert hits[0]["text_type"] == "reply"
        assert "(reply)" in body and "~~~macro text" in body and "reauthorize Slack under Settings" in body
        body, hits = await search(client, query="full troubleshooting checklist", kinds=["macro"], limit=1)
        assert hits[0]["title"] == "Full troubleshooting checklist"
        assert "[macro text cut at 1,500 of" in body
        fenced = body.split("~~~macro text\n", 1)[1].split("\n~~~", 1)[0]
        assert len(fenced) == 1500
        _, hits = await search(client, query="refund approved", kinds=["macro"], limit=1)
        assert hits[0]["text_type"] == "note"
        _, hits = await search(client, query="cancellation confirmation", kinds=["macro"], limit=1)
        assert hits[0]["text_type"] == "email"


async def test_feature_requests_come_from_pylons_search_once_per_call_and_join_the_ranking(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        sandbox.clear_log()
        body, hits = await search(client, query="bulk archive many items in the dashboard", limit=6)
        assert len(sandbox.requests("POST /feature-requests/search")) == 1
        requests = [h for h in hits if h["kind"] == "feature_request"]
        assert requests and requests[0]["status"] == "in_progress" and requests[0]["evidence_count"] == 42
        assert "status in_progress · 42 evidence" in body
        assert {h["kind"] for h in hits} > {"feature_request"}  # merged with the indexed kinds
        sandbox.clear_log()
        await search(client, query="bulk archive", kinds=["article", "macro"])
        assert sandbox.requests("POST /feature-requests/search") == []


async def test_a_refresh_picks_up_a_newly_published_article(sandbox_url: str, sandbox: Sandbox) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        _, hits = await search(client, query="carbon offset", kinds=["article"])
        assert hits == []
        sandbox.store.knowledge.publish(
            "help",
            "Download your carbon offset certificate",
            "<p>Owners find the certificate under Billing.</p>",
        )
        sandbox.clear_log()
        knowledge(server).wake()
        await knowledge(server).synced(2)
        _, hits = await search(client, query="carbon offset", kinds=["article"])
        assert hits[0]["title"] == "Download your carbon offset certificate"
        # A refresh asks only for issues changed since the last sync, and reads each list once.
        assert len(sandbox.requests("POST /issues/search")) == 1
        assert sandbox.requests("POST /issues/search")[0].body["filter"]["field"] == "updated_at"


async def test_a_search_before_the_build_finishes_says_how_far_it_has_got(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    sandbox.add_fault(
        endpoint="GET /macro-groups", kind="latency", latency=2.5, times=1
    )  # past the first wait
    async with session(sandbox_url) as (client, server):
        body = text(await ok(client, "search_knowledge", {"query": "invoice seats"}))
        assert "Index: still being built" in body
        await knowledge(server).synced(1)
        body = text(await ok(client, "search_knowledge", {"query": "invoice seats"}))
        assert "still being built" not in body and "updated" in body


async def test_pylon_down_during_a_refresh_keeps_answering_and_says_how_old(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        sandbox.add_fault(endpoint="GET /knowledge-bases", status=503, times=None)
        knowledge(server).wake()
        await knowledge(server).synced(2)
        body, hits = await search(client, query="invoice shows more seats", kinds=["article"])
        assert hits[0]["title"] == "Why your invoice shows more seats than you have"
        assert "the last refresh failed" in body and "503" in body and "request_id" in body
        assert "updated" in body


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "   \t"}, "query"),
        ({"query": "x", "kinds": ["articles"]}, "kinds"),
        ({"query": "x", "kinds": ["article", "faq"]}, "kinds"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "limit": 21}, "limit"),
        ({"query": "x", "limit": True}, "limit"),
    ],
)
async def test_bad_arguments_are_refused_naming_the_field_without_a_request(
    sandbox_url: str, sandbox: Sandbox, arguments: dict[str, Any], field: str
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        sandbox.clear_log()
        message = await fails(client, "search_knowledge", arguments)
        assert field in message
        if field == "kinds":
            assert "feature_request" in message  # the allowed values
        assert sandbox.requests() == []


@pytest.mark.parametrize(
    "query",
    ['"', 'sso "login', "export*", "NEAR(csv export)", "-invoice", "title:invoice", "((slack", 'a OR "b',
     "AND", "NOT seats", "^csv", "{title body}: x", "café crème", "日本語 テスト", "\u200b\u202e"],
)  # fmt: skip
async def test_fts_syntax_in_peoples_words_never_raises(sandbox_url: str, query: str) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        await ok(client, "search_knowledge", {"query": query})


async def test_get_article_reads_on_with_body_offset(sandbox_url: str, sandbox: Sandbox) -> None:
    long_html = "".join(
        f"<p>Paragraph {n}: the quick brown fox jumps over the lazy dog.</p>" for n in range(200)
    )
    record = sandbox.store.knowledge.publish("developers", "A very long guide", long_html)
    async with session(sandbox_url, body_chars=1000) as (client, _):
        first = await ok(client, "get_article", {"article_id": record.id})
        out = first.structured_content
        assert out is not None and out["knowledge_base"] == "Developer Docs"
        assert out["url"] == record.url and out["last_published_at"]
        following = out["body"]["next_offset"]
        assert following and f"body_offset={following}" in text(first)
        second = await ok(client, "get_article", {"article_id": record.id, "body_offset": following})
        assert second.structured_content["body"]["offset"] == following  # type: ignore[index]


async def test_get_article_names_its_collection_and_refuses_unknown_ids(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, _):
        result = await ok(
            client, "get_article", {"article_id": article_id(sandbox, "Set up Okta single sign-on")}
        )
        assert result.structured_content["collection"] == "Login & SSO"  # type: ignore[index]
        assert "Help Center / Login & SSO" in text(result)
        assert "No article" in await fails(
            client, "get_article", {"article_id": "6f1c2a9e-0000-4000-8000-000000000000"}
        )
        assert "article_id" in await fails(client, "get_article", {"article_id": "../issues"})


async def test_the_article_resource_template(sandbox_url: str, sandbox: Sandbox) -> None:
    async with session(sandbox_url) as (client, _):
        templates = (await client.list_resource_templates()).resource_templates
        assert "pylon://articles/{article_id}" in {t.uri_template for t in templates}
        ident = article_id(sandbox, "Cancel or downgrade your subscription")
        read = await client.read_resource(f"pylon://articles/{ident}")
        assert "end of the billing period" in read.contents[0].text  # type: ignore[union-attr]


async def test_start_up_and_other_tools_make_no_knowledge_calls(sandbox_url: str, sandbox: Sandbox) -> None:
    async with session(sandbox_url, knowledge_index="file") as (client, server):
        await client.list_tools()
        await client.list_prompts()
        await ok(client, "get_issue", {"issue_id": "1"})
        assert [
            r for r in sandbox.requests() if r.endpoint in KNOWLEDGE_ENDPOINTS
        ] == []  # only get_issue and names
        await ok(client, "search_knowledge", {"query": "invoice"})  # the first knowledge call starts it
        await knowledge(server).synced(1)
        assert sandbox.requests("GET /knowledge-bases")


async def test_index_off_refuses_the_tools_with_the_reason(sandbox_url: str, sandbox: Sandbox) -> None:
    async with session(sandbox_url, knowledge_index="off") as (client, _):
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert not {"search_knowledge", "get_article"} & names
        assert "PYLON_KNOWLEDGE_INDEX=off" in await fails(client, "search_knowledge", {"query": "invoice"})
        await ok(client, "search_issues", {"limit": 1})
        assert [r for r in sandbox.requests() if r.endpoint in KNOWLEDGE_ENDPOINTS[:-1]] == []


async def test_prompts_search_knowledge_first_and_cite(sandbox_url: str) -> None:
    async with session(sandbox_url) as (client, _):
        draft = await client.get_prompt("draft_reply", {"issue_id": "42"})
        words = draft.messages[0].content.text  # type: ignore[union-attr]
        assert "search_knowledge" in words and "cite" in words and "URL" in words
        assert words.index("search_knowledge") < words.index("Write a short")
        triage = await client.get_prompt("triage_issue", {"issue_id": "42"})
        words = triage.messages[0].content.text  # type: ignore[union-attr]
        assert "kinds=['issue'], limit=3" in words and "three similar resolved issues" in words
    async with session(sandbox_url, knowledge_index="off") as (client, _):
        draft = await client.get_prompt("draft_reply", {"issue_id": "42"})
        assert "search_knowledge" not in draft.messages[0].content.text  # type: ignore[union-attr]


async def test_a_refresh_rewrites_a_changed_article_and_drops_an_unpublished_one(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        book = sandbox.store.knowledge
        changed = next(
            a for articles in book.articles.values() for a in articles if a.title == "Keyboard shortcuts"
        )
        gone = next(
            a for articles in book.articles.values() for a in articles if a.title == "Connect HubSpot"
        )
        with book.lock:
            changed.published_html = "<p>Press the quasar key to open the command palette.</p>"
            gone.is_published, gone.published_html = False, ""
        knowledge(server).wake()
        await knowledge(server).synced(2)
        _, hits = await search(client, query="quasar command palette", kinds=["article"])
        assert hits[0]["id"] == changed.id
        _, hits = await search(client, query="anywhere", kinds=["article"], limit=20)
        assert changed.id not in {h["id"] for h in hits}  # the old words are gone
        _, hits = await search(client, query="hubspot deal stage", kinds=["article"], limit=20)
        assert gone.id not in {h["id"] for h in hits}


async def test_feature_request_search_failing_leaves_them_out_and_says_why(
    sandbox_url: str, sandbox: Sandbox
) -> None:
    async with session(sandbox_url) as (client, server):
        await built(client, server)
        sandbox.add_fault(endpoint="POST /feature-requests/search", status=500, times=None)
        body, hits = await search(client, query="bulk archive in the dashboard")
        assert hits and all(h["kind"] != "feature_request" for h in hits)
        assert "Feature requests left out" in body and "HTTP 500" in body
