"""PylonClient against the sandbox over loopback HTTP: every endpoint and the local checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pylon_mcp import __version__
from pylon_mcp.pylon.client import PylonClient, issue_ref, resolve_base_url
from pylon_mcp.pylon.errors import (
    EU_BASE_URL,
    US_BASE_URL,
    InvalidRequest,
    PylonAuthError,
    PylonBadRequest,
    PylonNotFound,
)
from pylon_mcp.pylon.models import CreateIssueRequest, Filter, FollowersRequest, Issue, UpdateIssueRequest
from pylon_mcp.pylon.timefmt import format_rfc3339, parse_rfc3339, utcnow
from pylon_mcp.render.issues import summarize
from pylon_mcp.sandbox import Sandbox
from tests.conftest import TOKEN

pytestmark = pytest.mark.anyio


def first_contact(sandbox: Sandbox) -> str:
    return next(iter(sandbox.store.directory.contacts))


def first_user(sandbox: Sandbox) -> str:
    return next(iter(sandbox.store.directory.users))


async def test_get_issue_by_number_and_by_id(pylon: PylonClient, sandbox: Sandbox) -> None:
    by_number = await pylon.get_issue(1)
    assert by_number.number == 1
    assert by_number.body_html and by_number.body_html.startswith("<")
    by_id = await pylon.get_issue(by_number.id or "")
    assert by_id.id == by_number.id
    assert by_id.title == by_number.title
    assert (await pylon.get_issue("#1")).id == by_number.id


async def test_every_issue_field_in_the_response_parses(pylon: PylonClient) -> None:
    issue = await pylon.get_issue(7)
    assert issue.link and "issueNumber=7" in issue.link
    assert issue.created_at and parse_rfc3339(issue.created_at)
    assert issue.priority in ("urgent", "high", "medium", "low")
    assert issue.model_extra == {}  # the sandbox sends only spec fields


async def test_not_found_carries_status_and_request_id(pylon: PylonClient) -> None:
    with pytest.raises(PylonNotFound) as caught:
        await pylon.get_issue(999_999)
    assert caught.value.status == 404
    assert caught.value.request_id and caught.value.request_id.startswith("req_")
    assert "404" in str(caught.value) and caught.value.request_id in str(caught.value)


@pytest.mark.parametrize("bad", ["../me", "a b", "1/followers", "", "x" * 200, "issue?x=1", "é"])
async def test_unsafe_issue_refs_are_refused_without_a_request(
    pylon: PylonClient, sandbox: Sandbox, bad: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await pylon.get_issue(bad)
    assert caught.value.field == "issue_id"
    assert sandbox.requests() == []


def test_issue_ref_accepts_ids_numbers_and_hash_numbers() -> None:
    assert issue_ref(42) == "42"
    assert issue_ref("#42") == "42"
    assert issue_ref(" 3f2a-b_c ") == "3f2a-b_c"


async def test_create_sends_only_given_fields(pylon: PylonClient, sandbox: Sandbox) -> None:
    contact = first_contact(sandbox)
    issue = await pylon.create_issue(
        CreateIssueRequest(
            title="Printer on fire", body_html="<p>help</p>", requester_id=contact, priority="high"
        )
    )
    assert issue.number == 301
    assert issue.state == "new"
    assert issue.priority == "high"
    (logged,) = sandbox.requests("POST /issues")
    assert logged.body == {
        "title": "Printer on fire",
        "body_html": "<p>help</p>",
        "requester_id": contact,
        "priority": "high",
    }
    assert logged.user_agent == f"pylon-mcp/{__version__}"


async def test_create_without_account_or_requester_is_a_bad_request(pylon: PylonClient) -> None:
    with pytest.raises(PylonBadRequest) as caught:
        await pylon.create_issue(CreateIssueRequest(title="t", body_html="<p>b</p>"))
    assert caught.value.status == 400
    assert "requester" in str(caught.value)
    assert not caught.value.write_may_have_applied


def test_request_models_refuse_unknown_fields() -> None:
    # Pylon silently ignores unknown fields; we refuse them before they are lost.
    with pytest.raises(ValueError, match="priority"):
        UpdateIssueRequest(priority="high")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="titel"):
        CreateIssueRequest(title="t", body_html="b", titel="typo")  # type: ignore[call-arg]


async def test_update_sends_only_given_fields_and_replaces_tags(pylon: PylonClient, sandbox: Sandbox) -> None:
    issue = await pylon.get_issue(7)
    updated = await pylon.update_issue(issue.id or "", UpdateIssueRequest(state="closed", tags=["only-this"]))
    assert updated.state == "closed"
    assert updated.tags == ["only-this"]
    (logged,) = sandbox.requests("PATCH /issues/{id}")
    assert logged.body == {"state": "closed", "tags": ["only-this"]}


async def test_empty_string_unassigns(pylon: PylonClient, sandbox: Sandbox) -> None:
    issue = await pylon.get_issue(7)
    user = first_user(sandbox)
    assigned = await pylon.update_issue(issue.id or "", UpdateIssueRequest(assignee_id=user))
    assert assigned.assignee and assigned.assignee.id == user
    unassigned = await pylon.update_issue(issue.id or "", UpdateIssueRequest(assignee_id="", team_id=""))
    assert unassigned.assignee is None
    assert unassigned.team is None
    assert sandbox.requests("PATCH /issues/{id}")[-1].body == {"assignee_id": "", "team_id": ""}


async def test_update_with_nothing_is_refused_locally(pylon: PylonClient, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest):
        await pylon.update_issue("abc", UpdateIssueRequest())
    assert sandbox.requests() == []


async def test_update_needs_the_id_not_the_number(pylon: PylonClient) -> None:
    # The spec documents PATCH/DELETE's path parameter as the issue ID only.
    with pytest.raises(PylonNotFound):
        await pylon.update_issue(7, UpdateIssueRequest(state="closed"))


async def test_delete_then_get_is_not_found(pylon: PylonClient) -> None:
    issue = await pylon.get_issue(9)
    request_id = await pylon.delete_issue(issue.id or "")
    assert request_id and request_id.startswith("req_")
    with pytest.raises(PylonNotFound):
        await pylon.get_issue(issue.id or "")
    with pytest.raises(PylonNotFound):
        await pylon.get_issue(9)


async def test_snooze_sets_on_hold_and_time(pylon: PylonClient) -> None:
    until = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    issue = await pylon.snooze_issue(7, until)
    assert issue.state == "on_hold"
    assert issue.snoozed_until_time == format_rfc3339(until)


async def test_snooze_in_the_past_is_refused_by_pylon(pylon: PylonClient) -> None:
    with pytest.raises(PylonBadRequest, match="future"):
        await pylon.snooze_issue(7, utcnow() - timedelta(hours=1))


async def test_followers_add_list_remove(pylon: PylonClient, sandbox: Sandbox) -> None:
    user = first_user(sandbox)
    contact = first_contact(sandbox)
    before = await pylon.get_followers(7)
    added = await pylon.update_followers(7, FollowersRequest(user_ids=[user], contact_ids=[contact]))
    assert {("user", user), ("contact", contact)} <= {(f.type, f.id) for f in added}
    assert {(f.type, f.id) for f in await pylon.get_followers(7)} == {(f.type, f.id) for f in added}
    removed = await pylon.update_followers(7, FollowersRequest(user_ids=[user], operation="remove"))
    assert ("user", user) not in {(f.type, f.id) for f in removed}
    assert len(removed) <= len(before) + 1


async def test_followers_need_someone(pylon: PylonClient, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest):
        await pylon.update_followers(7, FollowersRequest(operation="add"))
    assert sandbox.requests() == []


async def test_me_names_the_org(pylon: PylonClient) -> None:
    me = await pylon.me()
    assert me.name and "Sandbox" in me.name
    assert me.id


async def test_search_pages_follow_cursors_without_overlap(pylon: PylonClient) -> None:
    state_filter = {"field": "state", "operator": "in", "values": ["new", "closed"]}
    numbers: list[int] = []
    pages = 0
    async for page in pylon.iter_search_pages(state_filter, limit=25):
        pages += 1
        numbers += [issue.number or 0 for issue in page.issues]
    assert pages > 2
    assert len(numbers) == len(set(numbers))
    assert numbers == sorted(numbers, reverse=True)  # newest first
    everything = await pylon.search_issues(state_filter, limit=999)
    assert numbers == [issue.number for issue in everything.issues]
    assert not everything.has_next_page


async def test_search_page_cap_leaves_a_cursor(pylon: PylonClient) -> None:
    pages = [
        page
        async for page in pylon.iter_search_pages(
            {"field": "title", "operator": "string_contains", "value": "a"}, limit=10, max_pages=2
        )
    ]
    assert len(pages) == 2
    assert pages[-1].has_next_page and pages[-1].cursor


async def test_bad_operator_is_refused_before_sending(pylon: PylonClient, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await pylon.search_issues({"field": "created_at", "operator": "gte", "value": "2026-01-01T00:00:00Z"})
    assert "gte" in str(caught.value)
    assert sandbox.requests() == []


def test_filter_model_round_trips_nested_trees() -> None:
    tree = Filter(operator="and", subfilters=[Filter(field="state", operator="equals", value="new")])
    assert tree.to_body() == {
        "operator": "and",
        "subfilters": [{"field": "state", "operator": "equals", "value": "new"}],
    }


def test_base_url_follows_token_region_unless_overridden() -> None:
    assert resolve_base_url("pylon_api_eu_abc", None) == EU_BASE_URL
    assert resolve_base_url("pylon_api_abc", None) == US_BASE_URL
    assert resolve_base_url("pylon_api_eu_abc", "http://127.0.0.1:9/") == "http://127.0.0.1:9"


async def test_wrong_region_names_the_right_base_url(sandbox_url: str) -> None:
    async with PylonClient("pylon_api_eu_secret_xyz", base_url=sandbox_url) as client:
        with pytest.raises(PylonAuthError) as caught:
            await client.get_issue(1)
    assert caught.value.wrong_region
    assert caught.value.correct_base_url == EU_BASE_URL
    assert EU_BASE_URL in str(caught.value) and "PYLON_API_URL" in str(caught.value)
    assert "pylon_api_eu_secret_xyz" not in str(caught.value)


async def test_bad_token_is_an_auth_error(sandbox_url: str) -> None:
    async with PylonClient("pylon_api_not_the_token", base_url=sandbox_url) as client:
        with pytest.raises(PylonAuthError) as caught:
            await client.me()
    assert caught.value.status == 401 and not caught.value.wrong_region


def test_client_repr_hides_the_token() -> None:
    client = PylonClient(TOKEN, base_url="http://127.0.0.1:1")
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(client._http.auth)
    assert "authorization" not in {k.lower() for k in client._http.headers}


def test_priority_prefers_a_top_level_field_and_falls_back_to_the_custom_field() -> None:
    # Spec: priority is a create field, absent from Issue. If Pylon sends it top-level, that wins;
    # the custom field (where the sandbox keeps it) is the assumed fallback (issue 14, item 14).
    both = {"priority": "urgent", "custom_fields": {"priority": {"slug": "priority", "value": "low"}}}
    assert Issue.model_validate(both).priority == "urgent"
    assert Issue.model_validate({"priority": "high"}).priority == "high"
    assert Issue.model_validate({"custom_fields": {"priority": {"value": "low"}}}).priority == "low"
    assert (
        Issue.model_validate({"priority": "", "custom_fields": {"priority": {"value": "low"}}}).priority
        == "low"
    )
    assert Issue.model_validate({}).priority is None
    assert summarize(Issue.model_validate({"number": 1, **both})).priority == "urgent"
