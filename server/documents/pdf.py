"""A document's PDF: its canonical HTML laid out by WeasyPrint on A4 with Noto CJK fonts.

WeasyPrint embeds (subsets of) every font it uses, so the PDF reads the same on a machine with
no Chinese fonts. The stylesheet is ``web/static/css/documents.css``, the same one the screen
view links, so what is printed is what was shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from pathlib import Path

from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


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


async def cached_pdf(
    content: str, sha256: str, *, title: str, web_dir: Path, cache_dir: Path
) -> bytes:
    """The PDF of a document version, laid out once: a version's content never changes, so
    its PDF is kept under ``cache_dir`` named by the content's SHA-256 and the stylesheet's
    (a changed stylesheet lays documents out afresh). A long record takes seconds to lay out."""
    if not _HEX64.match(sha256):
        raise ValueError("not a SHA-256")
    path = await asyncio.to_thread(_cache_path, cache_dir, sha256, web_dir)
    kept = await asyncio.to_thread(_read, path)
    if kept is not None:
        return kept
    pdf = await render_pdf_async(content, title=title, web_dir=web_dir)
    await asyncio.to_thread(_keep, path, pdf)
    return pdf


def _cache_path(cache_dir: Path, sha256: str, web_dir: Path) -> Path:
    style = hashlib.sha256(stylesheet_path(web_dir).read_bytes()).hexdigest()[:16]
    return cache_dir / f"{sha256}-{style}.pdf"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _keep(path: Path, pdf: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(pdf)
        partial.replace(path)  # atomic: a reader sees the whole file or none
    except OSError:
        logger.warning("could not keep the PDF %s", path, exc_info=True)


def _refuse_fetch(url: str, timeout: int = 10, ssl_context: object = None) -> dict[str, object]:
    raise ValueError(f"documents may not load {url[:80]!r}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
