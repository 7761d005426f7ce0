"""Customer cards: what an account or a contact is, and what is open with them, in few requests.

Shared by the tools (get_account, get_contact), the resource templates and get_issue's
include=["account"]. Requests per card (tests/test_request_counts.py pins them):

- the account or contact: none when the directory read it in the last `refresh_after`
  seconds (a name or email just resolved by a search counts), else `GET /accounts/{id}`
  (which takes an external ID too) or `GET /contacts/{id}`;
- one issue search (the account's open issues, or the contact's issues);
- while the directory is cold, the lists that name things (users for owner and assignees,
  the account or contact custom-field definitions for labels, a contact's account), cached
  after and read in parallel with the search.

So a card costs 2 requests when the customer is already known, and a name resolved now by
its search costs no extra request: the search answered the account itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import TypeVar

from pylon_mcp.directory import clean
from pylon_mcp.pylon.customers import CARD_SEARCH_LIMIT
from pylon_mcp.pylon.directory import CustomFieldDefinition, User
from pylon_mcp.pylon.errors import PylonError, PylonNotFound
from pylon_mcp.pylon.models import CustomFieldValue, Issue, SearchPage
from pylon_mcp.pylon.timefmt import parse_rfc3339
from pylon_mcp.render.customers import (
    CARD_ISSUES,
    AccountCard,
    CardChannel,
    CardExternalID,
    CardField,
    CardIssue,
    ContactCard,
)
from pylon_mcp.render.errors import describe
from pylon_mcp.render.issues import PersonRef
from pylon_mcp.render.text import strip_invisible
from pylon_mcp.state import AppState

T = TypeVar("T")


class CustomerNotFound(Exception):
    """Pylon has no account or contact by that reference. The message is written for a model."""


async def _optional(call: Awaitable[T]) -> T | PylonError:
    """A lookup the card can do without: its failure becomes a note, not an error."""
    try:
        return await call
    except PylonError as exc:
        return exc


async def account_card(state: AppState, query: str, *, brief: bool = False) -> AccountCard:
    """The card for `query` (ID, external ID, name or domain). Raises NotResolved, CustomerNotFound, PylonError.

    `brief`: the first lines only (get_issue's include): a remembered copy up to the directory's
    `ttl` old is good enough, and the five issue lines are left out."""
    return await _account_card(state, await state.directory.resolve("account", query), query, brief=brief)


async def account_brief(state: AppState, account_id: str) -> AccountCard:
    """The first lines' data for an account ID an issue names (get_issue include=["account"])."""
    return await _account_card(state, account_id, account_id, brief=True)


async def _account_card(state: AppState, ref: str, query: str, *, brief: bool) -> AccountCard:
    directory = state.directory
    account = directory.recent_account(ref, max_age=directory.ttl if brief else None)
    if account is None:
        try:
            account = await state.pylon.get_account(ref)
        except PylonNotFound:
            raise CustomerNotFound(
                f"no account has the ID or external ID {query.strip()[:120]!r}. "
                "Give its name or domain instead (find(kind='account', query=...) lists them)."
            ) from None
        directory.remember_account(account)
    account_id = account.id or ref
    page, users, fields = await asyncio.gather(
        _optional(state.pylon.open_issues_of_account(account_id, limit=CARD_SEARCH_LIMIT)),
        _optional(directory.users()),
        _optional(directory.customer_fields("account")),
    )
    notes: list[str] = []
    by_id = _user_names(users, notes)
    definitions = _definitions(fields, "account", notes)
    card = AccountCard(
        id=account.id,
        name=_text(account.name),
        domain=account.primary_domain or account.domain,
        domains=list(account.domains) if account.domains else None,
        type=account.type,
        owner=_person(account.owner.id, account.owner.email, by_id) if account.owner else None,
        tags=list(account.tags) if account.tags else None,
        custom_fields=_fields(account.custom_fields, definitions) or None,
        channels=[
            CardChannel(**c.model_dump(include={"source", "channel_id", "is_primary", "is_internal"}))
            for c in account.channels or []
        ]
        or None,
        external_ids=[
            CardExternalID(label=e.label, external_id=e.external_id) for e in account.external_ids or []
        ]
        or None,
        created_at=account.created_at,
        latest_customer_activity_time=account.latest_customer_activity_time,
        is_disabled=account.is_disabled,
    )
    if isinstance(page, PylonError):
        notes.append(f"Open issues could not be loaded: {describe(page)}")
    else:
        state.recent.remember(page.issues)
        card.open_issues, card.open_issues_more = len(page.issues), page.has_next_page or None
        if not brief:
            card.recent_open_issues = _recent(page, by_id) or None
    card.note = " ".join(notes) or None
    return card


async def contact_card(state: AppState, query: str) -> ContactCard:
    """The card for `query` (contact ID or email). Raises NotResolved, CustomerNotFound, PylonError."""
    directory = state.directory
    ref = await directory.resolve("contact", query)
    contact = directory.recent_contact(ref)
    if contact is None:
        try:
            contact = await state.pylon.get_contact(ref)
        except PylonNotFound:
            raise CustomerNotFound(
                f"no contact has the ID {query.strip()[:120]!r}. Give the contact's email instead."
            ) from None
        directory.remember_contact(contact)
    contact_id = contact.id or ref
    account_id = contact.account.id if contact.account else None
    page, accounts, fields = await asyncio.gather(
        _optional(state.pylon.issues_of_requester(contact_id, limit=CARD_SEARCH_LIMIT)),
        _optional(directory.accounts([account_id] if account_id else [])),
        _optional(directory.customer_fields("contact")),
    )
    notes: list[str] = []
    definitions = _definitions(fields, "contact", notes)
    account = accounts.get(account_id or "") if isinstance(accounts, dict) else None
    if isinstance(accounts, PylonError):
        notes.append(f"The account's name could not be loaded ({_status(accounts)}); its ID is shown.")
    # Assignees by name only when the users list is already loaded: a contact card spends no request on it.
    by_id = _user_names(directory.cached_users(), notes)
    card = ContactCard(
        id=contact.id,
        name=_text(contact.name),
        email=contact.email,
        emails=list(contact.emails) if contact.emails else None,
        phone_numbers=list(contact.phone_numbers) if contact.phone_numbers else None,
        account_id=account_id,
        account_name=_text(account.name) if account else None,
        portal_role=contact.portal_role,
        custom_fields=_fields(contact.custom_fields, definitions) or None,
    )
    if isinstance(page, PylonError):
        notes.append(f"Issues could not be loaded: {describe(page)}")
    else:
        state.recent.remember(page.issues)
        card.issues, card.issues_more = len(page.issues), page.has_next_page or None
        card.recent_issues = _recent(page, by_id) or None
    card.note = " ".join(notes) or None
    return card


# --- pieces -----------------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    return strip_invisible(value) if value else None


def _status(error: PylonError) -> str:
    status = getattr(error, "status", None)
    return f"HTTP {status}" if status else "failed"


def _user_names(users: list[User] | PylonError | None, notes: list[str]) -> dict[str, str]:
    if isinstance(users, PylonError):
        notes.append(f"Names of users could not be loaded ({_status(users)}); emails are shown.")
        return {}
    # A name stands in for a user only when it names one user (as elsewhere); otherwise the email shows.
    taken = Counter(clean(u.name).casefold() for u in users or [] if u.name)
    return {
        u.id: clean(u.name) for u in users or [] if u.id and u.name and taken[clean(u.name).casefold()] == 1
    }


def _definitions(
    fields: list[CustomFieldDefinition] | PylonError, kind: str, notes: list[str]
) -> dict[str, CustomFieldDefinition]:
    if isinstance(fields, PylonError):
        notes.append(f"Labels of {kind} fields could not be loaded ({_status(fields)}); slugs are shown.")
        return {}
    return {d.slug: d for d in fields if d.slug}


def _person(user_id: str | None, email: str | None, by_id: dict[str, str]) -> PersonRef | None:
    if not (user_id or email):
        return None
    return PersonRef(id=user_id, email=email, name=by_id.get(user_id or ""))


def _fields(
    values: dict[str, CustomFieldValue] | None, definitions: dict[str, CustomFieldDefinition]
) -> list[CardField]:
    out = []
    for slug, field in (values or {}).items():
        raw: str | list[str] | None = field.values if field.values is not None else field.value
        if raw is None or raw == "" or raw == []:
            continue
        definition = definitions.get(slug)
        options = {
            o.slug: clean(o.label) or o.slug
            for o in (
                definition.select_metadata.options or [] if definition and definition.select_metadata else []
            )
            if o.slug
        }
        shown: str | list[str] = (
            [options.get(v, strip_invisible(v)) for v in raw]
            if isinstance(raw, list)
            else options.get(raw, strip_invisible(raw))
        )
        label = clean(definition.label) if definition and definition.label else slug
        out.append(CardField(slug=slug, label=label or slug, value=raw, shown=shown))
    return out


def _recent(page: SearchPage, by_id: dict[str, str]) -> list[CardIssue]:
    """The most recently updated issues of a page (Pylon promises no order), one line each."""

    def key(issue: Issue) -> tuple[float, int]:
        try:
            moment = parse_rfc3339(issue.updated_at or issue.created_at or "").timestamp()
        except ValueError:
            moment = float("-inf")
        return (moment, issue.number or 0)

    chosen = sorted(page.issues, key=key, reverse=True)[:CARD_ISSUES]
    return [
        CardIssue(
            number=i.number,
            id=i.id,
            state=i.state,
            title=_text(i.title),
            assignee=_person(i.assignee.id, i.assignee.email, by_id) if i.assignee else None,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )
        for i in chosen
    ]


def not_resolved_text(exc: Exception) -> str:
    return f"{exc} Nothing else was fetched."
