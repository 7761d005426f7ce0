"""Images for a model: decoded with Pillow (four formats only), downscaled, re-encoded within a byte cap."""

from __future__ import annotations

import io
from dataclasses import dataclass

MAX_SIDE = 1568  # long side a model sees in full detail; larger only costs tokens
MAX_ENCODED = 1_000_000  # bytes of the image returned
# Pillow's decompression-bomb limit, set explicitly rather than trusting its default: a 6000×4000
# screenshot (24 MP) passes, a 20000×20000 PNG of a few KB (400 MP, gigabytes once decoded) does not.
MAX_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


class ImageRefused(ValueError):
    pass


@dataclass(frozen=True)
class Shrunk:
    data: bytes
    mime: str
    width: int  # original
    height: int
    shown_width: int
    shown_height: int
    frames: int


def shrink(data: bytes, image_format: str) -> Shrunk:
    """Decode, downscale to MAX_SIDE, re-encode to at most MAX_ENCODED bytes. CPU-bound: call off the loop."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # beyond twice this Pillow refuses even if a check below were missed
    if image_format not in FORMATS:
        raise ImageRefused(f"{image_format} images are not opened")
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > MAX_PIXELS:
                raise ImageRefused(
                    f"{width}×{height} pixels is over the {MAX_PIXELS:,}-pixel limit (an image bomb, or too big "
                    "to decode safely); not opened"
                )
            frames = getattr(image, "n_frames", 1)
            if image_format == "JPEG":
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at a reduced scale: far less work
            image.seek(0)
            alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
            picture = image.convert("RGBA" if alpha else "RGB")
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        raise ImageRefused(
            f"the image is over the {MAX_PIXELS:,}-pixel limit (an image bomb, or too big to decode safely); "
            "not opened"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRefused(
            f"the image could not be decoded ({type(exc).__name__}: {str(exc)[:120]})"
        ) from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    lossless = image_format in ("PNG", "GIF")  # screenshots: keep text crisp when it fits
    encoded, mime = _encode(picture, lossless)
    while len(encoded) > MAX_ENCODED:
        picture = picture.resize((max(1, picture.width * 3 // 4), max(1, picture.height * 3 // 4)))
        encoded, mime = _encode(picture, lossless=False)
    return Shrunk(encoded, mime, width, height, picture.width, picture.height, frames)


def _encode(picture: object, lossless: bool) -> tuple[bytes, str]:
    from PIL import Image

    assert isinstance(picture, Image.Image)
    out = io.BytesIO()
    if lossless:
        picture.save(out, "PNG", optimize=False, compress_level=6)
        if out.tell() <= MAX_ENCODED:
            return out.getvalue(), "image/png"
        out = io.BytesIO()
    if picture.mode == "RGBA":  # JPEG has no alpha: flatten onto white, as a viewer would show it
        flat = Image.new("RGB", picture.size, (255, 255, 255))
        flat.paste(picture, mask=picture.getchannel("A"))
        picture = flat
    for quality in (85, 70, 50):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= MAX_ENCODED:
            break
    return out.getvalue(), "image/jpeg"
