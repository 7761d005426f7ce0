"""An issue's attachments as one numbered list, so a model can ask for "attachment 2".

The order is the issue's own `attachment_urls`, then each message's `file_urls`, oldest message
first; a URL listed twice (an issue's files are usually its first message's too) keeps its first
number. New messages only add numbers at the end, so a number once shown keeps meaning the same file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

SHOWN_SCHEMES = ("https://", "http://")  # message files shown as links (render/messages.py)


def message_files(urls: Sequence[str] | None) -> list[str]:
    return [url for url in urls or [] if url.startswith(SHOWN_SCHEMES)]


def numbered(
    issue_urls: Sequence[str] | None, message_urls: Iterable[Sequence[str] | None] = ()
) -> list[str]:
    """Every attachment once, in numbering order (number = position + 1)."""
    ordered = dict.fromkeys(issue_urls or [])
    for urls in message_urls:
        ordered.update(dict.fromkeys(message_files(urls)))
    return list(ordered)


def numbers(ordered: Sequence[str]) -> dict[str, int]:
    return {url: index for index, url in enumerate(ordered, start=1)}
