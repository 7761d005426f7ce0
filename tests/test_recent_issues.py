"""RecentIssues: what a write may take from answers seen in the last few minutes, and when it forgets."""

from __future__ import annotations

from pylon_mcp.pylon.models import Follower, Issue
from pylon_mcp.recent_issues import ID_TTL, STATE_TTL, RecentIssues


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ids_pass_through_and_numbers_map_to_ids_until_they_expire() -> None:
    clock = Clock()
    recent = RecentIssues(clock)
    assert recent.issue_id("abc-123") == "abc-123"  # an ID needs no lookup
    assert recent.issue_id("7") is None  # a number never seen
    recent.remember([Issue(id="abc-123", number=7, state="new")])
    assert recent.issue_id("7") == "abc-123"
    assert recent.last_seen("abc-123") == Issue(id="abc-123", number=7, state="new")
    clock.now += STATE_TTL + 1
    assert recent.last_seen("abc-123") is None  # a stale state is not a "before"
    assert recent.issue_id("7") == "abc-123"  # the number → ID mapping never changes
    clock.now += ID_TTL
    assert recent.issue_id("7") is None


def test_bounded_and_forgets_deleted_issues() -> None:
    recent = RecentIssues(Clock(), max_issues=3)
    recent.remember([Issue(id=f"id{n}", number=n) for n in range(5)])
    assert [recent.issue_id(str(n)) for n in range(5)] == [None, None, "id2", "id3", "id4"]
    assert recent.last_seen("id0") is None and recent.last_seen("id4") is not None
    recent.forget(Issue(id="id4", number=4))
    assert recent.issue_id("4") is None and recent.last_seen("id4") is None
    for n in range(5):
        recent.remember_followers(f"id{n}", [Follower(id="u", type="user")])
    assert recent.followers("id0") is None and recent.followers("id4") == [Follower(id="u", type="user")]


def test_issues_without_an_id_are_ignored() -> None:
    recent = RecentIssues(Clock())
    recent.remember([Issue(number=5)])
    assert recent.issue_id("5") is None
