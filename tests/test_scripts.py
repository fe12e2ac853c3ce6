"""The README's commands start with scripts/setup.sh; a broken setup breaks them silently."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_setup_without_dev_tools_succeeds_and_leaves_a_working_bilin() -> None:
    # scripts/demo.sh runs this before `bilin demo`; it must exit 0 on a prepared machine.
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (ROOT / ".venv" / ".bilin-installed").exists()
    help_text = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "bilin"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for command in ("serve", "demo", "demo-session", "user", "db"):
        assert command in help_text
