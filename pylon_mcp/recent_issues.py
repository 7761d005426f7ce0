"""Issues this server saw in Pylon's answers in the last few minutes, so writes spend fewer requests.

Pylon's rate limits are per organisation and endpoint, shared by every tool and person,
so a write should not spend a GET it can do without:
- a number seen recently maps to its ID (PATCH and the other writes take IDs only);
- the issue as last seen gives the "before" of a write's `before → after` line.

What it remembers is never used to decide *whether* to write: a stale "before" can only
make a confirmation line less exact, never skip a change. Entries expire after
`STATE_TTL` seconds (state) and `ID_TTL` seconds (number → ID, which never changes);
both are per process, and losing them costs one extra request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from pylon_mcp.pylon.models import Follower, Issue

STATE_TTL = 300.0
ID_TTL = 3600.0
MAX_ISSUES = 1000


class RecentIssues:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_issues: int = MAX_ISSUES) -> None:
        self._clock = clock
        self._max = max_issues
        self._by_id: OrderedDict[str, tuple[Issue, float]] = OrderedDict()  # ID -> (issue, seen at)
        self._ids: OrderedDict[str, tuple[str, float]] = OrderedDict()  # number -> (ID, seen at)
        self._followers: dict[str, tuple[list[Follower], float]] = {}

    def remember(self, issues: Iterable[Issue]) -> None:
        now = self._clock()
        for issue in issues:
            if not issue.id:
                continue
            self._by_id[issue.id] = (issue, now)
            self._by_id.move_to_end(issue.id)
            if issue.number is not None:
                self._ids[str(issue.number)] = (issue.id, now)
                self._ids.move_to_end(str(issue.number))
        while len(self._by_id) > self._max:
            old_id, _ = self._by_id.popitem(last=False)
            self._followers.pop(old_id, None)
        while len(self._ids) > self._max:
            self._ids.popitem(last=False)

    def remember_followers(self, issue_id: str, followers: list[Follower]) -> None:
        self._followers.pop(issue_id, None)
        self._followers[issue_id] = (list(followers), self._clock())
        while len(self._followers) > self._max:  # dicts keep insertion order: drop the oldest
            self._followers.pop(next(iter(self._followers)))

    def forget(self, issue: Issue) -> None:
        if issue.id:
            self._by_id.pop(issue.id, None)
            self._followers.pop(issue.id, None)
        if issue.number is not None:
            self._ids.pop(str(issue.number), None)

    def issue_id(self, ref: str) -> str | None:
        """The ID for `ref`: itself when it is an ID, the remembered ID of a number, or None."""
        if not ref.isdigit():
            return ref
        entry = self._ids.get(ref)
        if entry is None or self._clock() - entry[1] > ID_TTL:
            return None
        return entry[0]

    def last_seen(self, issue_id: str) -> Issue | None:
        """The issue as Pylon last showed it to this server, if that was within STATE_TTL."""
        entry = self._by_id.get(issue_id)
        if entry is None or self._clock() - entry[1] > STATE_TTL:
            return None
        return entry[0]

    def followers(self, issue_id: str) -> list[Follower] | None:
        entry = self._followers.get(issue_id)
        if entry is None or self._clock() - entry[1] > STATE_TTL:
            return None
        return entry[0]
