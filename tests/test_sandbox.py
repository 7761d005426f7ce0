"""The sandbox as raw HTTP, checked against the spec's wording (not against our client)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pylon_mcp.pylon.filters import FIELD_OPERATORS
from pylon_mcp.sandbox import Sandbox
from pylon_mcp.sandbox.seed import HOSTILE_NUMBERS
from tests import oracle
from tests.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def http(sandbox_url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=sandbox_url, headers=AUTH, timeout=10) as client:
        yield client


def rfc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def error_of(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "request_id"}
    assert body["request_id"].startswith("req_")
    return " ".join(body["errors"])


# --- auth and envelope -------------------------------------------------------------


def test_get_issue_one(http: httpx2.Client) -> None:
    body = http.get("/issues/1").json()
    assert set(body) == {"data", "request_id"}
    assert body["data"]["number"] == 1 and body["data"]["body_html"].startswith("<")


def test_missing_and_wrong_tokens_are_401(sandbox_url: str) -> None:
    assert "missing" in error_of(httpx2.get(f"{sandbox_url}/issues/1"), 401)
    bad = {"Authorization": "Bearer nope"}
    assert "invalid" in error_of(httpx2.get(f"{sandbox_url}/issues/1", headers=bad), 401)
    eu = {"Authorization": "Bearer pylon_api_eu_whatever"}
    assert error_of(httpx2.get(f"{sandbox_url}/me", headers=eu), 401) == "wrong_region_token"


def test_unknown_route_is_404_envelope(http: httpx2.Client) -> None:
    assert "no route" in error_of(http.get("/accounts"), 404)


# --- request validation, as the spec states it ------------------------------------


def account(sandbox: Sandbox) -> str:
    return next(iter(sandbox.store.directory.accounts))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"body_html": "<p>x</p>", "account_id": "A"}, "title is required"),
        ({"title": "x", "account_id": "A"}, "body_html is required"),
        ({"title": "x", "body_html": "<p>x</p>"}, "requester"),
        ({"title": "x", "body_html": "b", "account_id": "A", "priority": "critical"}, "invalid priority"),
        ({"title": "x", "body_html": "b", "account_id": "A", "created_at": "yesterday"}, "RFC3339"),
        ({"title": "x", "body_html": "b", "account_id": "A", "created_at": "2026-01-01T00:00:00"}, "RFC3339"),
        ({"title": 5, "body_html": "b", "account_id": "A"}, "title must be a string"),
        ({"title": "x", "body_html": "b", "account_id": "nope"}, "account nope not found"),
        (
            {"title": "x", "body_html": "b", "account_id": "A", "user_id": "u", "contact_id": "c"},
            "only one of",
        ),
        ({"title": "x", "body_html": "b", "account_id": "A", "tags": "bug"}, "tags must be an array"),
    ],
)
def test_create_validation(http: httpx2.Client, sandbox: Sandbox, body: dict[str, Any], message: str) -> None:
    if body.get("account_id") == "A":
        body["account_id"] = account(sandbox)
    assert message in error_of(http.post("/issues", json=body), 400)
    assert len(sandbox.store) == 300


def test_create_ignores_unknown_fields_like_pylon(http: httpx2.Client, sandbox: Sandbox) -> None:
    body = {"title": "x", "body_html": "<p>b</p>", "account_id": account(sandbox), "titel": "typo", "prio": 1}
    created = http.post("/issues", json=body).json()["data"]
    assert created["title"] == "x" and "titel" not in created


def test_create_with_requester_email_makes_a_contact(http: httpx2.Client, sandbox: Sandbox) -> None:
    contacts = len(sandbox.store.directory.contacts)
    created = http.post(
        "/issues", json={"title": "x", "body_html": "b", "requester_email": "new.person@example.org"}
    ).json()["data"]
    assert created["requester"]["email"] == "new.person@example.org"
    assert len(sandbox.store.directory.contacts) == contacts + 1


def test_invalid_json_body_is_400(http: httpx2.Client) -> None:
    response = http.post("/issues", content=b"{not json", headers={"content-type": "application/json"})
    assert "invalid JSON" in error_of(response, 400)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "required"),
        ({"start_time": "2026-01-01T00:00:00Z"}, "required"),
        ({"start_time": "2026-01-01", "end_time": "2026-01-02T00:00:00Z"}, "RFC3339"),
        ({"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-03-02T00:00:00Z"}, "30 days"),
        ({"start_time": "2026-02-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"}, "after"),
    ],
)
def test_list_validation(http: httpx2.Client, query: dict[str, str], message: str) -> None:
    assert message in error_of(http.get("/issues", params=query), 400)


def test_list_window_of_exactly_30_days_is_allowed(http: httpx2.Client) -> None:
    end = datetime.now(UTC)
    response = http.get("/issues", params={"start_time": rfc(end - timedelta(days=30)), "end_time": rfc(end)})
    assert response.status_code == 200 and response.json()["data"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "filter is required"),
        ({"filter": {"field": "state", "operator": "equals", "value": "new"}, "limit": 0}, "greater than 0"),
        (
            {"filter": {"field": "state", "operator": "equals", "value": "new"}, "limit": 1000},
            "less than 1000",
        ),
        ({"filter": {"field": "state", "operator": "equals", "value": "new"}, "limit": "5"}, "limit"),
        ({"filter": {"field": "created_at", "operator": "gte", "value": "2026-01-01T00:00:00Z"}}, '"gte"'),
        ({"filter": {"field": "title", "operator": "equals", "value": "x"}}, 'invalid operator "equals"'),
        ({"filter": {"field": "state", "operator": "in", "value": "new"}}, "requires values"),
        ({"filter": {"field": "state", "operator": "equals", "values": ["new"]}}, "requires value"),
        ({"filter": {"field": "state", "operator": "equals", "value": "nonsense"}}, "invalid state"),
        ({"filter": {"field": "shoe_size", "operator": "equals", "value": "9"}}, "not filterable"),
        ({"filter": {"operator": "and", "subfilters": []}}, "requires subfilters"),
        ({"filter": {"field": "created_at", "operator": "time_is_after", "value": "May 1"}}, "RFC3339"),
        (
            {"filter": {"field": "state", "operator": "equals", "value": "new"}, "cursor": "!!"},
            "invalid cursor",
        ),
    ],
)
def test_search_validation(http: httpx2.Client, body: dict[str, Any], message: str) -> None:
    assert message in error_of(http.post("/issues/search", json=body), 400)


def nested(depth: int) -> dict[str, Any]:
    leaf: dict[str, Any] = {"field": "state", "operator": "equals", "value": "new"}
    for _ in range(depth - 1):
        leaf = {"operator": "and", "subfilters": [leaf]}
    return leaf


def test_filters_nest_at_most_three_deep(http: httpx2.Client) -> None:
    assert http.post("/issues/search", json={"filter": nested(3)}).status_code == 200
    assert "maximum depth" in error_of(http.post("/issues/search", json={"filter": nested(4)}), 400)


def test_update_validation_and_semantics(http: httpx2.Client, sandbox: Sandbox) -> None:
    issue = http.get("/issues/7").json()["data"]
    path = f"/issues/{issue['id']}"
    assert "invalid state" in error_of(http.patch(path, json={"state": "done"}), 400)
    assert http.patch(path, json={"state": "escalated"}).json()["data"]["state"] == "escalated"  # custom slug
    assert http.patch(path, json={"tags": ["a", "b"]}).json()["data"]["tags"] == ["a", "b"]
    assert http.patch(path, json={"tags": ["c"]}).json()["data"]["tags"] == ["c"]  # replaced, not merged
    user = next(iter(sandbox.store.directory.users))
    assert http.patch(path, json={"assignee_id": user}).json()["data"]["assignee"]["id"] == user
    assert "assignee" not in http.patch(path, json={"assignee_id": ""}).json()["data"]
    # Unknown fields are silently ignored, as Pylon does: priority is not in the PATCH spec.
    before = http.get(path).json()["data"]["custom_fields"]["priority"]
    assert http.patch(path, json={"priority": "urgent"}).status_code == 200
    assert http.get(path).json()["data"]["custom_fields"]["priority"] == before
    assert "not found" in error_of(http.patch("/issues/7", json={"state": "closed"}), 404)  # ID only


def test_ticket_cannot_become_a_conversation(http: httpx2.Client) -> None:
    issue = http.get("/issues/7").json()["data"]
    path = f"/issues/{issue['id']}"
    assert http.patch(path, json={"type": "ticket"}).json()["data"]["type"] == "ticket"
    assert "downgraded" in error_of(http.patch(path, json={"type": "conversation"}), 400)


def test_snooze(http: httpx2.Client) -> None:
    until = rfc(datetime.now(UTC) + timedelta(days=3))
    data = http.post("/issues/7/snooze", json={"snooze_until": until}).json()["data"]
    assert data["state"] == "on_hold" and data["snoozed_until_time"] == until
    assert "required" in error_of(http.post("/issues/7/snooze", json={}), 400)
    assert "future" in error_of(
        http.post("/issues/7/snooze", json={"snooze_until": "2001-01-01T00:00:00Z"}), 400
    )


def test_followers(http: httpx2.Client, sandbox: Sandbox) -> None:
    user = next(iter(sandbox.store.directory.users))
    added = http.post("/issues/7/followers", json={"user_ids": [user]}).json()["data"]
    assert {"id": user, "type": "user"} in added
    assert http.get("/issues/7/followers").json()["data"] == added
    removed = http.post("/issues/7/followers", json={"user_ids": [user], "operation": "remove"}).json()[
        "data"
    ]
    assert {"id": user, "type": "user"} not in removed
    assert "operation" in error_of(http.post("/issues/7/followers", json={"operation": "toggle"}), 400)
    assert "not found" in error_of(http.post("/issues/7/followers", json={"user_ids": ["ghost"]}), 400)


def test_delete(http: httpx2.Client) -> None:
    issue = http.get("/issues/8").json()["data"]
    body = http.delete(f"/issues/{issue['id']}").json()
    assert set(body) == {"request_id"}
    error_of(http.get(f"/issues/{issue['id']}"), 404)
    error_of(http.delete(f"/issues/{issue['id']}"), 404)


# --- search behaviour, against an independent oracle ------------------------------


def all_issues(sandbox: Sandbox) -> list[tuple[dict[str, Any], list[dict[str, str]]]]:
    store = sandbox.store
    records = store.search(lambda _: True, 10_000, None)[0]
    return [(store.to_json(r), [{"id": fid, "type": ftype} for ftype, fid in r.followers]) for r in records]


def search_all(http: httpx2.Client, filter_: dict[str, Any], limit: int = 37) -> list[int]:
    numbers: list[int] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"filter": filter_, "limit": limit}
        if cursor:
            body["cursor"] = cursor
        response = http.post("/issues/search", json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        numbers += [issue["number"] for issue in page["data"]]
        if not page["pagination"]["has_next_page"]:
            return numbers
        cursor = page["pagination"]["cursor"]


def sample_filter(
    field: str, operator: str, issues: list[tuple[dict[str, Any], list[dict[str, str]]]]
) -> dict:
    """A filter for (field, operator) whose value comes from the seeded data."""
    if operator.startswith("time_"):
        moments = sorted(filter(None, (oracle._field(i, f, field) for i, f in issues)))
        low, high = moments[len(moments) // 4], moments[3 * len(moments) // 4]
        if operator == "time_range":
            return {"field": field, "operator": operator, "values": [rfc(low), rfc(high)]}
        return {
            "field": field,
            "operator": operator,
            "value": rfc(high if operator == "time_is_after" else low),
        }
    if operator in ("is_set", "is_unset"):
        return {"field": field, "operator": operator}
    if field in ("title", "body_html"):
        return {"field": field, "operator": operator, "value": "api"}

    def pick(start: int) -> str:
        """The first non-empty value of the field, scanning from issue `start`."""
        for i, f in issues[start:] + issues[:start]:
            value = oracle._field(i, f, field)
            value = value[0] if isinstance(value, list) and value else value
            if value:
                return value
        return "none"

    a, b = pick(17), pick(120)
    if operator in ("in", "not_in"):
        return {"field": field, "operator": operator, "values": [a, b]}
    return {"field": field, "operator": operator, "value": a}


SPEC_PAIRS = [
    (field, op) for field, ops in FIELD_OPERATORS.items() for op in ops if field != "ticket_form_id"
]
CUSTOM_PAIRS = [
    ("priority", "equals"),
    ("priority", "not_equals"),
    ("priority", "in"),
    ("product_area", "not_in"),
    ("affected_regions", "contains"),
    ("affected_regions", "does_not_contain"),
    ("affected_regions", "is_set"),
    ("seats", "is_unset"),
]


@pytest.mark.parametrize(("field", "operator"), SPEC_PAIRS + CUSTOM_PAIRS)
def test_every_field_and_operator_matches_the_oracle(
    http: httpx2.Client, sandbox: Sandbox, field: str, operator: str
) -> None:
    issues = all_issues(sandbox)
    filter_ = sample_filter(field, operator, issues)
    expected = [i["number"] for i, f in issues if oracle.matches(i, f, filter_)]
    assert search_all(http, filter_) == expected
    assert 0 < len(expected) < len(issues) or operator in ("is_set", "is_unset", "not_in", "does_not_contain")


def test_numeric_custom_field_comparisons(http: httpx2.Client, sandbox: Sandbox) -> None:
    issues = all_issues(sandbox)
    for operator in ("greater_than", "less_than", "greater_than_or_equals", "less_than_or_equals"):
        filter_ = {"field": "seats", "operator": operator, "value": "50"}
        expected = [i["number"] for i, f in issues if oracle.matches(i, f, filter_)]
        assert expected and search_all(http, filter_) == expected


def test_ticket_form_filter_is_accepted(http: httpx2.Client) -> None:
    assert search_all(http, {"field": "ticket_form_id", "operator": "is_unset"})


LEAF_FIELDS = ["state", "tags", "account_id", "assignee_id", "title", "created_at", "priority", "issue_type"]


@st.composite
def random_filter(draw: st.DrawFn, issues: list, depth: int = 1) -> dict[str, Any]:
    if depth < 3 and draw(st.booleans()):
        children = draw(st.lists(random_filter(issues, depth + 1), min_size=1, max_size=3))
        return {"operator": draw(st.sampled_from(["and", "or"])), "subfilters": children}
    field = draw(st.sampled_from(LEAF_FIELDS))
    ops = FIELD_OPERATORS.get(field, ("equals", "in", "not_in", "is_set"))
    return sample_filter(field, draw(st.sampled_from(ops)), issues)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_filter_trees_match_the_oracle(
    http: httpx2.Client, sandbox: Sandbox, data: st.DataObject
) -> None:
    issues = all_issues(sandbox)
    filter_ = data.draw(random_filter(issues))
    expected = [i["number"] for i, f in issues if oracle.matches(i, f, filter_)]
    assert search_all(http, filter_, limit=200) == expected


def test_pagination_is_stable_across_page_sizes(http: httpx2.Client) -> None:
    tree = {"field": "state", "operator": "not_in", "values": ["closed"]}
    assert search_all(http, tree, limit=1)[:50] == search_all(http, tree, limit=999)[:50]
    assert search_all(http, tree, limit=7) == search_all(http, tree, limit=999)


def test_new_issue_appears_first_in_search(http: httpx2.Client, sandbox: Sandbox) -> None:
    created = http.post(
        "/issues", json={"title": "brand new", "body_html": "b", "account_id": account(sandbox)}
    )
    number = created.json()["data"]["number"]
    assert search_all(http, {"field": "state", "operator": "equals", "value": "new"})[0] == number


# --- seed data, faults, limits, admin ----------------------------------------------


def test_seed_is_deterministic_for_seed_and_anchor() -> None:
    anchor = datetime(2026, 6, 1, tzinfo=UTC)
    one, two = Sandbox(seed=3, issues=50, anchor=anchor), Sandbox(seed=3, issues=50, anchor=anchor)
    dump = lambda s: [s.store.to_json(s.store.find(str(n))) for n in range(1, 51)]  # noqa: E731
    assert dump(one) == dump(two)
    assert dump(one) != dump(Sandbox(seed=4, issues=50, anchor=anchor))


def test_seed_covers_every_state_and_hostile_content(sandbox: Sandbox) -> None:
    issues = all_issues(sandbox)
    states = {i["state"] for i, _ in issues}
    assert {"new", "waiting_on_you", "waiting_on_customer", "on_hold", "closed"} <= states
    assert states & {"in_progress", "escalated", "pending_release"}
    anchor = datetime.fromtimestamp(sandbox.anchor, UTC)
    created = [datetime.fromisoformat(i["created_at"].replace("Z", "+00:00")) for i, _ in issues]
    assert min(created) >= anchor - timedelta(days=60) and max(created) <= anchor
    assert any(c >= anchor - timedelta(days=7) for c in created)
    bodies = {n: sandbox.store.find(str(n)).body_html for n in HOSTILE_NUMBERS}
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in bodies[13]
    assert "<script>" in bodies[21] and "javascript:" in bodies[55]
    assert len(bodies[89]) > 200_000


def test_rate_limit_answers_429_with_retry_after(http: httpx2.Client, sandbox: Sandbox) -> None:
    sandbox.limiter.configure({"GET /issues/{id}": 2}, window=60)
    assert [http.get("/issues/1").status_code for _ in range(3)] == [200, 200, 429]
    limited = http.get("/issues/1")
    assert "rate limit" in error_of(limited, 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert http.get("/issues/1/followers").status_code == 200  # limits are per endpoint


def test_admin_endpoints_drive_faults_and_logs(http: httpx2.Client, sandbox: Sandbox) -> None:
    assert http.post("/_sandbox/faults", json={"endpoint": "GET /me", "status": 503}).status_code == 200
    assert http.get("/me").status_code == 503
    assert http.get("/me").status_code == 200
    log = http.get("/_sandbox/requests").json()["data"]
    assert [entry["status"] for entry in log] == [503, 200]
    assert all(TOKEN not in str(entry) for entry in log)
    http.post("/_sandbox/config", json={"latency_ms": 1})
    assert sandbox.faults.latency == 0.001
    assert http.post("/_sandbox/reset", json={"issues": 20}).json()["data"]["issues"] == 20
    assert httpx2.get(str(http.base_url) + "/_sandbox/requests").status_code == 401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_cli_sandbox_serves_the_done_when_checks() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylon_mcp", "sandbox", "--port", str(port), "--token", "T", "--issues", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx2.get(f"{base}/issues/1", headers={"Authorization": "Bearer T"})
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, proc.stderr.read1().decode()  # type: ignore[union-attr]
                time.sleep(0.1)
        body = response.json()
        assert body["data"]["number"] == 1 and body["data"]["body_html"] and body["request_id"]
        assert httpx2.get(f"{base}/issues/1").status_code == 401
        bad = httpx2.post(
            f"{base}/issues/search",
            headers={"Authorization": "Bearer T"},
            json={"filter": {"field": "created_at", "operator": "gte", "value": "2026-01-01T00:00:00Z"}},
        )
        assert bad.status_code == 400 and "gte" in bad.json()["errors"][0]
        window = httpx2.get(
            f"{base}/issues",
            headers={"Authorization": "Bearer T"},
            params={"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-03-02T00:00:00Z"},
        )
        assert window.status_code == 400
    finally:
        proc.send_signal(signal.SIGINT if os.name != "nt" else signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.stdout is not None and proc.stdout.read() == b""  # the sandbox talks on stderr only
