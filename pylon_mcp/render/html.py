"""HTML in both directions, under two named policies that never share an allowlist.

- INBOUND (Pylon's issue HTML → Markdown for a model): hide what a person would not see.
  nh3 (Rust `ammonia`) keeps a text allowlist and drops the *contents* of script, style,
  noscript, textarea, title, object, iframe, option and other never-shown containers; it
  keeps `style`/`hidden`/`aria-hidden`/colours only so `hiding.remove_hidden` can drop
  invisible elements; html-to-markdown (Rust) converts what is left.
- OUTBOUND (our HTML → Pylon, for `create_issue`): no `style`, no attribute that loads
  anything remote (images are dropped; Markdown images become links), and only http(s)
  and mailto URLs.

Both parse HTML only after `nesting.limit_nesting`, because parse time explodes on very deep
trees. Libraries are imported on first use, off the start-up path.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

# hiding and nesting compile their patterns on import: loaded on first use, off the start-up path.
from pylon_mcp.render.text import tidy

MAX_HTML_CHARS = 512_000  # of HTML converted; the rest stays reachable through include=["raw_html"]
MAX_MARKDOWN_CHARS = 512_000  # of Markdown kept (deep lists indent every line)

_TEXT_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p", "pre",
    "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul",
})  # fmt: skip
# Containers whose text a reader never sees on the page (or that only a script shows).
_NEVER_SHOWN = frozenset({
    "script", "style", "noscript", "textarea", "title", "object", "iframe", "option", "select", "datalist",
    "template", "svg", "math", "head", "applet", "frame", "frameset", "noembed", "noframes", "xmp",
    "canvas", "audio", "video", "dialog",
})  # fmt: skip
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Other elements that carry readable text: the inbound policy keeps them (with their style)
# so that hiding them hides their text. Any element name outside every list is renamed to
# span first, as a browser would still apply its inline style (see _known_elements).
_MORE_TEXT_TAGS = frozenset({
    "section", "article", "header", "footer", "main", "nav", "aside", "figure", "figcaption", "address",
    "center", "font", "big", "tt", "strike", "label", "legend", "fieldset", "form", "time", "bdi", "bdo",
    "data", "dfn", "var", "samp", "output", "ruby", "rt", "rp", "menu", "marquee", "blink", "nobr",
    "acronym", "hgroup", "search", "picture", "map", "colgroup", "col", "optgroup",
})  # fmt: skip
_VOID_AND_META = frozenset({"br", "hr", "img", "wbr", "input", "meta", "link", "base", "area", "source",
                            "track", "embed", "param", "keygen", "image"})  # fmt: skip
_START_OR_END_TAG = re.compile(r"<(/?)([a-zA-Z][^\s/>]*)")
_AS_DIV = frozenset({"html", "body"})


@dataclass(frozen=True)
class Policy:
    """One sanitising policy: the tags, attributes and URLs nh3 keeps, and the tags it empties."""

    name: str
    tags: frozenset[str]
    attributes: dict[str, set[str]]
    drop_contents: frozenset[str] = _NEVER_SHOWN
    url_schemes: frozenset[str] = _SAFE_SCHEMES
    link_rel: str | None = None
    # Absolute URLs only: a relative or scheme-relative link has no scheme to check.
    absolute_urls_only: bool = False

    def apply(self, html: str) -> str:
        return str(
            _nh3().clean(
                html,
                tags=set(self.tags),
                clean_content_tags=set(self.drop_contents),
                attributes=self.attributes,
                url_schemes=set(self.url_schemes),
                link_rel=self.link_rel,
                strip_comments=True,
                attribute_filter=_absolute_urls if self.absolute_urls_only else None,
            )
        )


INBOUND = Policy(
    name="inbound",
    tags=_TEXT_TAGS | _MORE_TEXT_TAGS | {"img"},
    # style, class, id, hidden, aria-hidden and colours are read by remove_hidden, which drops them.
    attributes={
        "*": {"style", "class", "id", "hidden", "aria-hidden", "bgcolor"},
        "font": {"color"},
        "details": {"open"},
        "a": {"href"},
        "img": {"src", "alt"},
        "td": {"colspan", "rowspan"},
        "th": {"colspan", "rowspan"},
    },
)

OUTBOUND = Policy(
    name="outbound",
    tags=_TEXT_TAGS,
    attributes={"a": {"href"}, "td": {"colspan"}, "th": {"colspan"}},
    absolute_urls_only=True,
)


def _absolute_urls(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "href":
        return value
    scheme = value.strip().lower()
    return value if scheme.startswith(("https://", "http://", "mailto:")) else None


@cache
def _nh3() -> Any:
    import nh3

    return nh3


def sanitize_inbound(html: str) -> str:
    """Pylon's HTML as the model may read it: safe tags, nothing hidden, depth-limited."""
    from pylon_mcp.render.nesting import limit_nesting

    return _inbound(limit_nesting(html).html)[0]


def _inbound(guarded_html: str) -> tuple[str, int, bool]:
    """The visible HTML, how many characters of text were left out as hidden or suspect, and whether
    that was all of it because the style blocks were too big to read."""
    from pylon_mcp.render.hiding import drop_foreign_content, remove_hidden, stylesheet

    # The stylesheet is read from the input: the policy drops <style> blocks.
    styles = stylesheet(guarded_html)
    without_foreign, foreign_chars = drop_foreign_content(guarded_html)
    visible = remove_hidden(INBOUND.apply(_known_elements(without_foreign)), styles)
    return visible.html, visible.left_out_chars + foreign_chars, visible.undecidable


_KNOWN = _TEXT_TAGS | _MORE_TEXT_TAGS | _NEVER_SHOWN | _VOID_AND_META


def _known_elements(html: str) -> str:
    """Unknown element names (`<x-note>`, `<a<div>`) become span, html/body div: the sanitiser would
    drop the tag but keep its text, and with the tag its inline style, so hidden text would show."""

    def rename(m: re.Match[str]) -> str:
        name = m.group(2).lower()
        if name in _KNOWN:
            return m.group(0)
        return f"<{m.group(1)}{'div' if name in _AS_DIV else 'span'}"

    return _START_OR_END_TAG.sub(rename, html)


class NestedTooDeep(ValueError):
    """Outbound HTML nests deeper than we parse; the caller should send flatter HTML."""


def sanitize_outbound(html: str) -> str:
    """HTML we send to Pylon: no style, nothing that loads remotely, safe URL schemes only."""
    from pylon_mcp.render.nesting import MAX_DEPTH, limit_nesting

    if limit_nesting(html).removed_chars:
        raise NestedTooDeep(f"the HTML nests more than {MAX_DEPTH} elements deep; send flatter HTML")
    return OUTBOUND.apply(html)


@cache
def _converter() -> Callable[[str], str]:
    import html_to_markdown

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

    return convert


# Images become plain links: a model echoing `![](url)` would make the client fetch it.
# `![alt](url "title")`, read by hand: as one regex over the text, each `![` of `![![![…` scanned to
# the same far `]` (quadratic: 100 KB took 18 s). Here every search's answer is reused by the
# starts before it, so the text is read a bounded number of times.
_ALT_END = re.compile(r"[\]\n]")
_URL_END = re.compile(r"[)\s]")
_NOT_SPACE = re.compile(r"\S")
_QUOTE = re.compile('"')


class _NextMatch:
    """The first match of `pattern` at or after a position, remembering the last answer."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.pattern, self.text = pattern, text
        self.searched_from, self.found = 0, -1

    def __call__(self, position: int) -> int:
        if not self.searched_from <= position <= self.found:
            m = self.pattern.search(self.text, position)
            self.searched_from, self.found = position, m.start() if m else len(self.text)
        return self.found


def _images_as_links(markdown: str) -> str:
    n = len(markdown)
    alt_end, url_end = _NextMatch(_ALT_END, markdown), _NextMatch(_URL_END, markdown)
    not_space, quote = _NextMatch(_NOT_SPACE, markdown), _NextMatch(_QUOTE, markdown)
    out: list[str] = []
    done = 0
    start = markdown.find("![")
    while start != -1:
        end = None
        close = alt_end(start + 2)
        url_start = close + 2
        if close < n and markdown[close] == "]" and markdown.startswith("(", close + 1):
            stop = url_end(url_start)
            if url_start < stop < n:
                if markdown[stop] == ")":
                    end = stop + 1
                else:  # whitespace, then an optional "title"
                    opening = not_space(stop)
                    if opening < n and markdown[opening] == '"':
                        closing = quote(opening + 1)
                        if closing < n and markdown.startswith(")", closing + 1):
                            end = closing + 2
        if end is None:
            start = markdown.find("![", start + 1)
            continue
        alt, url = markdown[start + 2 : close], markdown[url_start:stop]
        out.append(f"{markdown[done:start]}[image: {alt or 'untitled'}]({url})")
        done = end
        start = markdown.find("![", end)
    return "".join(out) + markdown[done:] if out else markdown


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
    """Markdown for a model under the inbound policy, and whether the HTML was cut for size.

    CPU-bound (up to a few hundred ms for the largest bodies): async callers run it in a
    worker thread (see render.issues.detail_off_loop).
    """
    key = _recent.key(html)
    cached = _recent.get(key)
    if cached is not None:
        return cached
    converted = _convert_body(html)
    _recent.put(key, converted)
    return converted


def convert_in_worker(html: str) -> tuple[str, bool]:
    """The job `html_to_markdown_off_loop` sends to a worker process (pylon_mcp/offload.py)."""
    return _convert_body(html)


def _convert_body(html: str) -> tuple[str, bool]:
    capped = len(html) > MAX_HTML_CHARS
    from pylon_mcp.render.nesting import MAX_DEPTH, limit_nesting

    guarded = limit_nesting(html[:MAX_HTML_CHARS] if capped else html)
    visible_html, hidden_chars, undecidable = _inbound(guarded.html)
    markdown = _converter()(visible_html)
    markdown = _images_as_links(markdown)
    if len(markdown) > MAX_MARKDOWN_CHARS:
        markdown, capped = markdown[:MAX_MARKDOWN_CHARS], True
    markdown = tidy(markdown)
    if guarded.removed_chars:
        markdown += (
            f"\n\n[{guarded.removed_chars:,} characters of HTML nested more than {MAX_DEPTH} levels deep are "
            "left out. include=['raw_html'] shows the HTML itself, with invisible characters and active "
            "links and handlers removed.]"
        )
    if undecidable and hidden_chars:
        markdown += (
            f"\n\n[The body's <style> blocks are too large to tell what a reader sees, so its {hidden_chars:,} "
            f"character{'s' if hidden_chars != 1 else ''} of text are left out; include=['raw_html'] shows the HTML.]"
        )
    elif hidden_chars:
        markdown += (
            f"\n\n[{hidden_chars:,} character{'s' if hidden_chars != 1 else ''} of hidden or hard-to-see text "
            "left out; include=['raw_html'] shows the HTML.]"
        )
    return markdown.strip(), capped


# Bodies up to this size convert in about a millisecond at worst (measured: 0.4 ms for 1.2 KB, about
# 5 ms for 16 KB of nested lists), less than a worker-thread hop adds to every call under load.
INLINE_HTML_CHARS = 16_000


# A <style> block costs about 2 µs a CSS token to read (pure Python): past this size, a body that has one
# converts in a worker thread too, so the event loop never parses CSS for long.
INLINE_STYLED_HTML_CHARS = 2_000


def converts_off_loop(html: str) -> bool:
    """Whether converting `html` belongs in a worker thread: large (or styled) and not already converted."""
    large = len(html) > INLINE_HTML_CHARS or (
        len(html) > INLINE_STYLED_HTML_CHARS and "<style" in html[:INLINE_HTML_CHARS].lower()
    )
    return large and _recent.get(_recent.key(html)) is None


async def html_to_markdown_off_loop(html: str) -> tuple[str, bool]:
    """`html_to_markdown` in a worker process when it is large, for async callers (tools, resources,
    messages). The result is remembered, so rendering the rest inline afterwards finds it converted."""
    if not converts_off_loop(html):
        return html_to_markdown(html)
    from pylon_mcp import offload

    try:
        converted = await offload.run(convert_in_worker, html)
    except offload.JobTimedOut as exc:
        converted = (f"[The body could not be converted: {exc}. include=['raw_html'] shows the HTML.]", False)
    remember(html, converted)
    return converted


def remember(html: str, converted: tuple[str, bool]) -> None:
    """Keep a conversion made elsewhere (in a worker process), so `html_to_markdown(html)` finds it."""
    _recent.put(_recent.key(html), converted)


async def convert_off_loop(htmls: Sequence[str | None]) -> bool:
    """Convert the large ones of `htmls` in a worker process, so that rendering them afterwards
    (`html_to_markdown`) is a cache hit. False if a conversion was not remembered (too many for
    the cache): the caller should then render off the loop itself."""
    for html in htmls:
        if html and converts_off_loop(html):
            await html_to_markdown_off_loop(html)
    return not any(html and converts_off_loop(html) for html in htmls)


def html_to_text(html: str, limit: int) -> str:
    """A short plain preview: Markdown without the markup characters that carry no meaning."""
    markdown, _ = html_to_markdown(html[: limit * 8])
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)  # keep link text, drop URLs
    plain = re.sub(r"\*\*|__|`+|^\s*(?:#+|>|-|\d+\.)\s", "", plain, flags=re.MULTILINE)
    return " ".join(plain.split())


@cache
def _markdown_renderer() -> Any:
    import mistune

    class LinkImages(mistune.HTMLRenderer):
        # The outbound policy loads nothing remote: an image is sent as a link to it.
        def image(self, text: str, url: str, title: str | None = None) -> str:
            return f'<a href="{self.safe_url(url)}">{text or "image"}</a>'

    # escape=True: raw HTML in a model's Markdown is shown as text, never passed through.
    return mistune.create_markdown(
        escape=True, renderer=LinkImages(escape=True), plugins=["strikethrough", "table"]
    )


def markdown_to_html(markdown: str) -> str:
    return sanitize_outbound(str(_markdown_renderer()(markdown))).strip()
