"""CSS colours as sRGB with alpha, and how well one reads on another (WCAG contrast).

Parsing is tinycss2's CSS Color 4 parser (named colours, hex, rgb/rgba, hsl, hwb, lab, lch,
oklab, oklch, color(), transparent, currentColor); this module turns every colour space it
returns into sRGB so text and background can be composited and compared by luminance, never
by name.
"""

from __future__ import annotations

from typing import Any

RGBA = tuple[float, float, float, float]  # sRGB channels 0..1, alpha 0..1
WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
CURRENT = "currentcolor"

# XYZ (D65) → linear sRGB, and Bradford D50 → D65 (lab and lch are D50).
_XYZ_TO_SRGB = ((3.2409699, -1.5373832, -0.4986108), (-0.9692436, 1.8759675, 0.0415551),
                (0.0556301, -0.2039770, 1.0569715))  # fmt: skip
_D50_TO_D65 = ((0.9554734, -0.0230985, 0.0632593), (-0.0283697, 1.0099955, 0.0210414),
               (0.0123140, -0.0205077, 1.3303659))  # fmt: skip


def _mul(m: tuple[tuple[float, float, float], ...], v: tuple[float, ...]) -> tuple[float, float, float]:
    return tuple(sum(a * b for a, b in zip(row, v, strict=True)) for row in m)  # type: ignore[return-value]


def _encode(linear: float) -> float:
    linear = min(max(linear, 0.0), 1.0)
    return 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


def _decode(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def _to_srgb(color: Any) -> RGBA | None:
    space, alpha = color.space, color.alpha
    coords = tuple(c or 0.0 for c in color.coordinates)
    if space in ("hsl", "hwb"):
        coords, space = tuple(color.to("srgb").coordinates), "srgb"
    if space in ("srgb", "display-p3", "a98-rgb", "prophoto-rgb", "rec2020"):  # wide gamuts: close enough
        r, g, b = (min(max(c, 0.0), 1.0) for c in coords)
        return (r, g, b, alpha)
    if space == "srgb-linear":
        r, g, b = (_encode(c) for c in coords)
        return (r, g, b, alpha)
    if space in ("lab", "lch"):
        coords, space = tuple(color.to("xyz-d50").coordinates), "xyz-d50"
    elif space in ("oklab", "oklch"):
        coords, space = tuple(color.to("xyz-d65").coordinates), "xyz-d65"
    if space == "xyz-d50":
        coords, space = _mul(_D50_TO_D65, coords), "xyz-d65"
    if space in ("xyz", "xyz-d65"):
        r, g, b = (_encode(c) for c in _mul(_XYZ_TO_SRGB, coords))
        return (r, g, b, alpha)
    return None


# System colours (CSS Color 4, and the deprecated ones Outlook still writes, like `windowtext`), as a
# light-themed desktop shows them.
_SYSTEM = {
    **dict.fromkeys(("canvastext", "windowtext", "buttontext", "fieldtext", "menutext", "captiontext",
                     "infotext", "inactivecaptiontext", "selecteditemtext", "marktext", "accentcolortext",
                     "threeddarkshadow"), BLACK),
    **dict.fromkeys(("canvas", "window", "buttonface", "field", "menu", "background", "infobackground",
                     "buttonhighlight", "threedhighlight", "threedlightshadow", "threedface", "highlighttext",
                     "appworkspace", "scrollbar", "inactiveborder", "activeborder", "buttonborder"), WHITE),
    **dict.fromkeys(("graytext", "buttonshadow", "threedshadow", "inactivecaption", "windowframe"),
                    (0.5, 0.5, 0.5, 1.0)),
    **dict.fromkeys(("linktext", "activetext", "highlight", "selecteditem", "accentcolor", "activecaption"),
                    (0.0, 0.4, 0.8, 1.0)),
    "visitedtext": (0.33, 0.1, 0.55, 1.0),
    "mark": (1.0, 1.0, 0.0, 1.0),
}  # fmt: skip


def parse_color(value: Any) -> RGBA | str | None:
    """A colour from a CSS string or one tinycss2 component value: RGBA, CURRENT, or None if unreadable."""
    from tinycss2.color4 import parse_color as parse

    name = value.strip().lower() if isinstance(value, str) else getattr(value, "lower_value", None)
    if isinstance(name, str) and name in _SYSTEM:
        return _SYSTEM[name]
    try:
        color = parse(value)
        if color is None or color == CURRENT:
            return color
        return _to_srgb(color)
    except (
        ValueError,
        TypeError,
        ZeroDivisionError,
        NotImplementedError,
        OverflowError,
        AttributeError,
        IndexError,
        KeyError,
        AssertionError,
    ):
        return None


def over(top: RGBA, beneath: RGBA) -> RGBA:
    """`top` painted over an opaque `beneath` (alpha compositing in sRGB, as browsers do)."""
    a = top[3]
    return (
        top[0] * a + beneath[0] * (1 - a),
        top[1] * a + beneath[1] * (1 - a),
        top[2] * a + beneath[2] * (1 - a),
        1.0,
    )


def luminance(color: RGBA) -> float:
    r, g, b = (_decode(c) for c in color[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(ink: RGBA, background: RGBA) -> float:
    """WCAG 2 contrast ratio (1 = identical, 21 = black on white) of ink composited on the background."""
    a, b = luminance(over(ink, background)), luminance(background)
    light, dark = max(a, b), min(a, b)
    return (light + 0.05) / (dark + 0.05)
