"""Rendering a document template in a sandbox, and the SHA-256 of the result.

Templates may come from a centre, so they run in jinja2's ``SandboxedEnvironment`` with
autoescaping, and every name they use must be defined (``StrictUndefined``): a template that
refers to something the data lacks is refused rather than printing an empty gap into a legal
document.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from server.errors import InvalidInput
from server.validation import mask_id_number

logger = logging.getLogger(__name__)

# An 18-character PRC resident ID number standing alone in text.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


class TemplateRefused(InvalidInput):
    """A document template that does not render (syntax error, unknown name, unsafe access)."""

    key = "error.document_template"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cn_date"] = cn_date
    return env


def cn_date(value: Any) -> str:
    """An ISO date (``2026-11-28``, or a date) written the Chinese way: 2026年11月28日."""
    text = str(value)[:10]
    try:
        year, month, day = (int(part) for part in text.split("-"))
    except ValueError:
        return str(value)
    return f"{year}年{month}月{day}日"


def render_document(source: str, data: dict[str, Any], *, label: str) -> str:
    """The canonical content of a document: ``source`` filled with ``data``.

    Raises :class:`TemplateRefused` (naming the template and the problem) when it fails."""
    try:
        template = _environment().from_string(source)
        content = template.render(data)
    except jinja2.TemplateSyntaxError as exc:
        logger.info("document template %s: syntax error line %s: %s", label, exc.lineno, exc)
        raise TemplateRefused(template=label, reason=f"line {exc.lineno}: {exc.message}") from None
    except (jinja2.UndefinedError, jinja2.exceptions.SecurityError) as exc:
        logger.info("document template %s refused: %s", label, exc)
        raise TemplateRefused(template=label, reason=str(exc)) from None
    except Exception as exc:  # a centre's template may fail in any way while rendering
        logger.info("document template %s failed: %r", label, exc)
        raise TemplateRefused(template=label, reason=type(exc).__name__) from None
    return canonical(content)


def canonical(content: str) -> str:
    """The exact text the hash covers: Unix line ends, no trailing blanks at line ends."""
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def content_sha256(content: str) -> str:
    """The SHA-256 (hex) of a document's canonical content, as UTF-8."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def masked_for_screen(content: str) -> str:
    """The content with ID numbers masked, for showing on screen (the signed text and the PDF
    keep them whole: the agreement must identify the parties to the court)."""
    return _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), content)
