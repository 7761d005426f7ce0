"""The conversation endpoints: models against the spec, the client's paging and retry rules,
and the sandbox's seeded conversations and write checks, over loopback HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from pylon_mcp.pylon import message_models as mm
from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.errors import PylonAPIError, PylonBadRequest, PylonRateLimited
from pylon_mcp.pylon.models import Filter
from pylon_mcp.sandbox import Fault, Sandbox
from pylon_mcp.sandbox.seed import HOSTILE_NUMBERS
from tests.conftest import TOKEN, RecordingSleep

pytestmark = pytest.mark.anyio

SPEC = json.loads((Path(__file__).parent / "spec" / "pylon-issues-openapi.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


# --- models against the spec ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "schema"),
    [
        (mm.Message, "Message"),
        (mm.MessageAuthor, "MessageAuthor"),
        (mm.EmailMessageInfo, "EmailMessageInfo"),
        (mm.IssueThread, "IssueThread"),
        (mm.CreatedMessage, "CreateIssueNoteResponseData"),
        (mm.CreatedMessage, "CreateIssueReplyResponseData"),
        (mm.CreateIssueNoteRequest, "CreateIssueNoteRequestBody"),
        (mm.CreateIssueReplyRequest, "CreateIssueReplyRequestBody"),
        (mm.CreateIssueReplyEmailInfo, "CreateIssueReplyEmailInfo"),
        (mm.CustomSourceInfo, "CustomSourceInfo"),
    ],
)
def test_model_fields_equal_the_spec(model: type[BaseModel], schema: str) -> None:
    assert set(model.model_fields) == set(SCHEMAS[schema]["properties"])
    if schema.endswith(("RequestBody", "Info")) and "Email" not in schema:
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert required == set(SCHEMAS[schema].get("required", [])), schema


def test_request_bodies_refuse_what_the_spec_forbids() -> None:
    with pytest.raises(ValueError, match="only one of user_id or contact_id"):
        mm.CreateIssueReplyRequest(body_html="x", message_id="m", user_id="u", contact_id="c")
    with pytest.raises(ValueError, match="thread_id or message_id"):
        mm.CreateIssueNoteRequest(body_html="x", thread_id="t", message_id="m")
    with pytest.raises(ValueError):
        mm.CreateIssueNoteRequest(body_html="x", thred_id="t")  # type: ignore[call-arg]  # misspelled: refused


def test_sandbox_limits_match_the_spec_descriptions() -> None:
    from pylon_mcp.sandbox.faults import SPEC_RATE_LIMITS

    for key in ("GET /issues/{id}/messages", "GET /issues/{id}/threads", "POST /issues/{id}/note",
                "POST /issues/{id}/reply"):  # fmt: skip
        method, path = key.split(" ")
        limit = re.search(r"\*\*Rate limit:\*\* (\d+)", SPEC["paths"][path][method.lower()]["description"])
        assert limit and SPEC_RATE_LIMITS[key] == int(limit.group(1)), key


# --- seeded conversations ----------------------------------------------------------------------


def test_every_seeded_conversation_is_coherent(sandbox: Sandbox) -> None:
    store = sandbox.store
    directory = store.directory
    quoted = files = notes = emails = 0
    for record in store._order:
        conversation = store.conversations.of(record)
        messages = conversation.messages
        assert messages and messages[0].html == record.signed_body_html  # the first message is the body
        requester = directory.contacts[record.requester_id or ""]
        assert requester.account_id == record.account_id  # the coherent seed: a contact of the account
        first_name = requester.name.split()[0]
        thread_ids = {t.id for t in conversation.threads}
        assert [m.timestamp for m in messages] == sorted(m.timestamp for m in messages)
        for message in messages:
            if message.author_kind == "contact":
                assert message.author_id == record.requester_id  # the requester, nobody else
                if message is not messages[0] and record.number not in HOSTILE_NUMBERS:
                    assert (
                        f"Thanks,<br>{first_name}</p>" in message.html
                        or f"<p>{first_name}</p>" in message.html
                    )
                    if message.source == "email":  # the signature names the requester's own company
                        company = directory.accounts[record.account_id or ""].name
                        assert f"{requester.name}<br>{company}<br>{requester.email}" in message.html
            else:
                assert message.author_id in directory.users
            if message.is_private:
                notes += 1
                assert message.thread_id in thread_ids
            if record.source == "email" and not message.is_private:
                emails += 1
                assert message.email and message.email["from_email"]
                quoted += "wrote:</p><blockquote>" in message.html
            files += bool(message.file_urls)
    assert min(quoted, files, notes, emails) > 10


def test_the_first_body_is_signed_by_the_requester(sandbox: Sandbox) -> None:
    for record in sandbox.store._order[:50]:
        if record.number in HOSTILE_NUMBERS:
            continue
        name = sandbox.store.directory.contacts[record.requester_id or ""].name.split()[0]
        assert record.signed_body_html.endswith(f"<p>Thanks,<br>{name}</p>"), record.number


async def test_body_search_matches_the_sign_off_as_served(pylon: PylonClient, sandbox: Sandbox) -> None:
    record = next(r for r in sandbox.store._order if r.signer)
    needle = f"<p>Thanks,<br>{record.signer}</p>"  # only in the served body, not the pooled text
    assert needle not in record.body_html
    page = await pylon.search_issues(
        Filter(field="body_html", operator="string_contains", value=needle), limit=100
    )
    assert record.id in {issue.id for issue in page.issues}


def test_hostile_issues_get_hostile_messages(sandbox: Sandbox) -> None:
    last = sandbox.store.conversations.of(sandbox.store.find("13")).messages[-1]
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in last.html and last.author_kind == "contact"
    assert "<script>" in sandbox.store.conversations.of(sandbox.store.find("21")).messages[-1].html


def test_conversations_do_not_depend_on_reading_order() -> None:
    first, second = Sandbox(issues=60, seed=3), Sandbox(issues=60, seed=3)
    a = [m.id for m in first.store.conversations.of(first.store.find("40")).messages]
    second.store.conversations.of(second.store.find("7"))
    assert a == [m.id for m in second.store.conversations.of(second.store.find("40")).messages]


# --- the client against the sandbox ------------------------------------------------------------


async def test_messages_and_threads_round_trip(pylon: PylonClient, sandbox: Sandbox) -> None:
    record = sandbox.store.find("12")
    messages, more = await pylon.all_messages(record.id)
    assert not more and [m.id for m in messages] == [
        m.id for m in sandbox.store.conversations.of(record).messages
    ]
    customer = messages[0]
    assert customer.author and customer.author.contact and customer.author.contact.id == record.requester_id
    threads = await pylon.list_threads(record.id)
    assert {t.id for t in threads} == {m.thread_id for m in messages if m.is_private}


async def test_pages_follow_the_cursor(pylon: PylonClient, sandbox: Sandbox) -> None:
    sandbox.store.conversations.page_size = 3
    record = sandbox.store.find("12")
    messages, more = await pylon.all_messages(record.id)
    total = len(sandbox.store.conversations.of(record).messages)
    assert len(messages) == total and not more
    assert len(sandbox.requests("GET /issues/{id}/messages")) == -(-total // 3)
    assert "cursor" not in sandbox.requests("GET /issues/{id}/messages")[0].query  # a first page sends none
    capped, more = await pylon.all_messages(record.id, max_pages=1)
    assert len(capped) == 3 and more


async def test_message_endpoints_take_the_id_only(pylon: PylonClient) -> None:
    with pytest.raises(PylonAPIError, match="HTTP 404"):
        await pylon.list_messages("12")  # "The ID of the issue", not the number


async def test_sandbox_write_checks(pylon: PylonClient, sandbox: Sandbox, sandbox_url: str) -> None:
    record = sandbox.store.find("12")
    messages = sandbox.store.conversations.of(record).messages
    public = next(m for m in messages if not m.is_private)
    other_issue = sandbox.store.conversations.of(sandbox.store.find("14")).messages[0]
    user = next(iter(sandbox.store.directory.users))
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("note", {}, "body_html is required"),
        ("note", {"body_html": " "}, "must not be empty"),
        ("note", {"body_html": "x", "message_id": public.id}, "must be an internal note"),
        ("note", {"body_html": "x", "message_id": other_issue.id}, "not found on this issue"),
        ("note", {"body_html": "x", "thread_id": "nope"}, "thread nope not found"),
        ("reply", {"body_html": "x"}, "message_id is required"),
        ("reply", {"message_id": public.id}, "body_html is required"),
        ("reply", {"body_html": "x", "message_id": other_issue.id}, "not found on this issue"),
        (
            "reply",
            {"body_html": "x", "message_id": public.id, "user_id": user, "contact_id": "c"},
            "only one of",
        ),
        ("reply", {"body_html": "x", "message_id": public.id, "user_id": "ghost"}, "user ghost not found"),
    ]
    async with httpx2.AsyncClient(base_url=sandbox_url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for kind, body, error in cases:
            response = await http.post(f"/issues/{record.id}/{kind}", json=body)
            assert response.status_code == 400 and error in response.json()["errors"][0], (
                kind,
                body,
                response.text,
            )
    assert len(sandbox.store.conversations.of(record).messages) == len(messages)  # nothing added


async def test_rate_limits_from_the_spec(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    from pylon_mcp.sandbox.faults import SPEC_RATE_LIMITS

    sandbox.limiter.configure(SPEC_RATE_LIMITS)
    record = sandbox.store.find("12")
    for n in range(10):
        await pylon.create_note(record.id, mm.CreateIssueNoteRequest(body_html=f"<p>{n}</p>"))
    with pytest.raises(PylonRateLimited) as refused:
        await pylon.create_note(record.id, mm.CreateIssueNoteRequest(body_html="<p>11</p>"))
    assert refused.value.retry_after and refused.value.retry_after > 0
    assert len(sandbox.requests("POST /issues/{id}/note")) == 11  # a create is not repeated on a 429
    with pytest.raises(PylonBadRequest):  # the body check still runs before the limit bites elsewhere
        await pylon.create_reply(record.id, mm.CreateIssueReplyRequest(body_html="x", message_id="nope"))


@pytest.mark.parametrize("kind", ["note", "reply"])
async def test_creates_are_repeated_only_when_unsent(pylon: PylonClient, sandbox: Sandbox, kind: str) -> None:
    record = sandbox.store.find("12")
    target = sandbox.store.conversations.of(record).messages[0].id
    body: Any = (
        mm.CreateIssueNoteRequest(body_html="<p>n</p>")
        if kind == "note"
        else mm.CreateIssueReplyRequest(body_html="<p>r</p>", message_id=target)
    )
    create = pylon.create_note if kind == "note" else pylon.create_reply
    sandbox.add_fault(Fault(endpoint=f"POST /issues/{{id}}/{kind}", status=503, times=None))
    with pytest.raises(PylonAPIError) as failed:
        await create(record.id, body)
    assert failed.value.write_may_have_applied
    assert len(sandbox.requests(f"POST /issues/{{id}}/{kind}")) == 1
    sandbox.faults.clear()
    sandbox.clear_log()
    sandbox.add_fault(Fault(endpoint="GET /issues/{id}/messages", status=503, times=2))
    await pylon.list_messages(record.id)  # reads are repeated
    assert len(sandbox.requests("GET /issues/{id}/messages")) == 3
