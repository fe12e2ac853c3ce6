"""Vosk (Kaldi): Mandarin and dialect models that a centre installs in a directory
(``BILIN_VOSK_MODEL_DIR``). Nothing is downloaded: a missing or invalid directory is a clear
error, raised when the recogniser is made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from recording.transcription.recogniser import (
    SAMPLE_RATE,
    ProgressFn,
    RecogniserError,
    Utterance,
    Word,
    as_bytes,
)

# A Vosk model directory has the acoustic model in one of these places (small and big
# models are laid out differently).
MODEL_FILES = ("am/final.mdl", "final.mdl")
CHUNK_BYTES = SAMPLE_RATE * 2 // 2  # half a second


def check_model_dir(model_dir: Path | None) -> Path:
    """``model_dir`` if it looks like a Vosk model; :class:`RecogniserError` otherwise."""
    if model_dir is None or not model_dir.is_dir():
        raise RecogniserError("transcription.error.vosk_model_missing", str(model_dir or ""))
    if not any((model_dir / name).is_file() for name in MODEL_FILES):
        raise RecogniserError("transcription.error.vosk_model_invalid", str(model_dir))
    return model_dir


class VoskRecogniser:
    """The Vosk engine with the model in ``model_dir``."""

    name = "vosk"

    def __init__(self, model_dir: Path | None, language: str) -> None:
        path = check_model_dir(model_dir)
        import vosk  # the native library is loaded only when a model is configured

        vosk.SetLogLevel(-1)
        try:
            self._model: Any = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception when Kaldi refuses the model
            raise RecogniserError("transcription.error.vosk_model_invalid", str(path)) from exc
        self._vosk = vosk
        self.language = language
        # Chinese and Japanese are written without spaces between words.
        self._joiner = "" if language.lower().startswith(("zh", "ja", "yue")) else " "

    def recognise(
        self, pcm16k: bytes | np.ndarray, progress: ProgressFn | None = None
    ) -> list[Utterance]:
        """Utterances as Vosk's endpointer cuts them, with word times."""
        data = as_bytes(pcm16k)
        recogniser = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recogniser.SetWords(True)
        out: list[Utterance] = []
        for start in range(0, len(data), CHUNK_BYTES):
            if recogniser.AcceptWaveform(data[start : start + CHUNK_BYTES]):
                _append(out, recogniser.Result(), self._joiner)
            if progress is not None:
                progress(min(1.0, (start + CHUNK_BYTES) / max(len(data), 1)))
        _append(out, recogniser.FinalResult(), self._joiner)
        return out


def _append(out: list[Utterance], result_json: str, joiner: str) -> None:
    """Add Vosk's result (``{"text", "result": [{"word","start","end","conf"}]}``) if any."""
    result = json.loads(result_json)
    words = tuple(
        Word(
            text=str(w["word"]),
            start_s=float(w["start"]),
            end_s=float(w["end"]),
            confidence=float(w.get("conf", 1.0)),
        )
        for w in result.get("result", [])
    )
    if not words:
        return
    out.append(
        Utterance(
            start_s=words[0].start_s,
            end_s=words[-1].end_s,
            text=joiner.join(w.text for w in words),
            confidence=round(sum(w.confidence for w in words) / len(words), 3),
            words=words,
        )
    )
