"""Word error rate: how far a recognised text is from what was said (tests and benchmarks)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+|[\u4e00-\u9fff]|[\uac00-\ud7a3]")


def words(text: str) -> list[str]:
    """Lower-case words; each Chinese character or Hangul syllable counts as one (so the
    rate is a character error rate for those scripts)."""
    return _WORD.findall(text.lower())


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions, insertions and deletions turning ``reference`` into ``hypothesis``."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[:], i
        for j, hyp in enumerate(hypothesis, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ref != hyp))
    return row[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Edits per reference word (0 is perfect; can exceed 1 with many insertions)."""
    ref = words(reference)
    return edit_distance(ref, words(hypothesis)) / max(len(ref), 1)
