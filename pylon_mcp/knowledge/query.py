"""People's words as an FTS5 query that can never be a syntax error.

A query is split into words (letters and digits, any script) and each word becomes a
quoted FTS5 string, joined by OR: quotes, `*`, `-`, `:`, parentheses, NEAR/AND/NOT
typed by a person are words or nothing, never operators. BM25 then ranks documents that
match more (and rarer) words first. Linear in the query's length.
"""

from __future__ import annotations

import re

MAX_TERMS = 32
SNIPPET_CHARS = 200
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match nearly every document and only add noise to BM25.
STOPWORDS = frozenset(
    """
a an and are as at be been but by can could did do does for from had has have how i if in into is it its
me my no not of on or our please so than that the their them then there these they this to us was we
were what when where which who why will with would you your yours hi hello thanks thank team there any
""".split()  # noqa: SIM905 - a word list reads better as text
)


def terms(text: str) -> list[str]:
    """The distinct meaningful words of `text`, in order, at most MAX_TERMS."""
    seen: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group().strip("_")
        if not word or word in STOPWORDS or word in seen:
            continue
        seen.append(word[:64])
        if len(seen) == MAX_TERMS:
            break
    return seen


def snippet(body: str, words: list[str], width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `body` around the first place a query word (or its stem) occurs.

    Stems are approximated by the word's first letters (Porter keeps at least those), so
    "exporting" finds "export". One pass per word over the body: linear time.
    """
    lowered = body.lower()
    found = [
        at
        for word in words
        if (at := lowered.find(word[: max(4, len(word) - 3)] if len(word) > 4 else word)) >= 0
    ]
    start = max(0, min(found, default=0) - width // 3)
    if start:
        space = body.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    part = " ".join(body[start : start + width].split())
    return ("…" if start else "") + part + ("…" if start + width < len(body) else "")


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for `text`, or None when it has no searchable word."""
    words = terms(text)
    if not words:
        return None
    return " OR ".join(f'"{word}"' for word in words)
