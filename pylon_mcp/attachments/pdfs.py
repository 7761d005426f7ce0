"""A PDF's text layer, page by page, with pypdf: bounded in pages, characters and time."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

MAX_PAGES = 100  # pages read; a longer PDF says how many were left
MAX_CHARS = 200_000  # text kept in all; the reader pages through it with offset
MAX_SECONDS = 20.0  # a page that takes pypdf long (hostile content streams) stops the reading


class PdfRefused(ValueError):
    pass


@dataclass(frozen=True)
class PdfText:
    text: str  # "[Page 1]\n…\n[Page 2]\n…"
    pages: int  # in the file
    pages_read: int
    stopped: str | None  # why reading stopped before the last page, if it did
    has_text: bool


def extract(data: bytes) -> PdfText:
    """CPU-bound (pure Python): call off the loop."""
    import pypdf  # first use only: importing it costs ~0.15 s
    from pypdf.errors import PdfReadError

    started = time.monotonic()
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfRefused("the PDF is encrypted with a password; not opened")
        total = len(reader.pages)
    except PdfRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise PdfRefused(f"the PDF could not be read ({type(exc).__name__}: {str(exc)[:120]})") from None
    parts: list[str] = []
    size = 0
    stopped = None
    read = 0
    for index in range(min(total, MAX_PAGES)):
        try:
            text = reader.pages[index].extract_text() or ""
        except Exception as exc:
            text = f"(page {index + 1} could not be read: {type(exc).__name__})"
        text = text.strip()
        read += 1
        chunk = f"[Page {index + 1}]\n{text}" if text else f"[Page {index + 1}: no text]"
        parts.append(chunk)
        size += len(chunk) + 1
        if size >= MAX_CHARS:
            stopped = f"the first {MAX_CHARS:,} characters were kept"
            break
        if time.monotonic() - started > MAX_SECONDS:
            stopped = f"reading took over {MAX_SECONDS:g} s"
            break
    if stopped is None and total > read:
        stopped = f"only the first {MAX_PAGES} pages are read"
    text = "\n".join(parts)[:MAX_CHARS]
    has_text = any(not part.endswith(": no text]") for part in parts)
    return PdfText(text, total, read, stopped, has_text)
