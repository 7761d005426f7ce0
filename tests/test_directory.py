"""The directory (pylon_mcp/directory.py) against the sandbox over loopback: resolution, caching, batching.

The resolution table pins, for each kind of query, the outcome and how many upstream requests a cold
directory spends on it (counted in the sandbox's request log).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest

from pylon_mcp.directory import Directory, NotResolved
from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.errors import InvalidRequest
from pylon_mcp.pylon.models import Issue
from pylon_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

AMBIGUOUS = "ambiguous"
MISSING = "missing"


def user_id(sandbox: Sandbox, name: str) -> str:
    return next(u.id for u in sandbox.store.directory.users.values() if u.name == name)


def team_id(sandbox: Sandbox, name: str) -> str:
    return next(t.id for t in sandbox.store.directory.teams.values() if t.name == name)


def account_id(sandbox: Sandbox, name: str) -> str:
    return next(a.id for a in sandbox.store.directory.accounts.values() if a.name == name)


def a_contact(sandbox: Sandbox, account: str = "Northwind Traders"):  # type: ignore[no-untyped-def]
    wanted = account_id(sandbox, account)
    return next(c for c in sandbox.store.directory.contacts.values() if c.account_id == wanted)


# (kind, query, expected: a (kind, name) to look up in the sandbox, AMBIGUOUS or MISSING, upstream requests)
RESOLUTION_TABLE = [
    # users: one GET /users, then everything is answered from it
    ("user", "Priya Raman", ("user", "Priya Raman"), 1),  # exact
    ("user", "pRIYA raman", ("user", "Priya Raman"), 1),  # case-insensitive
    ("user", "PRIYA@sandbox-support.example", ("user", "Priya Raman"), 1),  # email
    ("user", "Priya", ("user", "Priya Raman"), 1),  # partial: a unique whole word
    ("user", "Pri", MISSING, 1),  # partial inside a word: not guessed, suggested
    ("user", "Sam", AMBIGUOUS, 1),  # two Sams
    ("user", "Zed Nobody", MISSING, 1),  # the list was loaded just now: no reload
    ("user", "@id:Priya Raman", ("user", "Priya Raman"), 0),  # an ID passes through
    # teams
    ("team", "Billing", ("team", "Billing"), 1),
    ("team", "billing", ("team", "Billing"), 1),
    ("team", "Escalations", ("team", "Engineering Escalations"), 1),
    ("team", "Legal", MISSING, 1),
    # accounts: one POST /accounts/search (name contains, or domain)
    ("account", "Northwind Traders", ("account", "Northwind Traders"), 1),
    ("account", "northwind traders", ("account", "Northwind Traders"), 1),
    ("account", "northwindtraders.example", ("account", "Northwind Traders"), 1),  # domain
    ("account", "buyer@northwindtraders.example", ("account", "Northwind Traders"), 1),  # email's domain
    ("account", "Northwind", ("account", "Northwind Traders"), 1),  # partial: a whole word
    ("account", "North", MISSING, 1),  # partial inside a word: suggested, not guessed
    ("account", "Acme", AMBIGUOUS, 1),  # Acme Rockets and Acme Anvils
    ("account", "Nonexistent Corp", MISSING, 1),
    # contacts: by email (one search); a name needs an email (no search by name in Pylon)
    ("contact", "@email", ("contact", None), 1),
    ("contact", "@EMAIL", ("contact", None), 1),
    ("contact", "nobody@nowhere.example", MISSING, 1),
    ("contact", "@name", MISSING, 0),
]


def expected_id(sandbox: Sandbox, expected: tuple[str, str | None]) -> str:
    kind, name = expected
    if kind == "user":
        return user_id(sandbox, name or "")
    if kind == "team":
        return team_id(sandbox, name or "")
    if kind == "account":
        return account_id(sandbox, name or "")
    return a_contact(sandbox).id


@pytest.mark.parametrize(("kind", "query", "expected", "requests"), RESOLUTION_TABLE)
async def test_resolution_table(
    pylon: PylonClient, sandbox: Sandbox, kind: str, query: str, expected: object, requests: int
) -> None:
    contact = a_contact(sandbox)
    query = {"@email": contact.email, "@EMAIL": contact.email.upper(), "@name": contact.name}.get(
        query, query
    )
    if query.startswith("@id:"):
        query = user_id(sandbox, query[4:])
    directory = Directory(pylon)
    sandbox.clear_log()
    if isinstance(expected, tuple):
        assert await directory.resolve(kind, query) == expected_id(sandbox, expected)  # type: ignore[arg-type]
    else:
        with pytest.raises(NotResolved) as caught:
            await directory.resolve(kind, query)  # type: ignore[arg-type]
        assert caught.value.ambiguous == (expected == AMBIGUOUS)
        if expected == AMBIGUOUS:
            assert len(caught.value.candidates) == 2
            for candidate in caught.value.candidates:  # name, email or domain, and ID, for each
                assert candidate.id in str(caught.value) and candidate.name in str(caught.value)
                assert candidate.detail and candidate.detail in str(caught.value)
    assert len(sandbox.requests()) == requests, [r.endpoint for r in sandbox.requests()]


async def test_missing_names_suggest_the_closest(pylon: PylonClient, sandbox: Sandbox) -> None:
    directory = Directory(pylon)
    with pytest.raises(NotResolved, match=re.escape("Closest: Priya Raman <priya@sandbox-support.example>")):
        await directory.resolve("user", "Priya Ramen")
    with pytest.raises(NotResolved, match=r"Closest: Northwind Traders \(northwindtraders.example\)"):
        await directory.resolve("account", "North")
    with pytest.raises(NotResolved, match="Pylon finds contacts by email"):
        await directory.resolve("contact", "Some Person")


async def test_contact_name_resolves_within_its_account(pylon: PylonClient, sandbox: Sandbox) -> None:
    contact = a_contact(sandbox)
    directory = Directory(pylon)
    assert await directory.resolve("contact", contact.name, account_id=contact.account_id) == contact.id
    assert [r.body["filter"] for r in sandbox.requests("POST /contacts/search")] == [
        {"field": "account_id", "operator": "equals", "value": contact.account_id}
    ]


async def test_a_user_added_later_is_found_by_reloading_once(pylon: PylonClient, sandbox: Sandbox) -> None:
    from pylon_mcp.sandbox.records import Person

    now = [0.0]
    directory = Directory(pylon, clock=lambda: now[0])
    await directory.users()
    sandbox.store.directory.users["u-new"] = Person("u-new", "Wren Park", "wren@sandbox-support.example")
    now[0] = 31.0  # older than refresh_after, younger than the TTL
    assert await directory.resolve("user", "Wren Park") == "u-new"
    assert len(sandbox.requests("GET /users")) == 2
    with pytest.raises(NotResolved):  # just reloaded: a second miss costs nothing
        await directory.resolve("user", "Nobody At All")
    assert len(sandbox.requests("GET /users")) == 2
    now[0] = 700.0  # past the TTL: reloaded on next use
    await directory.users()
    assert len(sandbox.requests("GET /users")) == 3


async def test_statuses_by_slug_or_label(pylon: PylonClient, sandbox: Sandbox) -> None:
    directory = Directory(pylon)
    assert await directory.resolve_state("closed") == "closed"
    assert sandbox.requests() == []  # base states need no request
    assert await directory.resolve_state("Escalated to engineering") == "escalated"
    assert await directory.resolve_state("in_progress") == "in_progress"
    with pytest.raises(NotResolved, match="This organisation's statuses: New · slug new"):
        await directory.resolve_state("Done")
    assert len(sandbox.requests("GET /issue-statuses")) == 1


async def test_concurrent_lookups_share_requests(pylon: PylonClient, sandbox: Sandbox) -> None:
    directory = Directory(pylon)
    ids = list(sandbox.store.directory.accounts)[:20]
    results = await asyncio.gather(*(directory.accounts([i]) for i in ids), directory.accounts(ids))
    assert all(results[n] == {i: results[-1][i]} for n, i in enumerate(ids))
    assert {a.name for a in results[-1].values()} == {sandbox.store.directory.accounts[i].name for i in ids}
    (batch,) = sandbox.requests("POST /accounts/search")  # 21 lookups, one `in` search
    assert batch.body["filter"] == {"field": "id", "operator": "in", "values": ids}
    await asyncio.gather(*(directory.users() for _ in range(5)), *(directory.teams() for _ in range(5)))
    await asyncio.gather(*(directory.search_accounts("Northwind") for _ in range(5)))
    assert [len(sandbox.requests(e)) for e in ("GET /users", "GET /teams", "POST /accounts/search")] == [
        1,
        1,
        2,
    ]
    await directory.accounts(ids)  # all cached now
    assert len(sandbox.requests("POST /accounts/search")) == 2


async def test_accounts_lru_is_bounded(pylon: PylonClient, sandbox: Sandbox) -> None:
    directory = Directory(pylon, lru_size=5)
    await directory.accounts(list(sandbox.store.directory.accounts)[:12])
    assert len(directory._accounts) == 5


async def test_a_failed_batch_fails_every_waiter_and_the_next_one_retries(
    pylon: PylonClient, sandbox: Sandbox
) -> None:
    sandbox.add_fault(endpoint="POST /accounts/search", status=400, times=1)
    directory = Directory(pylon)
    ids = list(sandbox.store.directory.accounts)[:3]
    outcomes = await asyncio.gather(*(directory.accounts([i]) for i in ids), return_exceptions=True)
    assert all(isinstance(o, Exception) for o in outcomes)
    assert len(await directory.accounts(ids)) == 3


async def test_names_load_every_missing_list_at_once_and_none_when_warm(
    pylon: PylonClient, sandbox: Sandbox
) -> None:
    page = await pylon.search_issues({"field": "created_at", "operator": "time_is_after",
                                      "value": "2000-01-01T00:00:00Z"}, limit=20)  # fmt: skip
    directory = Directory(pylon)
    sandbox.clear_log()
    names = await directory.names(page.issues)
    # One request per list, together: the first answer shows names (issue 20, item 1).
    assert Counter(r.endpoint for r in sandbox.requests()) == Counter(
        ["POST /accounts/search", "GET /teams", "GET /users", "GET /custom-fields"]
    )
    assert set(names.accounts) == {i.account.id for i in page.issues if i.account}
    assert names.users and names.teams and names.fields and names.note is None
    sandbox.clear_log()
    names = await directory.names(page.issues)
    assert sandbox.requests() == []
    assert names.users and names.teams and names.fields and names.note is None


async def test_the_lists_are_asked_for_in_parallel(pylon: PylonClient, sandbox: Sandbox) -> None:
    lists = ("GET /teams", "GET /users", "GET /custom-fields", "POST /accounts/search")
    for endpoint in lists:
        sandbox.add_fault(endpoint=endpoint, kind="latency", latency=1.0, times=1)
    issue = Issue.model_validate(sandbox.store.to_json(sandbox.store.find("7")))
    sandbox.clear_log()
    loading = asyncio.ensure_future(Directory(pylon, names_timeout=10).names([issue]))
    async with asyncio.timeout(5):
        while len(sandbox.requests()) < len(lists):  # noqa: ASYNC110 - the sandbox runs in another thread
            await asyncio.sleep(0.01)
    # Every list was asked for before any was answered (one after another, each waits for the last).
    assert all(r.status == 0 for r in sandbox.requests())
    names = await loading
    assert names.note is None and names.teams and names.users and names.accounts and names.fields


async def test_several_failed_lists_make_one_note(pylon: PylonClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(endpoint="GET /teams", status=503, times=None)
    sandbox.add_fault(endpoint="GET /users", status=503, times=None)
    issue = Issue.model_validate(sandbox.store.to_json(sandbox.store.find("7")))
    names = await Directory(pylon).names([issue])
    assert names.accounts and names.fields and not names.teams and not names.users
    assert (
        names.note
        == "Names of teams and users could not be loaded from Pylon (HTTP 503); IDs are shown instead."
    )


async def test_names_survive_a_failing_directory(pylon: PylonClient, sandbox: Sandbox) -> None:
    sandbox.add_fault(endpoint="POST /accounts/search", status=429, retry_after="60", times=None)
    issue = Issue.model_validate(sandbox.store.to_json(sandbox.store.find("7")))
    names = await Directory(pylon).names([issue])
    assert names.accounts == {}
    assert names.note == "Names of accounts could not be loaded from Pylon (HTTP 429); IDs are shown instead."


async def test_user_by_email(pylon: PylonClient, sandbox: Sandbox) -> None:
    directory = Directory(pylon)
    user = await directory.user_by_email("Marcus@Sandbox-Support.example")
    assert user is not None and user.name == "Marcus Chen"
    assert await directory.user_by_email("stranger@example.com") is None
    assert len(sandbox.requests("GET /users")) == 1


async def test_find_ranks_and_lists(pylon: PylonClient, sandbox: Sandbox) -> None:
    directory = Directory(pylon)
    assert [e.name for e in await directory.find("user", "sam")] == ["Sam Okoye", "Sam Lee"]
    assert len(await directory.find("status", "*")) == 8
    assert [e.name for e in await directory.find("field", "product")] == ["Product area"]
    assert [e.name for e in await directory.find("tag", "bug")] == ["bug"]
    assert [e.name for e in await directory.find("account", "acme")] == ["Acme Rockets", "Acme Anvils"]


async def test_search_filters_are_checked_per_endpoint(pylon: PylonClient, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest, match=re.escape("'name' is not filterable on users. Fields: email")):
        await pylon.search_users({"field": "name", "operator": "equals", "value": "x"})
    with pytest.raises(
        InvalidRequest, match=re.escape("not allowed for contacts.email. Allowed: equals, in, not_in")
    ):
        await pylon.search_contacts({"field": "email", "operator": "contains", "value": "x"})
    with pytest.raises(InvalidRequest, match="'in' needs a non-empty list"):
        await pylon.search_accounts({"field": "id", "operator": "in", "value": "x"})
    assert sandbox.requests() == []


async def test_a_shared_name_shows_the_email_instead(pylon: PylonClient, sandbox: Sandbox) -> None:
    from pylon_mcp.sandbox.records import Person

    hannah = user_id(sandbox, "Hannah Weiss")
    sandbox.store.directory.users["u-twin"] = Person(
        "u-twin", "Hannah Weiss", "hannah.w@sandbox-support.example"
    )
    issue = Issue.model_validate(
        {"id": "x", "assignee": {"id": hannah, "email": "hannah@sandbox-support.example"}}
    )
    directory = Directory(pylon)
    await directory.users()
    # Two users share the name: the email shows instead, wherever this person is shown.
    assert (await directory.names([issue])).person("user", hannah) == "hannah@sandbox-support.example"
    with pytest.raises(NotResolved, match="'Hannah Weiss' matches 2 users"):
        await directory.resolve("user", "Hannah Weiss")


async def test_a_caller_giving_up_does_not_cancel_the_lookup_for_others(
    pylon: PylonClient, sandbox: Sandbox
) -> None:
    sandbox.add_fault(endpoint="POST /accounts/search", kind="latency", latency=1.0, times=1)
    directory = Directory(pylon)
    ids = list(sandbox.store.directory.accounts)[:2]
    leader = asyncio.ensure_future(directory.accounts([ids[0]]))
    follower = asyncio.ensure_future(directory.accounts([ids[0], ids[1]]))
    await asyncio.sleep(0.2)  # the batch is in flight (the sandbox holds it for a second)
    leader.cancel()  # e.g. its names deadline passed: the lookup goes on for the others
    assert len(await asyncio.wait_for(follower, 3)) == 2
    assert leader.cancelled()
    assert len(await directory.accounts(ids)) == 2  # and its answer is cached
    assert len(sandbox.requests("POST /accounts/search")) == 1


async def test_every_directory_endpoint_round_trips(pylon: PylonClient, sandbox: Sandbox) -> None:
    d = sandbox.store.directory
    user, team = next(iter(d.users.values())), next(iter(d.teams.values()))
    account, contact = next(iter(d.accounts.values())), next(iter(d.contacts.values()))
    assert (await pylon.get_user(user.id)).email == user.email
    assert (await pylon.get_team(team.id)).name == team.name
    assert (await pylon.get_account(account.id)).domains == [account.domain]
    got = await pylon.get_contact(contact.id)
    assert got.email == contact.email and got.account is not None and got.account.id == contact.account_id
    found = await pylon.search_users({"field": "email", "operator": "equals", "value": user.email})
    assert [u.id for u in found.items] == [user.id] and not found.has_next_page
    assert {t.value for t in await pylon.list_tags()} == {t.value for t in d.tags}
    assert [f.slug for f in await pylon.list_custom_fields()] == list(d.custom_fields)
    # Accounts have their own fields (the account card shows them by label).
    assert [f.slug for f in await pylon.list_custom_fields("account")] == ["plan_tier", "arr", "renewal_date",
                                                                          "health", "regions"]  # fmt: skip
    with pytest.raises(InvalidRequest):
        await pylon.get_user("a/b")  # never a path outside /users/
    assert [r.endpoint for r in sandbox.requests()] == [
        "GET /users/{id}", "GET /teams/{id}", "GET /accounts/{id}", "GET /contacts/{id}", "POST /users/search",
        "GET /tags", "GET /custom-fields", "GET /custom-fields",
    ]  # fmt: skip
