"""The sandbox's directory endpoints as raw HTTP, and the coherence and reproducibility of its seed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from pylon_mcp.sandbox import Sandbox, attachments
from pylon_mcp.sandbox.seed import HOSTILE_NUMBERS, TOPICS
from tests.conftest import TOKEN
from tests.test_sandbox import error_of

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def http(sandbox_url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=sandbox_url, headers=AUTH, timeout=10) as client:
        yield client


def test_lists_and_single_objects(http: httpx2.Client, sandbox: Sandbox) -> None:
    users = http.get("/users").json()["data"]
    assert {u["name"] for u in users} >= {"Sam Okoye", "Sam Lee", "Priya Raman"}
    assert http.get(f"/users/{users[0]['id']}").json()["data"] == users[0]
    teams = http.get("/teams").json()["data"]
    billing = next(t for t in teams if t["name"] == "Billing")
    assert {u["email"] for u in billing["users"]} == {
        "elena@sandbox-support.example",
        "sam.lee@sandbox-support.example",
    }
    assert http.get(f"/teams/{billing['id']}").json()["data"] == billing
    account = next(iter(sandbox.store.directory.accounts.values()))
    got = http.get(f"/accounts/{account.id}").json()["data"]
    assert got["name"] == account.name and got["domains"] == [account.domain] and got["owner"]["id"]
    contact = next(iter(sandbox.store.directory.contacts.values()))
    assert http.get(f"/contacts/{contact.id}", params={"limit": 1}).json()["data"]["account"] == {
        "id": contact.account_id
    }
    statuses = http.get("/issue-statuses").json()["data"]
    assert [s["slug"] for s in statuses if not s["is_default_status"]] == [
        "in_progress",
        "escalated",
        "pending_release",
    ]
    assert {t["value"] for t in http.get("/tags").json()["data"]} >= {"bug", "billing"}
    fields = http.get("/custom-fields", params={"object_type": "issue"}).json()["data"]
    area = next(f for f in fields if f["slug"] == "product_area")
    assert (
        area["label"] == "Product area"
        and {"slug": "api", "label": "API"} in area["select_metadata"]["options"]
    )
    for path in ("/users/nope", "/teams/nope", "/accounts/nope", "/contacts/nope"):
        assert "not found" in error_of(http.get(path), 404)
    assert "object_type is required" in error_of(http.get("/custom-fields"), 400)


def test_searches_follow_each_endpoints_operator_table(http: httpx2.Client, sandbox: Sandbox) -> None:
    def search(endpoint: str, filter: dict, **extra: object) -> httpx2.Response:
        return http.post(f"/{endpoint}/search", json={"filter": filter, **extra})

    found = search("accounts", {"field": "name", "operator": "string_contains", "value": "ACME"}).json()[
        "data"
    ]
    assert sorted(a["name"] for a in found) == ["Acme Anvils", "Acme Rockets"]
    by_domain = search("accounts", {"field": "domains", "operator": "contains", "value": "hooli.example"})
    assert [a["name"] for a in by_domain.json()["data"]] == ["Hooli"]
    contact = next(iter(sandbox.store.directory.contacts.values()))
    by_email = search("contacts", {"field": "email", "operator": "equals", "value": contact.email.upper()})
    assert [c["id"] for c in by_email.json()["data"]] == [contact.id]
    of_account = search(
        "contacts", {"field": "account_id", "operator": "equals", "value": contact.account_id}
    )
    assert contact.id in {c["id"] for c in of_account.json()["data"]}
    user = search("users", {"field": "email", "operator": "in", "values": ["mei@sandbox-support.example"]})
    assert [u["name"] for u in user.json()["data"]] == ["Mei Tanaka"]
    assert "not filterable" in error_of(
        search("users", {"field": "name", "operator": "equals", "value": "x"}), 400
    )
    assert "not allowed" in error_of(
        search("contacts", {"field": "email", "operator": "contains", "value": "x"}), 400
    )
    assert "filter is required" in error_of(http.post("/accounts/search", json={}), 400)
    assert "limit" in error_of(
        search("accounts", {"field": "id", "operator": "in", "values": ["x"]}, limit=0), 400
    )


def test_search_pages_with_a_cursor(http: httpx2.Client, sandbox: Sandbox) -> None:
    everyone = {"field": "name", "operator": "string_contains", "value": "e"}
    seen: list[str] = []
    body: dict = {"filter": everyone, "limit": 7}
    while True:
        page = http.post("/accounts/search", json=body).json()
        seen += [a["id"] for a in page["data"]]
        if not page["pagination"]["has_next_page"]:
            break
        body["cursor"] = page["pagination"]["cursor"]
    expected = [a.id for a in sandbox.store.directory.accounts.values() if "e" in a.name.lower()]
    assert seen == expected and len(seen) > 7


def test_directory_endpoints_are_rate_limited(http: httpx2.Client, sandbox: Sandbox) -> None:
    sandbox.limiter.configure({"GET /issue-statuses": 2}, window=60)
    assert [http.get("/issue-statuses").status_code for _ in range(3)] == [200, 200, 429]


# --- the seed ----------------------------------------------------------------------------------


def test_seeded_issues_are_coherent(sandbox: Sandbox) -> None:
    d = sandbox.store.directory
    for number in range(1, 301):
        record = sandbox.store.find(str(number))
        requester = d.contacts[record.requester_id or ""]
        assert requester.account_id == record.account_id  # a requester is a contact of the issue's account
        assert requester.email.endswith("@" + d.accounts[record.account_id or ""].domain)
        if record.assignee_id:
            assert record.assignee_id in d.users
            if record.team_id:
                assert record.assignee_id in d.teams[record.team_id].member_ids
        body = sandbox.store.to_json(record)["body_html"]
        assert isinstance(body, str)
        if number in HOSTILE_NUMBERS:
            continue
        first_name = requester.name.split()[0]
        assert body.endswith(f"<p>Thanks,<br>{first_name}</p>")  # signed by the requester
        assert re.findall(r"<br>(\w+)</p>$", body) == [first_name]
        if number in attachments.TITLES:  # titled for their files (sandbox/attachments.py)
            continue
        # The title's own words (the topic and its detail) are what the body talks about.
        topic = next(
            t for t in TOPICS if re.fullmatch(re.sub(r"\\\{\w+\\\}", "(.+)", re.escape(t[0])), record.title)
        )
        detail = re.fullmatch(re.sub(r"\\\{\w+\\\}", "(.+)", re.escape(topic[0])), record.title).group(1)  # type: ignore[union-attr]
        assert detail in body, (record.title, body)
        if "{plan}" in topic[0]:
            assert record.custom_fields["plan_tier"] == detail


def test_seed_is_reproducible_except_for_the_clock() -> None:
    anchor = datetime(2026, 6, 1, tzinfo=UTC)
    a = Sandbox(seed=11, issues=40, anchor=anchor).store
    b = Sandbox(seed=11, issues=40, anchor=anchor).store
    later = Sandbox(seed=11, issues=40, anchor=anchor + timedelta(days=3)).store
    other = Sandbox(seed=12, issues=40, anchor=anchor).store
    times = {"created_at", "updated_at", "latest_message_time", "first_response_time", "resolution_time",
             "snoozed_until_time", "slack"}  # fmt: skip
    for n in range(1, 41):
        one, two = a.to_json(a.find(str(n))), b.to_json(b.find(str(n)))
        shifted = later.to_json(later.find(str(n)))
        assert one == two
        assert {k: v for k, v in one.items() if k not in times} == {
            k: v for k, v in shifted.items() if k not in times
        }
        created = datetime.fromisoformat(str(one["created_at"]).replace("Z", "+00:00"))
        assert created + timedelta(days=3) == datetime.fromisoformat(
            str(shifted["created_at"]).replace("Z", "+00:00")
        )
    assert [a.to_json(a.find(str(n)))["title"] for n in range(1, 41)] != [
        other.to_json(other.find(str(n)))["title"] for n in range(1, 41)
    ]


def test_cli_pins_the_anchor() -> None:
    from pylon_mcp.cli import build_parser

    args = build_parser().parse_args(["sandbox", "--anchor", "2026-06-01T00:00:00Z"])
    assert args.anchor == datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["sandbox", "--anchor", "yesterday"])
    assert exit_.value.code == 2
