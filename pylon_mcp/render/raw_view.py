"""include=["raw_html"]: the body's HTML as a view for the model, built by a real sanitiser.

The view keeps the document's structure (elements, classes, inline styles, links) so a model
can see how a body is built, and drops everything active: scripts and embedded documents with
their contents, event handlers, `srcdoc`, SVG and MathML (whose animation attributes can set
links), `<style>` blocks, inline styles that load or run anything, and URLs whose scheme is not
http(s), mailto, tel or cid. nh3 (Rust `ammonia`) parses the HTML as a browser would, so
attribute spellings a pattern would miss (`<img src="x"onerror=…>`, entity-encoded schemes)
are the parser's problem, not ours. Invisible and format characters are removed first.
"""

from __future__ import annotations

from pylon_mcp.render.html import _KNOWN, _NEVER_SHOWN, _VOID_AND_META, _nh3
from pylon_mcp.render.text import strip_invisible

# Containers whose content is active or a document of its own: dropped with everything inside.
_DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "applet", "frame", "frameset", "noscript", "template",
    "svg", "math", "noembed", "noframes", "xmp", "canvas", "audio", "video",
})  # fmt: skip
# Elements that act on the page rather than show content: dropped, their text kept.
_ACTIVE_ELEMENTS = frozenset({
    "meta", "link", "base", "input", "keygen", "param", "source", "track", "form", "button", "select",
    "textarea", "option", "datalist", "dialog", "head", "title",
})  # fmt: skip
_KEPT_TAGS = (_KNOWN | _NEVER_SHOWN | _VOID_AND_META) - _DROPPED_WITH_CONTENT - _ACTIVE_ELEMENTS
_KEPT_ATTRIBUTES = {
    "*": {"class", "id", "style", "title", "lang", "dir", "hidden", "align", "valign", "width", "height",
          "bgcolor", "color", "border", "cellpadding", "cellspacing", "face", "size", "colspan", "rowspan",
          "alt", "href", "src", "name", "role", "start", "datetime", "open"},
}  # fmt: skip
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}  # cid: images inside the email itself
# An inline style containing any of these could load or run something; the style is dropped whole.
_ACTIVE_STYLE = ("url(", "expression", "javascript", "vbscript", "behavior", "binding", "@import", "\\")


def _filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        lowered = value.lower()
        return None if any(marker in lowered for marker in _ACTIVE_STYLE) else value
    return value


def raw_html_view(html: str) -> str:
    """The body's HTML for a model: invisible and format characters removed, structure kept, every
    script, handler, embedded document and active URL removed (see the module docstring)."""
    from pylon_mcp.render.nesting import MAX_DEPTH, limit_nesting

    guarded = limit_nesting(tidy_raw(html))  # the parser's time grows fast on very deep trees
    view = _nh3().clean(
        guarded.html,
        tags=set(_KEPT_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={k: set(v) for k, v in _KEPT_ATTRIBUTES.items()},
        generic_attribute_prefixes={"data-", "aria-"},
        url_schemes=set(_URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
        attribute_filter=_filter,
    )
    view = strip_invisible(str(view))  # entities such as &#x200b; decode to characters while parsing
    if guarded.removed_chars:
        view += f"\n<!-- {guarded.removed_chars:,} characters of HTML nested more than {MAX_DEPTH} deep left out -->"
    return view


def tidy_raw(html: str) -> str:
    return strip_invisible(html).replace("\r\n", "\n").replace("\r", "\n")
