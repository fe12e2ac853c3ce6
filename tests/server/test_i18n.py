"""Translation catalogues: both languages hold the same keys, and every message key the server
raises exists in both (otherwise a person would read "field.xxx" instead of a sentence)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from server.i18n import LOCALES, Catalogues
from server.settings import WEB_DIR

ROOT = Path(__file__).resolve().parents[2]
MESSAGE_KEY = re.compile(r"^(field|error)\.[a-z0-9_]+(\.[a-z0-9_]+)*$")


def _catalogues() -> Catalogues:
    return Catalogues.load(WEB_DIR / "i18n")


def _keys_used_in_server() -> dict[str, list[str]]:
    """``{key: [file:line, …]}`` for every "field.…"/"error.…" string literal under server/."""
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "server").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and MESSAGE_KEY.match(node.value)
                and not node.value.endswith((".html", ".json"))
            ):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                used.setdefault(node.value, []).append(where)
    return used


def test_both_languages_hold_the_same_keys() -> None:
    messages = _catalogues().messages
    zh, en = set(messages["zh-CN"]), set(messages["en"])
    assert sorted(zh - en) == [], "keys only in zh-CN"
    assert sorted(en - zh) == [], "keys only in en"


def test_every_catalogue_file_has_a_counterpart_with_the_same_keys() -> None:
    for path in sorted((WEB_DIR / "i18n" / "zh-CN").glob("*.json")):
        other = WEB_DIR / "i18n" / "en" / path.name
        assert other.exists(), f"{path.name} has no English counterpart"
        zh = json.loads(path.read_text(encoding="utf-8"))
        en = json.loads(other.read_text(encoding="utf-8"))
        assert sorted(set(zh) ^ set(en)) == [], path.name


def test_no_message_is_empty_or_untranslated() -> None:
    messages = _catalogues().messages
    for locale in LOCALES:
        empty = [key for key, text in messages[locale].items() if not text.strip()]
        assert empty == [], f"empty messages in {locale}"
    # A zh-CN message with no Chinese at all is almost certainly English left untranslated.
    for key in _keys_used_in_server():
        text = messages["zh-CN"].get(key, "")
        assert re.search(r"[\u4e00-\u9fff]", text), f"{key} is not Chinese in zh-CN: {text!r}"


def test_every_key_used_in_server_code_exists_in_both_languages() -> None:
    used = _keys_used_in_server()
    assert "field.applicant_required" in used  # the scan itself works
    messages = _catalogues().messages
    for locale in LOCALES:
        missing = {key: where for key, where in used.items() if key not in messages[locale]}
        assert missing == {}, f"missing in {locale}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_agree_between_languages(locale: str) -> None:
    messages = _catalogues().messages
    for key, text in messages[locale].items():
        other = messages["en" if locale == "zh-CN" else "zh-CN"].get(key, "")
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", other)), key
