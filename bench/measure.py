"""Timing many runs of a coroutine and printing the results as a table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One row of the results table."""

    backend: str
    cases: int
    scenario: str
    p50_ms: float | None
    p95_ms: float | None
    target_ms: float | None  # None: shown for information, no target

    @property
    def verdict(self) -> str:
        """``pass``, ``FAIL``, or ``-`` for rows without a target or without figures."""
        if self.target_ms is None or self.p95_ms is None:
            return "-"
        return "pass" if self.p95_ms < self.target_ms else "FAIL"


async def timed(
    run: Callable[[int], Awaitable[object]], runs: int, warmup: int
) -> tuple[float, float]:
    """p50 and p95 in ms of ``runs`` calls of ``run(i)``, after ``warmup`` untimed calls."""
    for i in range(warmup):
        await run(i)
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        await run(warmup + i)
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def percentile(samples: list[float], p: int) -> float:
    """The ``p``-th percentile (inclusive method, so small samples still give a value)."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def table(results: list[Result]) -> str:
    """The results as a Markdown table (readable in a terminal, pasteable into the README)."""
    header = ("backend", "cases", "scenario", "p50 ms", "p95 ms", "target", "pass/fail")
    rows = [header]
    for r in results:
        rows.append(
            (
                r.backend,
                f"{r.cases:,}",
                r.scenario,
                _ms(r.p50_ms),
                _ms(r.p95_ms),
                f"< {r.target_ms:g}" if r.target_ms is not None else "-",
                r.verdict,
            )
        )
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    numeric = {1, 3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            _pad(cell, widths[i], right=i in numeric and row is not header)
            for i, cell in enumerate(row)
        ]
        return "| " + " | ".join(cells) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap
