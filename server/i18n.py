"""Translations: zh-CN by default, English available.

Catalogues are JSON files under ``web/i18n/<locale>/``, one per area of the site, merged at
start. Keys are dotted (``status.registered``); a missing key falls back to zh-CN, then to the
key itself, so a gap shows up in the page rather than crashing it (and a test checks both
catalogues hold the same keys).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LOCALES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"


@dataclass(frozen=True)
class Catalogues:
    """Every locale's merged catalogue."""

    messages: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, i18n_dir: Path) -> Catalogues:
        """Read and merge ``<i18n_dir>/<locale>/*.json``."""
        messages: dict[str, dict[str, str]] = {}
        for locale in LOCALES:
            merged: dict[str, str] = {}
            for path in sorted((i18n_dir / locale).glob("*.json")):
                data = json.loads(path.read_text(encoding="utf-8"))
                overlap = merged.keys() & data.keys()
                if overlap:
                    logger.warning("%s redefines %s", path, sorted(overlap)[:5])
                merged.update(data)
            messages[locale] = merged
        return cls(messages)

    def translator(self, locale: str) -> Translator:
        """A translator for ``locale`` (unknown locales get the default)."""
        if locale not in self.messages:
            locale = DEFAULT_LOCALE
        return Translator(locale, self.messages[locale], self.messages[DEFAULT_LOCALE])


@dataclass(frozen=True)
class Translator:
    """Looks up and formats messages for one locale."""

    locale: str
    messages: Mapping[str, str]
    fallback: Mapping[str, str]

    def __call__(self, key: str, **params: Any) -> str:
        text = self.messages.get(key) or self.fallback.get(key) or key
        if params:
            try:
                return text.format(**params)
            except (KeyError, IndexError, ValueError):
                logger.warning("message %s could not be formatted with %s", key, sorted(params))
        return text

    def has(self, key: str) -> bool:
        """Whether ``key`` is in this locale's catalogue."""
        return key in self.messages


def negotiate_locale(requested: str | None, accept_language: str | None) -> str:
    """Pick a supported locale: an explicit choice first, then the browser's, else zh-CN."""
    for candidate in (requested, *_accept_language(accept_language)):
        if not candidate:
            continue
        low = candidate.lower()
        if low.startswith("zh"):
            return "zh-CN"
        if low.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def _accept_language(header: str | None) -> list[str]:
    if not header:
        return []
    ranked: list[tuple[float, str]] = []
    for part in header.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, lang.strip()))
    return [lang for _, lang in sorted(ranked, key=lambda item: -item[0])]
