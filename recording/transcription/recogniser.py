"""The one interface every speech recogniser implements, and choosing one from settings.

A recogniser takes 16 kHz mono signed 16-bit PCM and returns utterances with times in
seconds from the start of that PCM; the caller adds the track's session-clock offset. Engines
are CPU-heavy and synchronous: call them from a thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16_000
ENGINES = ("pocketsphinx", "vosk")

# Called with the fraction (0..1) of the PCM recognised so far.
ProgressFn = Callable[[float], None]


class RecogniserError(Exception):
    """A recogniser cannot be made or run: ``key`` is an i18n message key shown to people."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key


@dataclass(frozen=True)
class Word:
    """One recognised word, times in seconds from the start of the PCM."""

    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech between silences, times in seconds from the start of the PCM.
    ``confidence`` is the engine's own 0..1 figure (mean word posterior)."""

    start_s: float
    end_s: float
    text: str
    confidence: float
    words: tuple[Word, ...] = ()


class Recogniser(Protocol):
    """A speech recogniser for one language."""

    @property
    def name(self) -> str:
        """The engine's name as stored on transcripts (``pocketsphinx``, ``vosk``)."""
        ...

    @property
    def language(self) -> str:
        """The language of its model (BCP 47, e.g. ``en-US``, ``zh-CN``)."""
        ...

    def recognise(
        self, pcm16k: bytes | np.ndarray, progress: ProgressFn | None = None
    ) -> list[Utterance]:
        """Utterances in ``pcm16k`` (16 kHz mono int16), in time order."""
        ...


def as_bytes(pcm16k: bytes | np.ndarray) -> bytes:
    """The PCM as little-endian int16 bytes."""
    if isinstance(pcm16k, bytes):
        return pcm16k
    return np.ascontiguousarray(pcm16k, dtype="<i2").tobytes()


def make_recogniser(
    engine: str, language: str, vosk_model_dir: Path | None = None, *, tuned: bool = False
) -> Recogniser:
    """The configured recogniser. :class:`RecogniserError` when it cannot be made (unknown
    engine, a Vosk model directory missing or invalid)."""
    if engine == "pocketsphinx":
        from recording.transcription.pocketsphinx_engine import PocketSphinxRecogniser

        return PocketSphinxRecogniser(language, tuned=tuned)
    if engine == "vosk":
        from recording.transcription.vosk_engine import VoskRecogniser

        return VoskRecogniser(vosk_model_dir, language)
    raise RecogniserError("transcription.error.engine_unknown", engine)
