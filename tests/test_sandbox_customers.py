"""The sandbox's customer data and `POST /issues/{id}/external-issues` as raw HTTP (issue 22)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.store import Store
from tests.conftest import TOKEN
from tests.test_sandbox import error_of

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def http(sandbox_url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=sandbox_url, headers=AUTH, timeout=10) as client:
        yield client


def test_an_account_by_id_or_external_id(http: httpx2.Client, sandbox: Sandbox) -> None:
    account = next(iter(sandbox.store.directory.accounts.values()))
    by_id = http.get(f"/accounts/{account.id}").json()["data"]
    for _, external in account.external_ids:  # "by ID or external ID", as the spec says
        assert http.get(f"/accounts/{external}").json()["data"] == by_id
    assert {"owner", "type", "custom_fields", "external_ids", "latest_customer_activity_time"} <= set(by_id)
    assert by_id["custom_fields"]["plan_tier"] == {
        "slug": "plan_tier",
        "value": account.custom_fields["plan_tier"],
    }
    by_external = {"field": "external_ids", "operator": "equals", "value": account.external_ids[-1][1]}
    found = http.post("/accounts/search", json={"filter": by_external}).json()["data"]
    assert [a["id"] for a in found] == [account.id]


def test_account_plan_tier_agrees_with_its_issues(sandbox: Sandbox) -> None:
    for account in sandbox.store.directory.accounts.values():
        tiers = {r.custom_fields["plan_tier"] for r in sandbox.store.search(
            lambda r, a=account: r.account_id == a.id, 999, None)[0]}  # fmt: skip
        assert tiers <= {account.custom_fields["plan_tier"]}, account.name


def test_customer_data_does_not_shift_the_seeded_issues(sandbox: Sandbox) -> None:
    # The card data has its own random stream: the issues are what the seed alone makes.
    fresh = Store(seed=7, issues=300, anchor=sandbox.anchor)
    assert [(r.id, r.title, r.account_id) for r in fresh._order] == [
        (r.id, r.title, r.account_id) for r in sandbox.store._order
    ]


def test_contacts_and_field_definitions(http: httpx2.Client, sandbox: Sandbox) -> None:
    contact = next(iter(sandbox.store.directory.contacts.values()))
    got = http.get(f"/contacts/{contact.id}", params={"limit": 1}).json()["data"]
    assert got["portal_role"] in ("no_access", "member", "admin") and "language" in got["custom_fields"]
    for object_type, slug in (("account", "health"), ("contact", "language")):
        fields = http.get("/custom-fields", params={"object_type": object_type}).json()["data"]
        field = next(f for f in fields if f["slug"] == slug)
        assert field["object_type"] == object_type and field["select_metadata"]["options"]


def test_link_and_unlink_are_idempotent(http: httpx2.Client, sandbox: Sandbox) -> None:
    record = sandbox.store.find("7")
    body = {"source": "jira", "external_issue_id": "10042"}
    first = http.post("/issues/7/external-issues", json=body).json()["data"]
    second = http.post(f"/issues/{record.id}/external-issues", json={**body, "operation": "link"}).json()[
        "data"
    ]
    mine = [e for e in second["external_issues"] if e["external_id"] == "10042"]
    assert first["external_issues"] == second["external_issues"] and len(mine) == 1
    gone = http.post("/issues/7/external-issues", json={**body, "operation": "unlink"}).json()["data"]
    assert all(e["external_id"] != "10042" for e in gone.get("external_issues", []))
    again = http.post("/issues/7/external-issues", json={**body, "operation": "unlink"})
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"external_issue_id": "1"}, "source is required"),
        ({"source": "jira"}, "external_issue_id is required"),
        ({"source": "gitlab", "external_issue_id": "1"}, "invalid source"),
        ({"source": "jira", "external_issue_id": " "}, "must not be empty"),
        ({"source": "jira", "external_issue_id": "1", "operation": "toggle"}, "invalid operation"),
    ],
)
def test_link_validation(http: httpx2.Client, body: dict[str, str], message: str) -> None:
    assert message in error_of(http.post("/issues/7/external-issues", json=body), 400)
    missing = http.post("/issues/999999/external-issues", json={"source": "jira", "external_issue_id": "1"})
    assert "not found" in error_of(missing, 404)
