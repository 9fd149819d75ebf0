"""Images attached to proposals: checked and re-encoded by Pillow, so that what is stored and
served is a plain JPEG or PNG that carries no metadata (no EXIF — GPS position, camera, date —,
no XMP, ICC profile or PNG text chunk), whatever was uploaded.

Limits: ``MAX_IMAGE_BYTES`` per file, ``MAX_IMAGE_PIXELS`` per image (checked from the header,
before decoding: a small file that would decode to a huge bitmap is refused), JPEG or PNG as
recognised from the bytes (the file name and the browser's content type are ignored).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from participation.errors import InvalidImage

MAX_IMAGE_BYTES = 3 * 1024 * 1024
MAX_IMAGE_PIXELS = 24_000_000
MAX_IMAGE_SIDE = 8000
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def image_clean(raw: bytes) -> CleanImage:
    """The image re-encoded without metadata, or :class:`InvalidImage` saying why not."""
    if not raw:
        raise InvalidImage("The file is empty.")
    if len(raw) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"The image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=list(FORMATS)) as image:
                width, height = image.size
                if width < 1 or height < 1 or max(width, height) > MAX_IMAGE_SIDE:
                    raise InvalidImage(f"An image is at most {MAX_IMAGE_SIDE} pixels on a side.")
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidImage("The image has too many pixels.")
                kind = image.format
                image.load()  # decodes everything: a truncated or corrupt file fails here
                upright = ImageOps.exif_transpose(image)  # keep photos upright without EXIF
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("The file is not a JPEG or PNG image.") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise InvalidImage("The image is damaged or incomplete.") from None
    if upright.mode == "P":
        upright = upright.convert("RGBA")  # its transparency lived in the metadata we drop
    upright = upright.copy()
    upright.info = {}  # Pillow writes back a comment, EXIF, ICC profile or DPI it finds here
    out = io.BytesIO()
    if kind == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=88, optimize=True)  # no exif=, no icc_profile=
    else:
        if upright.mode not in ("RGB", "RGBA", "L", "LA"):
            upright = upright.convert("RGBA")
        upright.save(out, "PNG", optimize=True)  # no pnginfo=: no text chunks
    return CleanImage(out.getvalue(), FORMATS[kind], upright.width, upright.height)
