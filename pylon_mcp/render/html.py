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

import re
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
def _converter() -> tuple[Any, Any, Any]:
    import html_to_markdown
    import nh3

    options = html_to_markdown.ConversionOptions(
        hidden_content="drop",
        extract_metadata=False,
        autolinks=True,
        wrap=False,
    )
    return nh3, html_to_markdown, options


def sanitize_html(html: str) -> str:
    """Allowlisted HTML: what we send to Pylon and what we convert for models."""
    nh3, _, _ = _converter()
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


def html_to_markdown(html: str) -> tuple[str, bool]:
    """Markdown for a model, and whether the input was cut at MAX_HTML_CHARS first."""
    capped = len(html) > MAX_HTML_CHARS
    source = html[:MAX_HTML_CHARS] if capped else html
    _, converter, options = _converter()
    clean = sanitize_html(source)
    markdown = converter.convert(clean, options).content
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
