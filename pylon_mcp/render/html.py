"""HTML in both directions: Pylon's issue HTML → safe Markdown, and Markdown → HTML for new issues.

Libraries, imported on first use so start-up does not pay for them:
- nh3 (Rust `ammonia`) sanitises: drops scripts, styles, comments, forms, and any
  URL scheme but http(s)/mailto. It keeps `style`/`hidden` only so the converter
  can still see which elements are invisible.
- html-to-markdown (Rust) converts, dropping hidden elements.
- mistune turns a model's Markdown into HTML for `create_issue`.
Conversion time grows faster than linearly on a single giant paragraph, so input
is capped at MAX_HTML_CHARS; the rest stays reachable through raw-HTML paging.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from typing import Any

from pylon_mcp.render.text import tidy

MAX_HTML_CHARS = 512_000

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
    "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"style", "hidden"},
    "a": {"href"},
    "img": {"src", "alt"},
    "td": {"colspan"},
    "th": {"colspan"},
}
_SCHEMES = {"http", "https", "mailto"}
# Images become plain links: a model echoing `![](url)` would make the client fetch it.
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@cache
def _converter() -> tuple[Any, Callable[[str], str]]:
    import html_to_markdown
    import nh3

    options = html_to_markdown.ConversionOptions(
        hidden_content="drop",
        extract_metadata=False,
        autolinks=True,
        wrap=False,
    )
    try:
        # The public convert() rebuilds the native options object on every call (~0.4 ms, most
        # of a search's rendering time); build it once. Public API if the internals move.
        from html_to_markdown import _html_to_markdown as native
        from html_to_markdown.api import _to_rust_conversion_options

        native_options = _to_rust_conversion_options(options)

        def convert(html: str) -> str:
            return str(native.convert(html=html, options=native_options, visitor=None).content)

        convert("<p>check</p>")
    except (ImportError, AttributeError, TypeError):

        def convert(html: str) -> str:
            return str(html_to_markdown.convert(html, options).content)

    return nh3, convert


@cache
def _sanitizer() -> Callable[[str], str]:
    nh3, _ = _converter()
    options: dict[str, Any] = {
        "tags": _TAGS,
        "attributes": _ATTRIBUTES,
        "url_schemes": _SCHEMES,
        "link_rel": None,
        "strip_comments": True,
    }
    cleaner = getattr(nh3, "Cleaner", None)  # nh3 >= 0.3: the allowlists are converted once, not per call
    if cleaner is not None:
        return cleaner(**options).clean  # type: ignore[no-any-return]
    return lambda html: str(nh3.clean(html, **options))


def sanitize_html(html: str) -> str:
    """Allowlisted HTML: what we send to Pylon and what we convert for models."""
    return _sanitizer()(html)


class _RecentConversions:
    """The last few conversions, keyed by a digest of the HTML, bounded by the Markdown kept.

    Reading a long body in parts converts the same HTML once per part, and models re-read
    the issues they work on; a body's Markdown depends only on its HTML.
    """

    def __init__(self, max_chars: int = 4_000_000) -> None:
        self.max_chars = max_chars
        self._entries: OrderedDict[bytes, tuple[str, bool]] = OrderedDict()
        self._size = 0

    @staticmethod
    def key(html: str) -> bytes:
        return hashlib.blake2b(html.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def get(self, key: bytes) -> tuple[str, bool] | None:
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
        return hit

    def put(self, key: bytes, value: tuple[str, bool]) -> None:
        if key in self._entries or len(value[0]) > self.max_chars // 2:
            return
        self._entries[key] = value
        self._size += len(value[0])
        while self._size > self.max_chars:
            _, (old_markdown, _) = self._entries.popitem(last=False)
            self._size -= len(old_markdown)


_recent = _RecentConversions()


def html_to_markdown(html: str) -> tuple[str, bool]:
    """Markdown for a model, and whether the input was cut at MAX_HTML_CHARS first."""
    key = _recent.key(html)
    cached = _recent.get(key)
    if cached is not None:
        return cached
    converted = _convert_body(html)
    _recent.put(key, converted)
    return converted


def _convert_body(html: str) -> tuple[str, bool]:
    capped = len(html) > MAX_HTML_CHARS
    source = html[:MAX_HTML_CHARS] if capped else html
    _, convert = _converter()
    clean = sanitize_html(source)
    markdown = convert(clean)
    markdown = _IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}]({m.group(2)})", markdown)
    if not markdown.strip() and nesting_depth(clean) > MAX_DEPTH:
        # The converter gives up on absurdly deep trees. Plain text would also show
        # elements hidden with display:none, so say what happened instead.
        markdown = (
            f"[This body nests HTML more than {MAX_DEPTH} levels deep and cannot be converted safely. "
            "Ask for include=['raw_html'] to see the HTML.]"
        )
    return tidy(markdown), capped


MAX_DEPTH = 1000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
_VOID = {"br", "hr", "img", "wbr", "input", "meta", "link", "col", "source", "area", "base", "embed", "track"}


def nesting_depth(html: str) -> int:
    """The deepest element nesting in (sanitised, well-formed) HTML, by a linear tag scan."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def html_to_text(html: str, limit: int) -> str:
    """A short plain preview: Markdown without the markup characters that carry no meaning."""
    markdown, _ = html_to_markdown(html[: limit * 8])
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)  # keep link text, drop URLs
    plain = re.sub(r"\*\*|__|`+|^\s*(?:#+|>|-|\d+\.)\s", "", plain, flags=re.MULTILINE)
    return " ".join(plain.split())


@cache
def _markdown_renderer() -> Any:
    import mistune

    # escape=True: raw HTML in a model's Markdown is shown as text, never passed through.
    return mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])


def markdown_to_html(markdown: str) -> str:
    return sanitize_html(str(_markdown_renderer()(markdown))).strip()
