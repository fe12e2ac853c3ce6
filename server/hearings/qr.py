"""QR codes of invitation links, drawn on the server as SVG (no outside service)."""

from __future__ import annotations

import segno
from markupsafe import Markup

QR_ERROR_LEVEL = "m"


def qr_svg(link: str) -> Markup:
    """An inline SVG QR code of ``link``.

    segno's SVG holds only path data computed from the modules, never the link's text, so it is
    safe to embed as it is.
    """
    code = segno.make(link, error=QR_ERROR_LEVEL, micro=False)
    svg = code.svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None, omitsize=True
    )
    return Markup(svg)  # noqa: S704
