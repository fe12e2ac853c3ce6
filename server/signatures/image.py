"""A handwritten signature as drawn in the browser: a real PNG of bounded size."""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from server.errors import FieldError, InvalidInput

MAX_PNG_BYTES = 200 * 1024
MAX_SIDE = 2000
MIN_SIDE = 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


def _refuse(key: str) -> InvalidInput:
    return InvalidInput(fields={"signature_png": FieldError(key)})


def decode_png(value: str) -> bytes:
    """The PNG bytes of a ``data:image/png;base64,…`` URL (or bare base64), checked: at most
    200 KB, the PNG signature, decodable by Pillow as a PNG, sides within bounds.
    :class:`InvalidInput` on the ``signature_png`` field otherwise."""
    text = value.strip()
    if text.startswith(DATA_URL_PREFIX):
        text = text[len(DATA_URL_PREFIX) :]
    if not text:
        raise _refuse("confirmation.error.signature_missing")
    if len(text) > (MAX_PNG_BYTES * 4) // 3 + 8:
        raise _refuse("confirmation.error.signature_too_large")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse("confirmation.error.signature_not_png") from None
    if len(data) > MAX_PNG_BYTES:
        raise _refuse("confirmation.error.signature_too_large")
    if not data.startswith(PNG_MAGIC):
        raise _refuse("confirmation.error.signature_not_png")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG":
                raise _refuse("confirmation.error.signature_not_png")
            width, height = probe.size
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                raise _refuse("confirmation.error.signature_size")
            probe.verify()
        # verify() leaves the image unusable; decode fully once more to catch truncated data.
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            # A pad submitted without a stroke is an empty (fully transparent) picture.
            if image.convert("RGBA").getchannel("A").getbbox() is None:
                raise _refuse("confirmation.error.signature_missing")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse("confirmation.error.signature_not_png") from None
    return data
