"""The sandbox's state and every operation on it, free of HTTP.

Handlers in `app.py` parse and check requests, then call these methods. All
mutation happens under one lock because tests poke at the store from their own
thread while the server thread serves.
"""

from __future__ import annotations

import base64
import bisect
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from pylon_mcp.sandbox import account_seed
from pylon_mcp.sandbox.conversations import ConversationBook
from pylon_mcp.sandbox.knowledge_seed import KnowledgeBook, build_knowledge
from pylon_mcp.sandbox.records import IssueRecord, Person, issue_json
from pylon_mcp.sandbox.seed import Directory, build_directory, new_id, seed_issues


class NotFound(Exception):
    pass


class Store:
    def __init__(self, *, seed: int, issues: int, anchor: float) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self._rng = random.Random(seed)
        self.directory: Directory = build_directory(self._rng)
        self._by_id: dict[str, IssueRecord] = {}
        self._by_number: dict[int, IssueRecord] = {}
        self._order: list[IssueRecord] = []  # newest first
        self._keys: list[tuple[float, int]] = []  # sort keys of _order, ascending
        seeded = seed_issues(self.directory, self._rng, issues, anchor)
        account_seed.enrich(self.directory, seeded, seed=seed, anchor=anchor)  # its own random stream
        for record in reversed(seeded):
            self._by_id[record.id] = record
            self._by_number[record.number] = record
            self._order.append(record)
            self._keys.append(record.sort_key)
        self._next_number = issues + 1
        # Pylon's spec states no order for search results; "shuffled" serves each page in a
        # (reproducible) scrambled order, so tests can check we sort what we show.
        self.page_order: str = "newest"
        # IDs minted at runtime come from their own stream, so seeded data never shifts.
        self._id_rng = random.Random(seed ^ 0x5EED)
        self.conversations = ConversationBook(seed=seed, seeded_issues=issues, directory=self.directory)
        self._anchor = anchor
        self._knowledge: KnowledgeBook | None = None

    @property
    def knowledge(self) -> KnowledgeBook:
        """Knowledge bases, macros and feature requests, built on first use (most tests never ask)."""
        with self.lock:
            if self._knowledge is None:
                self._knowledge = build_knowledge(self.seed, self._anchor)
            return self._knowledge

    # --- lookups --------------------------------------------------------------

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.directory.states)

    def __len__(self) -> int:
        return len(self._order)

    def find(self, ref: str, *, allow_number: bool = True) -> IssueRecord:
        with self.lock:
            record = self._by_id.get(ref)
            if record is None and allow_number and ref.isdigit():
                record = self._by_number.get(int(ref))
            if record is None:
                raise NotFound(ref)
            return record

    def to_json(self, record: IssueRecord) -> dict[str, Any]:
        d = self.directory
        return issue_json(record, d.users, d.contacts, d.custom_fields)

    def contact_by_email(self, email: str) -> Person | None:
        lowered = email.lower()
        for contact in self.directory.contacts.values():
            if contact.email.lower() == lowered:
                return contact
        return None

    # --- listing and search ---------------------------------------------------

    def created_between(self, start: float, end: float) -> list[IssueRecord]:
        with self.lock:
            lo = bisect.bisect_left(self._keys, (-end, -(2**62)))
            hi = bisect.bisect_right(self._keys, (-start, 2**62))
            return self._order[lo:hi]

    def search(
        self, predicate: Callable[[IssueRecord], bool], limit: int, cursor: str | None
    ) -> tuple[list[IssueRecord], str | None]:
        """Up to `limit` matches after `cursor`, and the cursor for the next page (None at the end).

        The cursor is the sort key of the last issue returned, so a page costs only
        the scan from there: paging through 100k issues stays linear overall.
        """
        with self.lock:
            start = 0 if cursor is None else bisect.bisect_right(self._keys, decode_cursor(cursor))
            found: list[IssueRecord] = []
            position = start
            for position in range(start, len(self._order)):
                record = self._order[position]
                if predicate(record):
                    found.append(record)
                    if len(found) == limit:
                        break
            else:
                return self._arranged(found), None
            more = any(predicate(r) for r in self._order[position + 1 :])
            return self._arranged(found), encode_cursor(found[-1].sort_key) if more else None

    def _arranged(self, page: list[IssueRecord]) -> list[IssueRecord]:
        if self.page_order == "shuffled":
            random.Random(len(page)).shuffle(page)
        return page

    # --- writes ---------------------------------------------------------------

    def create(self, **fields: Any) -> IssueRecord:
        with self.lock:
            now = time.time()
            created = fields.pop("created_at", None) or now
            record = IssueRecord(
                id=new_id(self._id_rng),
                number=self._next_number,
                created_at=created,
                updated_at=now,
                latest_message_time=created,
                state="new",
                type="conversation",
                source="manual",
                number_of_touches=1,
                **fields,
            )
            self._next_number += 1
            self._insert(record)
            return record

    def add_contact(self, email: str, name: str | None, account_id: str | None) -> Person:
        with self.lock:
            contact = Person(
                id=new_id(self._id_rng), name=name or email.split("@")[0], email=email, account_id=account_id
            )
            self.directory.contacts[contact.id] = contact
            return contact

    def touch(self, record: IssueRecord) -> None:
        record.updated_at = max(time.time(), record.updated_at)
        record.number_of_touches += 1

    def delete(self, record: IssueRecord) -> None:
        with self.lock:
            self._by_id.pop(record.id, None)
            self._by_number.pop(record.number, None)
            index = bisect.bisect_left(self._keys, record.sort_key)
            if index < len(self._order) and self._order[index] is record:
                del self._order[index]
                del self._keys[index]

    def set_followers(self, record: IssueRecord, followers: Iterable[tuple[str, str]]) -> None:
        with self.lock:
            record.followers = list(followers)
            self.touch(record)

    def _insert(self, record: IssueRecord) -> None:
        self._by_id[record.id] = record
        self._by_number[record.number] = record
        index = bisect.bisect_left(self._keys, record.sort_key)
        self._keys.insert(index, record.sort_key)
        self._order.insert(index, record)


def encode_cursor(key: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]!r}:{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, number = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
        return (float(created), int(number))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
