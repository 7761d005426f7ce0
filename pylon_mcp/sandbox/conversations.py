"""Conversations by issue in the sandbox's store, and the spec's `Message` wire shape."""

from __future__ import annotations

import random
import threading
from typing import Any

from pylon_mcp.sandbox.conversation_seed import Conversation, MessageRecord, seed_conversation
from pylon_mcp.sandbox.records import IssueRecord, rfc3339
from pylon_mcp.sandbox.seed import Directory, new_id

MESSAGES_PAGE_SIZE = 100


class ConversationBook:
    """Conversations by issue ID, built on first access (see conversation_seed)."""

    def __init__(self, *, seed: int, seeded_issues: int, directory: Directory) -> None:
        self.seed = seed
        self.seeded_issues = seeded_issues
        self.directory = directory
        self.page_size = MESSAGES_PAGE_SIZE
        self._by_issue: dict[str, Conversation] = {}
        self._lock = threading.RLock()
        self._ids = random.Random(seed ^ 0xC0FFEE)  # runtime IDs never shift seeded ones

    def of(self, record: IssueRecord) -> Conversation:
        with self._lock:
            found = self._by_issue.get(record.id)
            if found is None:
                seeded = record.number <= self.seeded_issues
                found = seed_conversation(record, self.directory, self.seed, seeded=seeded)
                self._by_issue[record.id] = found
            return found

    def new_id(self) -> str:
        with self._lock:
            return new_id(self._ids)

    def message_json(self, message: MessageRecord) -> dict[str, Any]:
        """The spec's `Message`; absent values omitted."""
        out: dict[str, Any] = {
            "id": message.id,
            "message_html": message.html,
            "is_private": message.is_private,
            "source": message.source,
            "timestamp": rfc3339(message.timestamp),
        }
        people = self.directory.contacts if message.author_kind == "contact" else self.directory.users
        person = people.get(message.author_id)
        if person is not None:
            out["author"] = {
                "name": person.name,
                "avatar_url": f"https://avatars.sandbox.example/{person.id}.png",
                message.author_kind: {"id": person.id, "email": person.email},
            }
        if message.thread_id:
            out["thread_id"] = message.thread_id
        if message.email:
            out["email_info"] = dict(message.email)
        if message.file_urls:
            out["file_urls"] = list(message.file_urls)
        return out
