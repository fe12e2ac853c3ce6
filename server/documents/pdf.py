"""A document's PDF: its canonical HTML laid out by WeasyPrint on A4 with Noto CJK fonts.

WeasyPrint embeds (subsets of) every font it uses, so the PDF reads the same on a machine with
no Chinese fonts. The stylesheet is ``web/static/css/documents.css``, the same one the screen
view links, so what is printed is what was shown.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]


def stylesheet_path(web_dir: Path) -> Path:
    """The documents' stylesheet (screen and print)."""
    return web_dir / "static" / "css" / "documents.css"


def render_pdf(content: str, *, title: str, web_dir: Path) -> bytes:
    """The PDF of ``content`` (a document's canonical HTML fragment). CPU-bound: call it
    through :func:`render_pdf_async` from request handlers."""
    fonts = FontConfiguration()
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<title>{_escape(title)}</title></head><body class="doc-print">{content}</body></html>'
    )
    css = CSS(filename=str(stylesheet_path(web_dir)), font_config=fonts)
    # A document reaches no file or address while being laid out (a centre's template might
    # name one): every fetch is refused.
    pdf = HTML(string=page, base_url=None, url_fetcher=_refuse_fetch).write_pdf(
        stylesheets=[css], font_config=fonts
    )
    assert isinstance(pdf, bytes)
    return pdf


async def render_pdf_async(content: str, *, title: str, web_dir: Path) -> bytes:
    """:func:`render_pdf` in a worker thread, so the event loop keeps serving."""
    return await asyncio.to_thread(render_pdf, content, title=title, web_dir=web_dir)


def _refuse_fetch(url: str, timeout: int = 10, ssl_context: object = None) -> dict[str, object]:
    raise ValueError(f"documents may not load {url[:80]!r}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
