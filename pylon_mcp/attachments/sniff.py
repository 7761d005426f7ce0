"""What a file is, from its first bytes (magic numbers): never from its name or the host's Content-Type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["image", "text", "pdf", "other"]
HEAD = 8192  # bytes looked at to tell text from binary


@dataclass(frozen=True)
class FileType:
    kind: Kind
    label: str  # for people and models: "PNG image", "CSV text", "zip archive (or an Office document)"
    mime: str
    image_format: str | None = None  # Pillow's format name, for images


_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", FileType("image", "PNG image", "image/png", "PNG")),
    (b"\xff\xd8\xff", FileType("image", "JPEG image", "image/jpeg", "JPEG")),
    (b"GIF87a", FileType("image", "GIF image", "image/gif", "GIF")),
    (b"GIF89a", FileType("image", "GIF image", "image/gif", "GIF")),
)
# Binary formats that are named but never opened.
_OTHERS = (
    (b"PK\x03\x04", "zip archive (or an Office document)", "application/zip"),
    (b"PK\x05\x06", "zip archive (empty)", "application/zip"),
    (b"\x1f\x8b", "gzip archive", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "RAR archive", "application/vnd.rar"),
    (b"BZh", "bzip2 archive", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "xz archive", "application/x-xz"),
    (b"\x28\xb5\x2f\xfd", "zstd archive", "application/zstd"),
    (b"\x7fELF", "ELF executable", "application/x-executable"),
    (b"MZ", "Windows executable", "application/vnd.microsoft.portable-executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable", "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", "Mach-O or Java class file", "application/octet-stream"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Office document (legacy OLE)", "application/x-ole-storage"),
    (b"{\\rtf", "RTF document", "application/rtf"),
    (b"\x00asm", "WebAssembly module", "application/wasm"),
    (b"SQLite format 3\x00", "SQLite database", "application/vnd.sqlite3"),
    (b"II*\x00", "TIFF image", "image/tiff"),
    (b"MM\x00*", "TIFF image", "image/tiff"),
    (b"BM", "BMP image", "image/bmp"),
    (b"\x00\x00\x01\x00", "icon", "image/x-icon"),
    (b"%!PS", "PostScript", "application/postscript"),
)
BINARY = FileType("other", "binary data", "application/octet-stream")


def sniff(data: bytes) -> FileType:
    head = data[:HEAD]
    for magic, found in _IMAGES:
        if head.startswith(magic):
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType("image", "WebP image", "image/webp", "WEBP")
    if b"%PDF-" in head[:1024]:  # the header may follow up to 1 KB of junk
        return FileType("pdf", "PDF document", "application/pdf")
    if len(head) > 262 and head[257:262] == b"ustar":
        return FileType("other", "tar archive", "application/x-tar")
    for magic, label, mime in _OTHERS:
        if head.startswith(magic):
            return FileType("other", label, mime)
    if head[4:8] == b"ftyp":
        return FileType("other", "video or HEIC image (ISO media)", "video/mp4")
    return _text_type(head) or BINARY


def _text_type(head: bytes) -> FileType | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return FileType("text", "UTF-16 text", "text/plain")
    if b"\x00" in head:
        return None
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if controls > len(head) // 20:  # more than 5% control bytes: not text
        return None
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if b"<svg" in head[:4096].lower() and (start.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg"))):
        # SVG is a program as much as a picture (scripts, external loads): never rendered or returned.
        return FileType("other", "SVG image (may contain scripts)", "image/svg+xml")
    if start.startswith((b"<!doctype html", b"<html")):
        return FileType("text", "HTML text", "text/html")
    if start.startswith(b"<?xml") or start.startswith(b"<"):
        return FileType("text", "XML text", "application/xml")
    if start.startswith((b"{", b"[")):
        return FileType("text", "JSON text", "application/json")
    lines = head.split(b"\n")[:6]
    if (
        len(lines) >= 3
        and (commas := lines[0].count(b",")) >= 1
        and all(line.count(b",") == commas for line in lines[1:-1])
    ):
        return FileType("text", "CSV text", "text/csv")
    return FileType("text", "text", "text/plain")
