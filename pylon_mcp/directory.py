"""The directory: names and emails in, IDs out, and back. The one place that caches people and accounts.

- Users, teams, statuses, tags and custom-field definitions are small and change
  slowly: each is one list request, loaded on first use, kept for `ttl` seconds,
  and reloaded once on a miss (someone was just added) when older than `refresh_after`.
- Accounts and contacts can be many: they are looked up on demand through a
  bounded LRU. Lookups by ID made in the same moment share one `in` search per
  endpoint, and identical lookups in flight share one request.
- Resolution never guesses: an exact name, email, domain or ID, or a unique
  whole-word match ("Sam"). Several matches or none raise `NotResolved`, which
  lists the candidates or the closest names.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pylon_mcp.pylon.client import PylonClient
from pylon_mcp.pylon.directory import Account, Contact, CustomFieldDefinition, IssueStatus, Tag, Team, User
from pylon_mcp.pylon.errors import PylonError
from pylon_mcp.pylon.models import BASE_STATES, Filter, Follower, Issue
from pylon_mcp.render.text import inline, one_line, strip_invisible

T = TypeVar("T")
Kind = Literal["user", "team", "account", "contact", "status", "tag", "field"]
KINDS: tuple[str, ...] = ("user", "team", "account", "contact", "status", "tag", "field")

BATCH_MAX = 100  # IDs per `in` search
SHOWN = ("accounts", "teams", "users", "fields")  # what one issue's text names
LISTED = ("accounts", "users")  # what a line of a search result names
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OPAQUE_ID = re.compile(r"^(?=.*\d)[A-Za-z0-9_\-]{16,128}$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def looks_like_id(value: str) -> bool:
    """A Pylon ID (UUIDs in practice): passed through without a lookup. Names have spaces or no digits."""
    return bool(_UUID.match(value) or _OPAQUE_ID.match(value))


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry as a model reads it."""

    kind: str
    id: str
    name: str
    detail: str | None = None  # email, domain, status category, field type/options

    def line(self) -> str:
        # Names, tags and details are typed by people (tags and statuses in Pylon's UI, accounts and
        # contacts by customers): each is shown as one token or JSON-quoted, never as a line of its own.
        name, detail, ident = inline(self.name), inline(self.detail) if self.detail else None, inline(self.id)
        if self.kind in ("user", "contact"):
            who = f"{name} <{detail}>" if detail and self.name != self.detail else name
        elif self.kind == "account":
            who = f"{name} ({detail})" if detail else name
        elif self.kind == "status":
            return f"{name} · slug {ident}" + (f" · category {detail}" if detail else "")
        elif self.kind == "tag":
            return name
        elif self.kind == "field":
            return f"{name} · slug {ident}" + (f" · {detail}" if detail else "")
        else:
            who = name
        return f"{who} · {ident}"

    def as_dict(self) -> dict[str, str]:
        out = {"id": self.id, "name": self.name}
        if self.detail:
            key = {"user": "email", "contact": "email", "account": "domain", "status": "category"}.get(
                self.kind, "detail"
            )
            out[key] = self.detail
        return out


class NotResolved(Exception):
    """A name that matched several entries or none. The message is written for a model."""

    def __init__(self, kind: str, query: str, candidates: Sequence[Entry], *, ambiguous: bool, hint: str = "",
                 heading: str = "Closest") -> None:  # fmt: skip
        self.kind, self.query, self.candidates, self.ambiguous = kind, query, list(candidates), ambiguous
        shown = "; ".join(entry.line() for entry in self.candidates[:12])
        if ambiguous:
            text = f"{query!r} matches {len(self.candidates)} {kind}s: {shown}. Give the email or ID of one."
        elif shown:
            text = f"no {kind} is called {query!r}. {heading}: {shown}."
        else:
            how = f" {hint}" if hint else f" find(kind={kind!r}, query=part of a name) looks them up."
            text = f"no {kind} matches {query!r}.{how}"
        super().__init__(text)


def clean(text: str | None) -> str:
    """One line, no invisible characters: names come from Pylon (and contacts from customers) and are
    printed outside any quote, so none may start a line of its own."""
    return one_line(strip_invisible(text or ""), 200)


def user_entry(user: User) -> Entry:
    return Entry("user", clean(user.id), clean(user.name or user.email), clean(user.email) or None)


def team_entry(team: Team) -> Entry:
    return Entry("team", clean(team.id), clean(team.name))


def account_entry(account: Account) -> Entry:
    domain = account.primary_domain or account.domain or next(iter(account.domains or []), None)
    return Entry("account", clean(account.id), clean(account.name), clean(domain) or None)


def contact_entry(contact: Contact) -> Entry:
    return Entry(
        "contact", clean(contact.id), clean(contact.name or contact.email), clean(contact.email) or None
    )


def status_entry(status: IssueStatus) -> Entry:
    return Entry(
        "status", clean(status.slug), clean(status.label or status.slug), clean(status.category) or None
    )


def field_entry(definition: CustomFieldDefinition) -> Entry:
    options = (
        [o.label or o.slug or "" for o in (definition.select_metadata.options or [])]
        if (definition.select_metadata)
        else []
    )
    detail = (definition.type or "") + (f": {', '.join(options)}" if options else "")
    return Entry(
        "field", clean(definition.slug), clean(definition.label or definition.slug), clean(detail) or None
    )


# --- caching primitives ------------------------------------------------------------------------

_RUNNING: set[asyncio.Task[Any]] = set()  # strong references: the loop keeps only weak ones


def _shared(coro: Awaitable[T]) -> asyncio.Task[T]:
    """Run a lookup as its own task, so one caller giving up (a timeout) neither cancels it for the others
    nor wastes it: its answer still fills the cache."""
    task: asyncio.Task[T] = asyncio.ensure_future(coro)
    _RUNNING.add(task)

    def done(finished: asyncio.Task[T]) -> None:
        _RUNNING.discard(finished)
        if not finished.cancelled():
            finished.exception()  # retrieved: a failure nobody waited for is not logged as lost

    task.add_done_callback(done)
    return task


class _Cached(Generic[T]):
    """A small list from one endpoint: loaded lazily, kept `ttl` seconds, one load in flight at a time."""

    def __init__(self, load: Callable[[], Awaitable[T]], ttl: float, clock: Callable[[], float]) -> None:
        self._load, self._ttl, self._clock = load, ttl, clock
        self.value: T | None = None
        self.loaded_at = -1e18
        self._inflight: asyncio.Task[T] | None = None

    def fresh(self) -> T | None:
        """The value if loaded and not expired; never a request."""
        return self.value if self._clock() - self.loaded_at < self._ttl else None

    async def get(self, *, max_age: float | None = None) -> T:
        age = self._clock() - self.loaded_at
        if self.value is not None and age < self._ttl and (max_age is None or age < max_age):
            return self.value
        if self._inflight is None:
            self._inflight = _shared(self._refresh())
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> T:
        try:
            value = await self._load()
        finally:
            self._inflight = None
        self.value, self.loaded_at = value, self._clock()
        return value

    def clear(self) -> None:
        self.value, self.loaded_at = None, -1e18


class _LRU(Generic[T]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()

    def get(self, key: str) -> T | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: T) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def values(self) -> list[T]:
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


class _Batcher(Generic[T]):
    """Lookups by ID: those asked for in the same moment go out as one `in` search; none is asked twice."""

    def __init__(
        self, fetch: Callable[[list[str]], Awaitable[list[T]]], key: Callable[[T], str | None]
    ) -> None:
        self._fetch, self._key = fetch, key
        self._inflight: dict[str, asyncio.Future[T | None]] = {}
        self._pending: list[str] = []
        self._leader = False

    async def get(self, ids: Iterable[str]) -> dict[str, T | None]:
        loop = asyncio.get_running_loop()
        mine: dict[str, asyncio.Future[T | None]] = {}
        for ref in dict.fromkeys(ids):
            future = self._inflight.get(ref)
            if future is None:
                future = self._inflight[ref] = loop.create_future()
                self._pending.append(ref)
            mine[ref] = future
        if self._pending and not self._leader:
            self._leader = True
            _shared(self._collect())
        return {ref: await asyncio.shield(future) for ref, future in mine.items()}

    async def _collect(self) -> None:
        try:
            await asyncio.sleep(0)  # let lookups started in the same moment join this batch
        finally:
            batch, self._pending, self._leader = self._pending, [], False
        await self._run(batch)

    def _fail(self, refs: list[str], exc: BaseException) -> None:
        error = exc if isinstance(exc, Exception) else PylonError("directory lookup cancelled")
        for ref in refs:
            future = self._inflight.pop(ref, None)
            if future is not None and not future.done():
                future.set_exception(error)
                future.exception()  # marked retrieved; waiters still receive it

    async def _run(self, batch: list[str]) -> None:
        for start in range(0, len(batch), BATCH_MAX):
            chunk = batch[start : start + BATCH_MAX]
            try:
                found = {self._key(item): item for item in await self._fetch(chunk)}
            except BaseException as exc:
                self._fail(batch[start:], exc)
                raise
            for ref in chunk:
                future = self._inflight.pop(ref, None)
                if future is not None and not future.done():
                    future.set_result(found.get(ref))


# --- names for rendering ---------------------------------------------------------------------------


@dataclass
class Names:
    """What the directory could tell about the people, teams, accounts and fields of some issues."""

    users: dict[str, Entry] = field(default_factory=dict)
    teams: dict[str, Entry] = field(default_factory=dict)
    accounts: dict[str, Entry] = field(default_factory=dict)
    fields: dict[str, CustomFieldDefinition] = field(default_factory=dict)
    contacts: dict[str, Entry] = field(default_factory=dict)
    note: str | None = None  # one short line when a lookup failed

    def user(self, user_id: str | None) -> Entry | None:
        """A user as shown: `name` is the name, or the email when another user has the same name."""
        return self.users.get(user_id or "")

    def person(self, kind: str | None, person_id: str | None) -> str | None:
        """How one person is shown: a user by name (email when the name is shared), a contact by email."""
        entry = (self.contacts if kind == "contact" else self.users).get(person_id or "")
        if entry is None:
            return None
        return (entry.detail or entry.name) if kind == "contact" else entry.name

    def team(self, team_id: str | None) -> str | None:
        entry = self.teams.get(team_id or "")
        return entry.name if entry else None

    def account(self, account_id: str | None) -> Entry | None:
        return self.accounts.get(account_id or "")

    def field_label(self, slug: str) -> str:
        definition = self.fields.get(slug)
        return clean(definition.label or slug) if definition else slug

    def option_label(self, slug: str, value: str) -> str:
        definition = self.fields.get(slug)
        if definition is None or definition.select_metadata is None:
            return value
        for option in definition.select_metadata.options or []:
            if option.slug == value:
                return clean(option.label) or value
        return value


# --- the directory ----------------------------------------------------------------------------------


class Directory:
    def __init__(
        self,
        pylon: PylonClient,
        *,
        ttl: float = 600.0,
        refresh_after: float = 30.0,
        lru_size: int = 5000,
        names_timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pylon = pylon
        self.ttl = ttl
        self.refresh_after = refresh_after
        self.names_timeout = names_timeout
        self._users = _Cached(pylon.list_users, ttl, clock)
        self._teams = _Cached(pylon.list_teams, ttl, clock)
        self._statuses = _Cached(pylon.list_issue_statuses, ttl, clock)
        self._tags = _Cached(pylon.list_tags, ttl, clock)
        self._fields = _Cached(pylon.list_custom_fields, ttl, clock)
        # Account and contact field definitions: labels for the customer cards.
        self._customer_fields = {
            kind: _Cached(lambda kind=kind: pylon.list_custom_fields(kind), ttl, clock)  # type: ignore[misc]
            for kind in ("account", "contact")
        }
        # When each account or contact was last read from Pylon: a card reuses a copy this fresh.
        self._seen_at: _LRU[float] = _LRU(2 * lru_size)
        self._accounts: _LRU[Account] = _LRU(lru_size)
        self._contacts: _LRU[Contact] = _LRU(lru_size)
        self._account_ids = _Batcher(self._fetch_accounts, lambda a: a.id)
        self._contact_ids = _Batcher(self._fetch_contacts, lambda c: c.id)
        self._queries: dict[tuple[str, str], asyncio.Task[list[Any]]] = {}
        # Answers to account searches, briefly: a model (or a completion) asking again costs nothing.
        self._account_answers: _LRU[tuple[float, list[Account]]] = _LRU(200)
        self._clock = clock

    # --- small lists ------------------------------------------------------------------

    async def users(self, *, max_age: float | None = None) -> list[User]:
        return await self._users.get(max_age=max_age)

    async def teams(self, *, max_age: float | None = None) -> list[Team]:
        return await self._teams.get(max_age=max_age)

    async def statuses(self, *, max_age: float | None = None) -> list[IssueStatus]:
        return await self._statuses.get(max_age=max_age)

    async def tags(self, *, max_age: float | None = None) -> list[Tag]:
        return await self._tags.get(max_age=max_age)

    async def custom_fields(self, *, max_age: float | None = None) -> list[CustomFieldDefinition]:
        return await self._fields.get(max_age=max_age)

    async def customer_fields(
        self, object_type: Literal["account", "contact"]
    ) -> list[CustomFieldDefinition]:
        """Custom-field definitions of accounts or contacts (labels and option labels), cached like the others."""
        return await self._customer_fields[object_type].get()

    def remember_account(self, account: Account) -> None:
        if account.id:
            self._accounts.put(account.id, account)
            self._seen_at.put(f"account:{account.id}", self._clock())

    def remember_contact(self, contact: Contact) -> None:
        if contact.id:
            self._contacts.put(contact.id, contact)
            self._seen_at.put(f"contact:{contact.id}", self._clock())

    def recent_account(self, account_id: str, *, max_age: float | None = None) -> Account | None:
        """The account as read from Pylon in the last `max_age` (default `refresh_after`) seconds, or None.
        Never a request."""
        return self._recent("account", account_id, self._accounts, max_age)

    def recent_contact(self, contact_id: str) -> Contact | None:
        return self._recent("contact", contact_id, self._contacts, None)

    def _recent(self, kind: str, ref: str, items: _LRU[Any], max_age: float | None) -> Any:
        seen = self._seen_at.get(f"{kind}:{ref}")
        if seen is None or self._clock() - seen >= (self.refresh_after if max_age is None else max_age):
            return None
        return items.get(ref)

    def cached_users(self) -> list[User] | None:
        """The users list if it is loaded and fresh; never a request."""
        return self._users.fresh()

    async def user_by_email(self, email: str) -> User | None:
        """The Pylon user with this email (primary or other), or None. For mapping a signed-in caller.

        Raises PylonError when Pylon cannot be asked."""
        wanted = email.strip().casefold()
        for max_age in (None, self.refresh_after):
            for user in await self.users(max_age=max_age):
                if wanted in {e.casefold() for e in [user.email or "", *(user.emails or [])] if e}:
                    return user
        return None

    # --- accounts and contacts by ID ------------------------------------------------------

    async def _fetch_accounts(self, ids: list[str]) -> list[Account]:
        page = await self.pylon.search_accounts(Filter(field="id", operator="in", values=ids), limit=len(ids))
        for account in page.items:
            self.remember_account(account)
        return page.items

    async def _fetch_contacts(self, ids: list[str]) -> list[Contact]:
        page = await self.pylon.search_contacts(Filter(field="id", operator="in", values=ids), limit=len(ids))
        for contact in page.items:
            self.remember_contact(contact)
        return page.items

    async def accounts(self, ids: Iterable[str]) -> dict[str, Account]:
        wanted = [i for i in dict.fromkeys(ids) if i]
        out = {i: a for i in wanted if (a := self._accounts.get(i)) is not None}
        missing = [i for i in wanted if i not in out]
        if missing:
            out.update({i: a for i, a in (await self._account_ids.get(missing)).items() if a is not None})
        return out

    async def contacts(self, ids: Iterable[str]) -> dict[str, Contact]:
        wanted = [i for i in dict.fromkeys(ids) if i]
        out = {i: c for i in wanted if (c := self._contacts.get(i)) is not None}
        missing = [i for i in wanted if i not in out]
        if missing:
            out.update({i: c for i, c in (await self._contact_ids.get(missing)).items() if c is not None})
        return out

    async def _once(self, key: tuple[str, str], run: Callable[[], Awaitable[list[Any]]]) -> list[Any]:
        """Identical searches in flight share one request."""
        inflight = self._queries.get(key)
        if inflight is None:

            async def first() -> list[Any]:
                try:
                    return await run()
                finally:
                    self._queries.pop(key, None)

            inflight = self._queries[key] = _shared(first())
        return await asyncio.shield(inflight)

    async def search_accounts(self, query: str) -> list[Account]:
        """Accounts whose name contains `query`, that own the domain `query`, or whose external ID it is
        (one request)."""
        q = query.strip()
        domain = q.split("@", 1)[1] if "@" in q else q
        conditions = [Filter(field="name", operator="string_contains", value=q)]
        if _DOMAIN.match(domain.lower()):
            conditions.insert(0, Filter(field="domains", operator="contains", value=domain.lower()))
        elif " " not in q:  # an external ID (a CRM's) is one token
            conditions.append(Filter(field="external_ids", operator="equals", value=q))
        filter = conditions[0] if len(conditions) == 1 else Filter(operator="or", subfilters=conditions)

        key = q.casefold()
        remembered = self._account_answers.get(key)
        if remembered is not None and self._clock() - remembered[0] < self.refresh_after:
            return remembered[1]

        async def run() -> list[Account]:
            page = await self.pylon.search_accounts(filter, limit=50)
            for account in page.items:
                self.remember_account(account)
            self._account_answers.put(key, (self._clock(), page.items))
            return page.items

        return await self._once(("account", key), run)

    async def search_contacts(self, query: str, *, account_id: str | None = None) -> list[Contact]:
        """Contacts by email (exact, or containing `query`), or all contacts of one account."""
        q = query.strip()
        if account_id:
            filter = Filter(field="account_id", operator="equals", value=account_id)
        elif "@" in q:
            filter = Filter(field="email", operator="in", values=list(dict.fromkeys([q, q.lower()])))
        else:
            filter = Filter(field="email", operator="string_contains", value=q.lower().replace(" ", "."))

        async def run() -> list[Contact]:
            page = await self.pylon.search_contacts(filter, limit=100)
            for contact in page.items:
                self.remember_contact(contact)
            return page.items

        return await self._once(("contact", f"{account_id or ''}|{q.casefold()}"), run)

    # --- names in -----------------------------------------------------------------------------

    async def resolve(self, kind: Kind, query: str, *, account_id: str | None = None) -> str:
        """The ID that `query` (an ID, email, exact name, domain or unique word) means, or NotResolved."""
        q = query.strip()
        if kind in ("user", "team", "account", "contact") and looks_like_id(q):
            return q
        if kind == "user":
            return (await self._resolve_listed(kind, q, [user_entry(u) for u in await self.users()],
                                               lambda: self._fresh_users())).id  # fmt: skip
        if kind == "team":
            return (await self._resolve_listed(kind, q, [team_entry(t) for t in await self.teams()],
                                               lambda: self._fresh_teams())).id  # fmt: skip
        if kind == "account":
            accounts = await self.search_accounts(q)
            external = [a for a in accounts if any(e.external_id == q for e in a.external_ids or [])]
            if len(external) == 1:  # an external ID names one account (the spec: unique per object type)
                return clean(external[0].id)
            found = [account_entry(a) for a in accounts]
            domain = (q.split("@", 1)[1] if "@" in q else q).casefold()
            by_domain = [e for e in found if (e.detail or "").casefold() == domain]
            if by_domain:  # an exact domain (or an email's domain) outranks names containing it
                return _pick(kind, domain, by_domain, by_domain).id
            return _pick(kind, q, found, [account_entry(a) for a in self._accounts.values()]).id
        if kind == "contact":
            if "@" in q:
                found = [contact_entry(c) for c in await self.search_contacts(q)]
                hint = "Check the email; a new customer's email goes in create_issue's requester_email."
                return _pick(kind, q, found, [], hint=hint).id
            pool = (
                [contact_entry(c) for c in await self.search_contacts(q, account_id=account_id)]
                if account_id
                else [contact_entry(c) for c in self._contacts.values()]
            )
            return _pick(
                kind, q, pool, pool, hint="Give the contact's email: Pylon finds contacts by email."
            ).id
        raise ValueError(kind)

    async def _fresh_users(self) -> list[Entry]:
        return [user_entry(u) for u in await self.users(max_age=self.refresh_after)]

    async def _fresh_teams(self) -> list[Entry]:
        return [team_entry(t) for t in await self.teams(max_age=self.refresh_after)]

    async def _resolve_listed(self, kind: str, q: str, entries: list[Entry],
                              refresh: Callable[[], Awaitable[list[Entry]]]) -> Entry:  # fmt: skip
        if any(e.id == q for e in entries):
            return next(e for e in entries if e.id == q)
        try:
            return _pick(kind, q, entries, entries)
        except NotResolved as exc:
            if exc.ambiguous:
                raise
        # Not there: someone may have just been added. Reload once (if not loaded moments ago).
        entries = await refresh()
        return _pick(kind, q, entries, entries)

    async def resolve_state(self, value: str) -> str:
        """A status slug from a slug or a label (case-insensitive); base states need no request."""
        q = value.strip()
        if q in BASE_STATES:
            return q
        try:
            statuses = await self.statuses()
        except PylonError:
            return q  # can't check here: Pylon will
        entries = [status_entry(s) for s in statuses if not s.is_archived]
        for entry in entries:
            if q == entry.id or q.casefold() in (entry.id.casefold(), entry.name.casefold()):
                return entry.id
        raise NotResolved("status", q, entries, ambiguous=False, heading="This organisation's statuses")

    # --- lookup (the find tool) ---------------------------------------------------------------

    async def find(self, kind: Kind, query: str, limit: int = 10) -> list[Entry]:
        q = query.strip()
        everything = q == "*"
        if kind == "account":
            found = [account_entry(a) for a in await self.search_accounts(q)] if not everything else []
        elif kind == "contact":
            found = [contact_entry(c) for c in await self.search_contacts(q)] if not everything else []
        else:
            entries = await self._listed(kind)
            found = entries if everything else _search_entries(q, entries)
        return found[:limit]

    async def _listed(self, kind: str) -> list[Entry]:
        if kind == "user":
            return [user_entry(u) for u in await self.users()]
        if kind == "team":
            return [team_entry(t) for t in await self.teams()]
        if kind == "status":
            return [status_entry(s) for s in await self.statuses() if not s.is_archived]
        if kind == "tag":
            return [Entry("tag", t.id or t.value or "", t.value or "") for t in await self.tags()]
        if kind == "field":
            return [field_entry(d) for d in await self.custom_fields()]
        raise ValueError(kind)

    def cached_entries(self, kind: str) -> list[Entry] | None:
        """Entries already loaded (no request), for completions that must stay cheap."""
        if kind == "account":
            return [account_entry(a) for a in self._accounts.values()]
        cached = {"user": self._users, "team": self._teams, "status": self._statuses, "tag": self._tags,
                  "field": self._fields}[kind].fresh()  # fmt: skip
        return None if cached is None else _entries(kind, cached)

    # --- names out ----------------------------------------------------------------------------

    async def names(
        self,
        issues: Sequence[Issue],
        *,
        shows: Collection[str] = SHOWN,
        followers: Sequence[Follower] = (),
    ) -> Names:
        """Names for these issues (and followers): from the cache, loading what is missing.

        Only what the caller `shows` is looked up (search lines show accounts and assignees). The
        missing lists are loaded together, in parallel, so the first answer of a fresh server shows
        names too; each is cached for `ttl`, so a warm read costs none. A failed or slow lookup
        leaves IDs in place and a one-line note."""
        account_ids = (
            {i.account.id for i in issues if i.account and i.account.id} if "accounts" in shows else set()
        )
        team_ids = {i.team.id for i in issues if i.team and i.team.id} if "teams" in shows else set()
        user_ids = (
            {i.assignee.id for i in issues if i.assignee and i.assignee.id} if "users" in shows else set()
        )
        user_ids |= {f.id for f in followers if f.id and f.type != "contact"}
        contact_ids = {f.id for f in followers if f.id and f.type == "contact"}
        slugs = (
            {
                slug for i in issues for slug in (i.custom_fields or {}) if slug != "priority"
            }  # priority shows as is
            if "fields" in shows
            else set()
        )
        wants: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
        if any(self._accounts.get(a) is None for a in account_ids):
            wants.append(("accounts", lambda: self.accounts(account_ids)))
        if team_ids and self._teams.fresh() is None:
            wants.append(("teams", self.teams))
        if user_ids and self._users.fresh() is None:
            wants.append(("users", self.users))
        if slugs and self._fields.fresh() is None:
            wants.append(("custom fields", self.custom_fields))
        if any(self._contacts.get(c) is None for c in contact_ids):
            wants.append(("contacts", lambda: self.contacts(contact_ids)))
        failed: dict[str, str] = {}

        async def load(what: str, loader: Callable[[], Awaitable[Any]]) -> None:
            try:
                async with asyncio.timeout(self.names_timeout):  # a slow directory must not hold up a read
                    await loader()
            except (PylonError, TimeoutError) as exc:
                status = getattr(exc, "status", None)
                failed[what] = (
                    f"HTTP {status}"
                    if status
                    else ("timed out" if isinstance(exc, TimeoutError) else "failed")
                )

        if wants:
            await asyncio.gather(*(load(what, loader) for what, loader in wants))
        out = Names(note=_failure_note(failed))
        for account_id in account_ids:
            account = self._accounts.get(account_id)
            if account is not None:
                out.accounts[account_id] = account_entry(account)
        for team in self._teams.fresh() or []:
            if team.id in team_ids:
                out.teams[team.id] = team_entry(team)
        users = self._users.fresh() or []
        # A name stands in for a user only when it names one user; otherwise the email shows.
        taken = Counter((u.name or "").casefold() for u in users)
        for user in users:
            if user.id in user_ids and user.name and taken[user.name.casefold()] == 1:
                out.users[user.id] = user_entry(user)
            elif user.id in user_ids and user.email:  # a shared (or no) name: the email tells them apart
                out.users[user.id] = Entry("user", clean(user.id), clean(user.email), clean(user.email))
        for contact_id in contact_ids:
            contact = self._contacts.get(contact_id)
            if contact is not None:
                out.contacts[contact_id] = contact_entry(contact)
        out.fields = {d.slug: d for d in self._fields.fresh() or [] if d.slug in slugs}
        return out


def _failure_note(failed: dict[str, str]) -> str | None:
    """One line for every list that could not be loaded: "Names of teams and users could not be …"."""
    if not failed:
        return None
    what = list(failed)
    listed = what[0] if len(what) == 1 else ", ".join(what[:-1]) + " and " + what[-1]
    why = "; ".join(dict.fromkeys(failed.values()))
    return f"Names of {listed} could not be loaded from Pylon ({why}); IDs are shown instead."


def _entries(kind: str, items: Any) -> list[Entry]:
    make: Callable[[Any], Entry] = {
        "user": user_entry,
        "team": team_entry,
        "status": status_entry,
        "tag": lambda t: Entry("tag", t.id or t.value or "", t.value or ""),
        "field": field_entry,
    }[kind]
    return [make(item) for item in items]


def _matches(q: str, entries: list[Entry]) -> list[Entry]:
    """Exact (name, email, domain, ID; any case); else entries with `q` as a whole word of their name."""
    folded = q.casefold()
    exact = [
        e for e in entries if folded in (e.name.casefold(), (e.detail or "").casefold(), e.id.casefold())
    ]
    if exact:
        return exact
    words = folded.split()
    return [e for e in entries if words and _has_words(e.name.casefold().split(), words)]


def _has_words(name: list[str], words: list[str]) -> bool:
    n = len(words)
    return any(name[i : i + n] == words for i in range(len(name) - n + 1))


def _closest(q: str, entries: list[Entry], n: int = 3) -> list[Entry]:
    folded = q.casefold()
    contains = [e for e in entries if folded in e.name.casefold() or folded in (e.detail or "").casefold()]
    import difflib  # only when a name is not found; kept off the start-up path

    by_name = {e.name.casefold(): e for e in entries}
    near = difflib.get_close_matches(folded, list(by_name), n=n, cutoff=0.5)
    out = list(dict.fromkeys([*contains, *(by_name[name] for name in near)]))
    return out[:n]


def _pick(kind: str, q: str, found: list[Entry], pool: list[Entry], hint: str = "") -> Entry:
    matches = _matches(q, found)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise NotResolved(kind, q, matches, ambiguous=True)
    raise NotResolved(kind, q, _closest(q, pool or found), ambiguous=False, hint=hint)


def _search_entries(q: str, entries: list[Entry]) -> list[Entry]:
    """Entries matching `q` anywhere (name, email, domain, slug), best first: exact, word start, contained."""
    folded = q.casefold()

    def rank(e: Entry) -> int | None:
        fields = [e.name.casefold(), (e.detail or "").casefold(), e.id.casefold()]
        if folded in fields:
            return 0
        if any(part.startswith(folded) for f in fields for part in re.split(r"[\s@._\-]+", f)):
            return 1
        if any(folded in f for f in fields):
            return 2
        return None

    ranked = [(r, e) for e in entries if (r := rank(e)) is not None]
    return [e for _, e in sorted(ranked, key=lambda pair: pair[0])] or _closest(q, entries)
