"""Change notification: after a write, which resources changed, and who hears of it.

This sits below both the tools (which announce) and the resources (which are announced),
so neither imports the other. Delivery:
- 2026-07-28 clients listen with `subscriptions/listen`; events go through the shared
  state's `SubscriptionBus` (in-process, or Redis pub/sub across replicas: exactly once
  per listener, whichever replica made the write);
- handshake-era clients use `resources/subscribe`, kept per connection. That needs a
  connection that outlives the request: stdio and in-memory sessions have one, stateless
  HTTP does not, so the server does not offer `resources/subscribe` over HTTP.
"""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

from mcp.shared.subscriptions import ResourceUpdated

from pylon_mcp.pylon.models import Issue
from pylon_mcp.shared.base import SharedState

log = logging.getLogger("pylon_mcp.changes")

RECENT_URI = "pylon://issues/recent"
ISSUE_TEMPLATE = "pylon://issues/{issue_id}"
STATE_TEMPLATE = "pylon://issues/state/{state}"
TAG_TEMPLATE = "pylon://issues/tag/{tag}"


def issue_uri(ref: str | int) -> str:
    return f"pylon://issues/{ref}"


def changed_uris(before: Issue | None, after: Issue | None) -> list[str]:
    """Every resource a write from `before` to `after` may have changed."""
    uris = {RECENT_URI}
    for issue in (before, after):
        if issue is None:
            continue
        uris.update(issue_uri(ref) for ref in (issue.number, issue.id) if ref is not None)
        if issue.state:
            uris.add(STATE_TEMPLATE.format(state=issue.state))
        uris.update(TAG_TEMPLATE.format(tag=tag) for tag in issue.tags or [])
    return sorted(uris)


class LegacySubscriptions:
    """Handshake-era `resources/subscribe`: client connection -> subscribed URIs, in this process.

    Weak keys: a connection that ends must not be kept alive by its subscriptions.
    """

    def __init__(self) -> None:
        self._by_connection: WeakKeyDictionary[Any, set[str]] = WeakKeyDictionary()

    def add(self, connection: Any, uri: str) -> None:
        self._by_connection.setdefault(connection, set()).add(uri)

    def remove(self, connection: Any, uri: str) -> None:
        self._by_connection.get(connection, set()).discard(uri)

    async def notify(self, uris: list[str]) -> None:
        for connection, subscribed in list(self._by_connection.items()):
            for uri in [u for u in uris if u in subscribed]:
                try:
                    await connection.outbound.notify("notifications/resources/updated", {"uri": uri})
                except Exception:  # that client has gone away
                    self._by_connection.pop(connection, None)
                    break


async def announce(shared: SharedState, legacy: LegacySubscriptions, before: Issue | None,
                   after: Issue | None) -> None:  # fmt: skip
    """After a write: drop cached listings and tell every subscriber what changed. Never raises."""
    uris = changed_uris(before, after)
    try:
        await shared.listings.clear()
    except Exception:  # a stale listing lives at most PYLON_RESOURCE_TTL; the gate and bus log outages
        log.debug("could not clear cached listings after a write", exc_info=True)
    for uri in uris:
        try:
            await shared.bus.publish(ResourceUpdated(uri=uri))
        except Exception:  # a notification must never fail the write it reports
            log.debug("could not publish update for %s", uri, exc_info=True)
    await legacy.notify(uris)
