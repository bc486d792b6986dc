"""The Chinese catalogue covers every message in the code (the UI is Chinese first)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gridguard"


def test_every_message_has_a_chinese_translation(tmp_path: Path) -> None:
    # Extract the messages of today's code into a copy of the catalogue, as makemessages would.
    tree = tmp_path / "gridguard"
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("static", "__pycache__", "*.mo"))
    gridguard = str(Path(sys.executable).parent / "gridguard")
    subprocess.run(
        [gridguard, "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v0"],
        cwd=tree,
        check=True,
        timeout=120,
    )
    po = tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    stats = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert "translated messages" in stats
    assert "untranslated" not in stats and "fuzzy" not in stats, (
        f"{stats.strip()}: run `cd src/gridguard && gridguard makemessages -l zh_Hans` "
        "and translate the new messages"
    )
