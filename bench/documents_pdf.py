"""How long a document takes to render: the sandboxed template (HTML) and the PDF, for a
two-page agreement and a long mediation record; WeasyPrint (what Bilin uses) beside headless
Chromium's print-to-PDF (the alternative), with the PDF's size and whether every font is
embedded.

    .venv/bin/python -m bench.documents_pdf [--runs 10] [--statements 300] [--no-chromium]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.documents.pdf import render_pdf, stylesheet_path
from server.documents.render import render_document
from server.documents.templates import TemplateDirs
from server.documents.vocabulary import DocumentKind
from server.settings import WEB_DIR

CHROMIUM = "/usr/bin/chromium"


def agreement_data() -> dict[str, Any]:
    from tests.server.test_documents import AGREEMENT

    return AGREEMENT


def record_data(statements: int) -> dict[str, Any]:
    from tests.server.test_documents import RECORD

    said = [
        ("王德明", "请双方陈述各自的意见，说明事实经过和诉求。"),
        ("张秀兰", "从九月开始厨房顶棚渗水，墙皮脱落，柜子也泡坏了，我要求对方修好并赔偿损失。"),
        ("李建国", "我家卫生间确实漏水，我愿意请人维修，但赔偿金额需要再商量。"),
    ]
    rows = []
    for i in range(statements):
        name, text = said[i % 3]
        seconds = 5 + i * 17
        clock = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        rows.append({"speaker_name": name, "text": f"{text}（第{i + 1}条）", "clock": clock})
    return {**RECORD, "statements": rows}


def timed(action: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    action()  # warm-up (fonts loaded, templates compiled)
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def pages_and_fonts(pdf: bytes) -> tuple[str, str]:
    if not shutil.which("pdfinfo"):
        return "?", "?"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.check_output(["pdfinfo", f.name], text=True)
        fonts = subprocess.check_output(["pdffonts", f.name], text=True).splitlines()[2:]
    pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    embedded = all(line.split()[-5] == "yes" for line in fonts) if fonts else False
    return pages, f"{len(fonts)} fonts, {'all' if embedded else 'NOT all'} embedded"


def chromium_pdf(content: str, runs: int) -> tuple[list[float], bytes] | None:
    if not os.path.exists(CHROMIUM):
        return None
    from playwright.sync_api import sync_playwright

    css = stylesheet_path(WEB_DIR).read_text(encoding="utf-8")
    page_html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<style>{css}</style></head><body class="doc-print">{content}</body></html>'
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()

        def once() -> bytes:
            page.set_content(page_html)
            return page.pdf(format="A4", prefer_css_page_size=True)

        times, pdf = timed(once, runs)
        browser.close()
    return times, pdf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--statements", type=int, default=300)
    parser.add_argument("--no-chromium", action="store_true")
    args = parser.parse_args()
    print("$ " + " ".join([".venv/bin/python -m bench.documents_pdf", *sys.argv[1:]]))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cpus: {os.cpu_count()}")
    templates = TemplateDirs(builtin=WEB_DIR / "templates" / "documents", overrides=Path("/-"))
    cases = [
        ("agreement", DocumentKind.AGREEMENT, agreement_data()),
        (
            f"record, {args.statements} statements",
            DocumentKind.MEDIATION_RECORD,
            record_data(args.statements),
        ),
    ]
    rows = []
    for label, kind, data in cases:
        source = templates.source(kind, None)
        html_times, content = timed(
            lambda source=source, data=data: render_document(source.text, data, label=source.label),
            args.runs,
        )
        pdf_times, pdf = timed(
            lambda content=content, label=label: render_pdf(content, title=label, web_dir=WEB_DIR),
            args.runs,
        )
        pages, fonts = pages_and_fonts(pdf)
        rows.append((label, "template → HTML", html_times, len(content.encode()), "", ""))
        rows.append((label, "WeasyPrint → PDF", pdf_times, len(pdf), pages, fonts))
        if not args.no_chromium:
            measured = chromium_pdf(content, args.runs)
            if measured is not None:
                c_times, c_pdf = measured
                c_pages, c_fonts = pages_and_fonts(c_pdf)
                rows.append((label, "Chromium → PDF", c_times, len(c_pdf), c_pages, c_fonts))
    print()
    print(
        f"{'document':<26} {'step':<18} {'p50 ms':>8} {'max ms':>8} {'bytes':>9} "
        f"{'pages':>5}  fonts"
    )
    for label, step, times, size, pages, fonts in rows:
        print(
            f"{label:<26} {step:<18} {statistics.median(times):>8.1f} {max(times):>8.1f} "
            f"{size:>9} {pages:>5}  {fonts}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
