"""What get_attachment opens, below the MCP surface: the type from the bytes, the image and PDF limits.

(tests/test_attachments.py drives the same through MCP sessions against the sandbox.)
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pylon_mcp.attachments.images import MAX_ENCODED, MAX_SIDE, ImageRefused, shrink
from pylon_mcp.attachments.pdfs import MAX_PAGES, extract
from pylon_mcp.attachments.sniff import sniff
from pylon_mcp.sandbox.attachments import SVG, image_bomb, text_pdf


@pytest.mark.parametrize(
    ("data", "kind", "label"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image", "PNG image"),
        (b"\xff\xd8\xff\xe0....", "image", "JPEG image"),
        (b"GIF89a....", "image", "GIF image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", "WebP image"),
        (b"%PDF-1.7\n", "pdf", "PDF document"),
        (b"junk before the header %PDF-1.4\n", "pdf", "PDF document"),
        (b"PK\x03\x04rest-of-a-docx", "other", "zip archive (or an Office document)"),
        (b"\x7fELF\x02\x01\x01", "other", "ELF executable"),
        (b"MZ\x90\x00", "other", "Windows executable"),
        (b"\x1f\x8b\x08\x00", "other", "gzip archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "other", "Office document (legacy OLE)"),
        (SVG, "other", "SVG image (may contain scripts)"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>x()</script></svg>", "other", "SVG image (may contain scripts)"),  # noqa: E501
        (b"<!DOCTYPE html><html><body>hi</body></html>", "text", "HTML text"),
        (b'{"error": "timeout"}', "text", "JSON text"),
        (b"a,b,c\n1,2,3\n4,5,6\n", "text", "CSV text"),
        (b"2026-05-01 ERROR worker timeout\n", "text", "text"),
        (b"caf\xe9 latin-1 is still text\n", "text", "text"),
        ("UTF-16 log".encode("utf-16"), "text", "UTF-16 text"),
        (bytes(range(256)) * 4, "other", "binary data"),
    ],
)  # fmt: skip
def test_the_type_comes_from_the_first_bytes(data: bytes, kind: str, label: str) -> None:
    found = sniff(data)
    assert (found.kind, found.label) == (kind, label)


def test_an_image_bomb_is_refused_from_its_header() -> None:
    with pytest.raises(ImageRefused, match="pixel limit"):
        shrink(image_bomb(), "PNG")


def test_an_image_that_lies_about_its_format_is_not_decoded_as_another() -> None:
    with pytest.raises(ImageRefused, match="could not be decoded"):
        shrink(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG")
    with pytest.raises(ImageRefused):
        shrink(b"P6\n10 10\n255\n" + b"\x00" * 300, "PPM")  # only PNG, JPEG, GIF and WebP


def test_a_noisy_image_is_reencoded_under_the_byte_cap() -> None:
    noise = Image.effect_noise((1700, 1000), 90).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)
    assert out.tell() > MAX_ENCODED
    shrunk = shrink(out.getvalue(), "PNG")
    assert len(shrunk.data) <= MAX_ENCODED and max(shrunk.shown_width, shrunk.shown_height) <= MAX_SIDE
    assert shrunk.mime == "image/jpeg"  # lossless did not fit


def test_pdf_reading_stops_at_the_page_cap() -> None:
    pdf = extract(text_pdf([[f"page {n}"] for n in range(1, MAX_PAGES + 21)]))
    assert pdf.pages == MAX_PAGES + 20 and pdf.pages_read == MAX_PAGES
    assert pdf.stopped == f"only the first {MAX_PAGES} pages are read"
    assert f"[Page {MAX_PAGES}]\npage {MAX_PAGES}" in pdf.text and f"[Page {MAX_PAGES + 1}]" not in pdf.text


def test_an_unreadable_pdf_is_refused_not_crashed() -> None:
    from pylon_mcp.attachments.pdfs import PdfRefused

    with pytest.raises(PdfRefused, match="could not be read"):
        extract(b"%PDF-1.4\nthis is not really a pdf")
