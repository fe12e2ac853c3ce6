"""Word error rate and real-time factor of the draft transcription engines on speech
synthesised by espeak-ng (several voices and speeds), through the same path as a recording:
Opus-encoded at 48 kHz, decoded and resampled to 16 kHz mono (``recording.transcription.audio``).

    .venv/bin/python bench/transcription_wer.py [--sentences N] [--vosk-model DIR]

Prints one row per engine configuration and voice, and the totals. Vosk runs only when a model
directory is given (none can be downloaded here).
"""

from __future__ import annotations

import argparse
import fractions
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recording.transcription.audio import SegmentFile, decode_track
from recording.transcription.pocketsphinx_engine import PocketSphinxRecogniser
from recording.transcription.recogniser import SAMPLE_RATE, Recogniser
from recording.transcription.wer import edit_distance, words

SENTENCES = [
    "the weather is nice today",
    "I paid the rent on the first of the month",
    "my neighbour plays loud music every night",
    "we agree to split the repair costs",
    "the water leak damaged my kitchen ceiling",
    "please send me the agreement by friday",
    "he has not returned the money he borrowed",
    "I want to settle this without going to court",
    "the landlord kept my deposit",
    "can we meet again next week",
    "the dog barks all day long",
    "she will pay two thousand yuan in three months",
]
VOICES = [("en-us+f2", 150), ("en-us+f5", 140), ("en-us+klatt", 140), ("en-us", 150)]


def synthesise(text: str, voice: str, speed: int, folder: Path) -> np.ndarray:
    """espeak-ng's speech, through Opus in WebM and back to 16 kHz, with 1 s of silence on
    each side."""
    wav = folder / "s.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
        check=True,
        capture_output=True,
    )
    with av.open(str(wav)) as source:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        pcm = np.concatenate(
            [
                f.to_ndarray().reshape(-1)
                for fr in source.decode(audio=0)
                for f in resampler.resample(fr)
            ]
        )
    pcm = np.concatenate([np.zeros(48_000, np.int16), pcm, np.zeros(48_000, np.int16)])
    webm = folder / "s.webm"
    with av.open(str(webm), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        stream.bit_rate = 32_000
        for index in range(len(pcm) // 960):
            frame = av.AudioFrame.from_ndarray(
                pcm[index * 960 : (index + 1) * 960].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = 48_000
            frame.pts = index * 960
            frame.time_base = fractions.Fraction(1, 48_000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return decode_track([SegmentFile(0, webm.read_bytes())]).pcm


KOREAN = [
    "안녕하세요 오늘 날씨가 좋네요",
    "이웃집 음악 소리가 너무 커요",
    "수리 비용을 반씩 나누기로 했어요",
    "다음 주에 다시 만납시다",
    "돈을 아직 돌려받지 못했어요",
    "법원에 가지 않고 해결하고 싶어요",
]
KOREAN_VOICES = [("ko", 150), ("ko+f2", 140)]

Suite = tuple[str, Recogniser, list[str], list[tuple[str, int]]]


def run(suites: list[Suite]) -> None:
    """Synthesise each suite's sentences in its voices, recognise, print a row per voice."""
    print(f"{'engine':<22} {'voice':<16} {'WER':>6} {'RTF':>6}")
    for name, engine, sentences, voices in suites:
        with tempfile.TemporaryDirectory() as tmp:
            audio = {
                voice: [synthesise(s, voice, speed, Path(tmp)) for s in sentences]
                for voice, speed in voices
            }
        errors = total = 0
        busy = heard = 0.0
        for voice, speed in voices:
            v_errors = v_total = 0
            v_busy = v_heard = 0.0
            for text, pcm in zip(sentences, audio[voice], strict=True):
                t0 = time.process_time()
                hyp = " ".join(u.text for u in engine.recognise(pcm))
                v_busy += time.process_time() - t0
                v_heard += len(pcm) / SAMPLE_RATE
                v_errors += edit_distance(words(text), words(hyp))
                v_total += len(words(text))
            print(
                f"{name:<22} {voice + ' ' + str(speed):<16} {v_errors / v_total:6.3f} "
                f"{v_busy / v_heard:6.3f}",
                flush=True,
            )
            errors, total = errors + v_errors, total + v_total
            busy, heard = busy + v_busy, heard + v_heard
        print(f"{name:<22} {'all':<16} {errors / total:6.3f} {busy / heard:6.3f}\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=len(SENTENCES))
    parser.add_argument("--vosk-model", type=Path, default=None)
    parser.add_argument(
        "--vosk-language", default="en-US", help="ko-KR: Korean sentences and voices"
    )
    parser.add_argument("--no-pocketsphinx", action="store_true")
    args = parser.parse_args()
    sentences = SENTENCES[: args.sentences]
    suites: list[Suite] = []
    if not args.no_pocketsphinx:
        suites += [
            ("pocketsphinx default", PocketSphinxRecogniser(tuned=False), sentences, VOICES),
            ("pocketsphinx tuned", PocketSphinxRecogniser(tuned=True), sentences, VOICES),
        ]
    if args.vosk_model:
        from recording.transcription.vosk_engine import VoskRecogniser

        vosk = VoskRecogniser(args.vosk_model, args.vosk_language)
        if args.vosk_language.lower().startswith("ko"):
            suites.append(("vosk (ko)", vosk, KOREAN, KOREAN_VOICES))
        else:
            suites.append(("vosk", vosk, sentences, VOICES))
    print(f"command: {' '.join(['.venv/bin/python', *sys.argv])}")
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    for name, _engine, said, voices in suites:
        print(f"{name}: {len(said)} sentences x {len(voices)} voices, Opus 32 kb/s round trip")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (RTF is CPU time / audio time)")
    print("WER counts words; Chinese characters and Hangul syllables count one each (CER)\n")
    run(suites)


if __name__ == "__main__":
    main()
