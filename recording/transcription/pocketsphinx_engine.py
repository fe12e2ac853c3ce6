"""PocketSphinx: works out of the box with the US English model shipped in the package.

Speech is cut into utterances by PocketSphinx's own voice activity detector (``Segmenter``),
then each utterance is decoded with the n-gram language model; word times come from the
decoder's segmentation (10 ms frames).
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
from pocketsphinx import Decoder, Segmenter

from recording.transcription.recogniser import (
    SAMPLE_RATE,
    ProgressFn,
    RecogniserError,
    Utterance,
    Word,
    as_bytes,
)

FRAME_S = 0.01
# Wider beams and a lower language weight than the defaults: slower, but measured fewer word
# errors on synthesised speech (bench/transcription.md).
TUNED: dict[str, Any] = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80, "lw": 5.0}
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_ALTERNATE = re.compile(r"\(\d+\)$")


class PocketSphinxRecogniser:
    """The PocketSphinx engine (English only: the model the package ships)."""

    name = "pocketsphinx"

    def __init__(self, language: str = "en-US", *, tuned: bool = False) -> None:
        if not language.lower().startswith("en"):
            raise RecogniserError("transcription.error.language_unsupported", language)
        self.language = language
        self.tuned = tuned
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **(TUNED if tuned else {}))

    def recognise(
        self, pcm16k: bytes | np.ndarray, progress: ProgressFn | None = None
    ) -> list[Utterance]:
        """Utterances between the silences of ``pcm16k``."""
        data = as_bytes(pcm16k)
        total_s = max(len(data) / 2 / SAMPLE_RATE, 1e-9)
        segmenter = Segmenter(sample_rate=SAMPLE_RATE)
        out: list[Utterance] = []
        for speech in segmenter.segment(io.BytesIO(data)):
            utterance = self._decode(speech.pcm, float(speech.start_time))
            if utterance is not None:
                out.append(utterance)
            if progress is not None:
                progress(min(1.0, float(speech.end_time) / total_s))
        if progress is not None:
            progress(1.0)
        return out

    def _decode(self, pcm: bytes, offset_s: float) -> Utterance | None:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return None
        words = []
        for seg in decoder.seg():
            if _FILLER.match(seg.word):
                continue
            words.append(
                Word(
                    text=_ALTERNATE.sub("", seg.word),
                    start_s=round(offset_s + seg.start_frame * FRAME_S, 3),
                    end_s=round(offset_s + (seg.end_frame + 1) * FRAME_S, 3),
                    confidence=float(seg.prob),
                )
            )
        if not words:
            return None
        return Utterance(
            start_s=words[0].start_s,
            end_s=words[-1].end_s,
            text=" ".join(w.text for w in words),
            confidence=round(sum(w.confidence for w in words) / len(words), 3),
            words=tuple(words),
        )
