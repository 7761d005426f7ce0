"""Retry rules, per idempotency, against injected sandbox faults."""

from __future__ import annotations

import logging
import socket

import pytest

from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.errors import (
    PylonBadRequest,
    PylonRateLimited,
    PylonResponseError,
    PylonServerError,
    PylonTimeout,
    PylonTransportError,
)
from pylon_mcp.pylon.models import CreateIssueRequest, FollowersRequest, UpdateIssueRequest
from pylon_mcp.pylon.retry import COOLDOWN_CAP_SECONDS, RetryPolicy, parse_retry_after
from pylon_mcp.sandbox import Fault, Sandbox
from tests.conftest import TOKEN, RecordingSleep

pytestmark = pytest.mark.anyio


def new_issue(sandbox: Sandbox) -> CreateIssueRequest:
    account = next(iter(sandbox.store.directory.accounts))
    return CreateIssueRequest(title="Export broken", body_html="<p>please help</p>", account_id=account)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_reads_retry_transient_statuses(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep, status: int
) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", status=status, times=2)
    issue = await pylon.get_issue(1)
    assert issue.number == 1
    assert [r.status for r in sandbox.requests()] == [status, status, 200]
    assert len(sleeps.delays) == 2
    assert 0 < sleeps.delays[0] <= sleeps.delays[1] * 2 + 1e-9


async def test_500_is_not_retried(pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", status=500)
    with pytest.raises(PylonServerError) as caught:
        await pylon.get_issue(1)
    assert caught.value.status == 500 and not caught.value.retryable
    assert len(sandbox.requests()) == 1 and sleeps.delays == []


async def test_400_is_not_retried(pylon: PylonClient, sandbox: Sandbox) -> None:
    with pytest.raises(PylonBadRequest):
        await pylon.snooze_issue(1, "2001-01-01T00:00:00Z")
    assert len(sandbox.requests()) == 1


@pytest.mark.parametrize("header", ["Retry-After", "X-Retry-After"])
async def test_retry_after_is_honoured(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep, header: str
) -> None:
    sandbox.add_fault(endpoint="POST /issues/search", status=429, retry_after="3", retry_after_header=header)
    page = await pylon.search_issues({"field": "state", "operator": "equals", "value": "new"}, limit=1)
    assert page.issues
    assert len(sleeps.delays) == 1 and 3 <= sleeps.delays[0] < 3.2


async def test_retry_after_beyond_the_cap_gives_up_with_the_wait(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", status=429, retry_after="45")
    with pytest.raises(PylonRateLimited) as caught:
        await pylon.get_issue(1)
    assert caught.value.retry_after == 45
    assert "retry after 45s" in str(caught.value)
    assert sleeps.delays == [] and len(sandbox.requests()) == 1


async def test_retries_stop_after_max_attempts(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", status=503, times=None)
    with pytest.raises(PylonServerError) as caught:
        await pylon.get_issue(1)
    assert caught.value.status == 503 and caught.value.retryable
    assert len(sandbox.requests()) == 4 and len(sleeps.delays) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_create_failing_after_commit_is_never_repeated(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep, status: int
) -> None:
    before = len(sandbox.store)
    sandbox.add_fault(endpoint="POST /issues", status=status, after_commit=True)
    with pytest.raises(PylonServerError) as caught:
        await pylon.create_issue(new_issue(sandbox))
    assert caught.value.write_may_have_applied
    assert "may have been applied" in str(caught.value)
    assert len(sandbox.store) == before + 1  # exactly one issue
    assert len(sandbox.requests("POST /issues")) == 1 and sleeps.delays == []


@pytest.mark.parametrize("kind", ["reset", "truncated", "non_json"])
async def test_create_with_a_broken_answer_is_not_repeated(
    pylon: PylonClient, sandbox: Sandbox, kind: str
) -> None:
    before = len(sandbox.store)
    sandbox.add_fault(endpoint="POST /issues", kind=kind, status=200, after_commit=True)
    with pytest.raises(PylonTransportError) as caught:
        await pylon.create_issue(new_issue(sandbox))
    assert caught.value.write_may_have_applied
    assert len(sandbox.store) == before + 1
    assert len(sandbox.requests("POST /issues")) == 1


async def test_create_rate_limited_is_reported_not_repeated(pylon: PylonClient, sandbox: Sandbox) -> None:
    before = len(sandbox.store)
    sandbox.add_fault(endpoint="POST /issues", status=429, retry_after="2")
    with pytest.raises(PylonRateLimited) as caught:
        await pylon.create_issue(new_issue(sandbox))
    assert not caught.value.write_may_have_applied  # Pylon did not do the work
    assert caught.value.retry_after == 2
    assert len(sandbox.store) == before


async def test_create_retries_when_the_connection_was_never_made(sleeps: RecordingSleep) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with PylonClient(TOKEN, base_url=f"http://127.0.0.1:{port}", sleep=sleeps) as client:
        with pytest.raises(PylonTransportError) as caught:
            await client.create_issue(CreateIssueRequest(title="t", body_html="b", account_id="a"))
    assert not caught.value.write_may_have_applied
    assert len(sleeps.delays) == 3  # connect errors are safe to repeat, even for a create


@pytest.mark.parametrize(
    ("endpoint", "call"),
    [
        ("PATCH /issues/{id}", "update"),
        ("POST /issues/{id}/snooze", "snooze"),
        ("POST /issues/{id}/followers", "followers"),
    ],
)
async def test_idempotent_writes_retry_after_commit_faults(
    pylon: PylonClient, sandbox: Sandbox, endpoint: str, call: str
) -> None:
    issue = await pylon.get_issue(7)
    sandbox.clear_log()
    sandbox.add_fault(endpoint=endpoint, status=502, after_commit=True)
    if call == "update":
        result = await pylon.update_issue(issue.id or "", UpdateIssueRequest(state="closed"))
        assert result.state == "closed"
    elif call == "snooze":
        result = await pylon.snooze_issue(7, "2099-01-01T00:00:00Z")
        assert result.state == "on_hold"
    else:
        user = next(iter(sandbox.store.directory.users))
        followers = await pylon.update_followers(7, FollowersRequest(user_ids=[user]))
        assert sum(1 for f in followers if f.id == user) == 1  # applied twice, present once
    assert [r.status for r in sandbox.requests(endpoint)] == [502, 200]


async def test_timeouts_are_retried_for_reads(
    sandbox_url: str, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", kind="timeout", latency=2)
    async with PylonClient(TOKEN, base_url=sandbox_url, timeout=0.3, sleep=sleeps) as client:
        issue = await client.get_issue(1)
    assert issue.number == 1
    assert len(sleeps.delays) == 1


async def test_timeout_on_create_is_reported_as_maybe_applied(
    sandbox_url: str, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(endpoint="POST /issues", kind="latency", latency=1.0, after_commit=True)
    async with PylonClient(TOKEN, base_url=sandbox_url, timeout=0.3, sleep=sleeps) as client:
        with pytest.raises(PylonTimeout) as caught:
            await client.create_issue(new_issue(sandbox))
    assert caught.value.write_may_have_applied and sleeps.delays == []
    assert "0.3s" in str(caught.value)


@pytest.mark.parametrize("kind", ["non_json", "truncated", "reset"])
async def test_broken_bodies_are_retried_for_reads(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep, kind: str
) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", kind=kind, status=200)
    issue = await pylon.get_issue(1)
    assert issue.number == 1 and len(sleeps.delays) == 1


async def test_non_json_error_page_keeps_the_status(pylon: PylonClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", kind="non_json", status=502, times=None)
    with pytest.raises(PylonServerError) as caught:
        await pylon.get_issue(1)
    assert caught.value.status == 502
    assert "not JSON" in str(caught.value)


async def test_truncated_success_body_names_the_problem(pylon: PylonClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", kind="truncated", status=200, times=None)
    with pytest.raises(PylonResponseError, match="truncated JSON"):
        await pylon.get_issue(1)


async def test_rate_limiter_in_the_sandbox_is_handled(sandbox_url: str, sandbox: Sandbox) -> None:
    sandbox.limiter.configure({"GET /issues/{id}": 2}, window=0.5)
    real_sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        import anyio

        real_sleeps.append(seconds)
        await anyio.sleep(seconds)

    async with PylonClient(
        TOKEN, base_url=sandbox_url, sleep=sleep, retry=RetryPolicy(max_attempts=3, max_retry_after=2)
    ) as client:
        for number in (1, 2, 3):
            assert (await client.get_issue(number)).number == number
    assert [r.status for r in sandbox.requests()].count(429) == 1
    assert real_sleeps and real_sleeps[0] >= 1  # Retry-After is whole seconds, rounded up


async def test_the_token_never_reaches_errors_or_logs(
    pylon: PylonClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.add_fault(endpoint="GET /issues/{id}", status=500, errors=[f"token {TOKEN} is bad"])
    with pytest.raises(PylonServerError) as caught:
        await pylon.get_issue(1)
    assert TOKEN not in str(caught.value) and "[REDACTED]" in str(caught.value)
    assert TOKEN not in repr(caught.value.errors)
    assert TOKEN not in caplog.text
    assert "GET /issues/1 500" in caplog.text  # one line per upstream request


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7
    assert parse_retry_after({"x-retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "nan"}) is None
    assert parse_retry_after({}) is None


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2)
    import random

    rng = random.Random(1)
    delays = [policy.backoff(n, rng) for n in (1, 2, 3, 4, 5)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(d <= 2 for d in delays)
    assert delays[4] >= 1


def test_fault_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")  # type: ignore[arg-type]


async def test_a_429_holds_back_later_calls_to_the_same_endpoint(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(endpoint="GET /issues/{id}", status=429, retry_after="45")
    with pytest.raises(PylonRateLimited):
        await pylon.get_issue(1)
    with pytest.raises(PylonRateLimited) as caught:
        await pylon.get_issue(2)  # not sent: Pylon asked for 45 s moments ago
    assert "was not sent" in str(caught.value) and caught.value.retry_after and caught.value.retry_after > 40
    assert len(sandbox.requests("GET /issues/{id}")) == 1
    assert (await pylon.get_followers(1)) is not None  # other endpoints are not held back


async def test_a_429_holds_back_the_whole_endpoint_not_one_id_of_it(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    # Pylon counts GET /users/{id} as one endpoint, whichever user is asked for.
    first, second = list(sandbox.store.directory.users)[:2]
    sandbox.add_fault(endpoint="GET /users/{id}", status=429, retry_after="45")
    with pytest.raises(PylonRateLimited):
        await pylon.get_user(first)
    with pytest.raises(PylonRateLimited) as caught:
        await pylon.get_user(second)
    assert "GET /users/{id}" in str(caught.value) and "was not sent" in str(caught.value)
    assert len(sandbox.requests("GET /users/{id}")) == 1
    assert await pylon.list_teams()  # another endpoint is not held back


async def test_a_short_429_makes_the_next_caller_wait_instead_of_hitting_pylon(
    pylon: PylonClient, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    sandbox.add_fault(endpoint="POST /issues/search", status=429, retry_after="2")
    first = await pylon.search_issues({"field": "state", "operator": "equals", "value": "new"}, limit=1)
    assert first.issues and len(sleeps.delays) == 1  # the retry waited Retry-After
    second = await pylon.search_issues({"field": "state", "operator": "equals", "value": "closed"}, limit=1)
    assert second.issues
    assert len(sleeps.delays) == 2 and 1.5 < sleeps.delays[1] <= 2.2  # waited out the window first
    assert [r.status for r in sandbox.requests("POST /issues/search")] == [429, 200, 200]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_day_long_retry_after_holds_back_for_the_cap_then_probes(
    sandbox_url: str, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    # Issue 14, item 26: one Retry-After: 86400 must not refuse this endpoint locally for a day.
    clock = FakeClock()
    sandbox.add_fault(endpoint="GET /issues/{id}", status=429, retry_after="86400")
    async with PylonClient(TOKEN, base_url=sandbox_url, timeout=5, sleep=sleeps, clock=clock) as pylon:
        with pytest.raises(PylonRateLimited) as first:
            await pylon.get_issue(1)
        assert first.value.retry_after == COOLDOWN_CAP_SECONDS == 60
        assert "Pylon asked to wait 86400s, but this server tries again in 60s (at 20" in str(first.value)
        clock.now += 30
        with pytest.raises(PylonRateLimited) as held:
            await pylon.get_issue(2)
        assert "was not sent; the next request to it goes out in 30s (at 20" in str(held.value)
        assert held.value.retry_after == 30 and sleeps.delays == []
        clock.now += 30.5
        assert (await pylon.get_issue(3)).number == 3  # the probe goes out, Pylon is healthy again
    assert [r.status for r in sandbox.requests("GET /issues/{id}")] == [429, 200]
