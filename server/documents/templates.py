"""Where a document's template comes from: the built-in forms in ``web/templates/documents/``,
or a centre's own file of the same name in ``<templates_dir>/<org code>/``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from server.documents.vocabulary import DocumentKind
from server.settings import Settings

# Organisation codes are digits and letters; anything else never becomes part of a path.
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class TemplateSource:
    """A template's text and its label (stored on the document: which file made it)."""

    text: str
    label: str


@dataclass(frozen=True)
class TemplateDirs:
    """The built-in templates and the root of the centres' override directories."""

    builtin: Path
    overrides: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> TemplateDirs:
        """The directories ``settings`` names (overrides default to ``<data_dir>/templates``)."""
        overrides = settings.templates_dir or settings.data_dir / "templates"
        return cls(builtin=settings.web_dir / "templates" / "documents", overrides=overrides)

    def source(self, kind: DocumentKind, org_code: str | None) -> TemplateSource:
        """The centre's own template for ``kind`` if it supplied one, else the built-in one."""
        name = file_name(kind)
        if org_code and _SAFE_CODE.match(org_code):
            own = self.overrides / org_code / name
            if own.is_file():
                return TemplateSource(own.read_text(encoding="utf-8"), f"{name}@centre:{org_code}")
        return TemplateSource((self.builtin / name).read_text(encoding="utf-8"), f"{name}@builtin")


def file_name(kind: DocumentKind) -> str:
    """The template file of a kind of document, e.g. ``agreement.html``."""
    return f"{kind.value}.html"
