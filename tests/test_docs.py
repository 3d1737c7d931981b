"""The documentation site: `mkdocs build --strict` (a broken link or anchor, a page missing
from the navigation, fails it), its references generated from the code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from buzzwatch.cli import COMMANDS
from buzzwatch.configuration import tables

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_strict_with_references_from_the_code(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    result = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    commands = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"buzzwatch {command}" in commands, command
    assert "buzzwatch evaluate crisis" in commands and "--date-undated" in commands
    configuration = (site / "reference" / "configuration" / "index.html").read_text("utf-8")
    for table in tables():
        assert f"[{table}" in configuration, table
    assert "[detection.volume]" in configuration and "record_share" in configuration
    front = (site / "index.html").read_text(encoding="utf-8")
    assert "Two commands" in front and "make demo" in front  # the README is the front page


def test_a_broken_anchor_fails_the_build(tmp_path: Path) -> None:
    """The check has teeth: the same site with one link to a heading that is not there."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    shutil.copy(ROOT / "README.md", tmp_path)
    guide = tmp_path / "docs" / "guides" / "ops.md"
    guide.write_text(guide.read_text("utf-8") + "\nSee [feeds](integrators.md#no-such-heading).\n")
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", "site"]
    result = subprocess.run(build, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "no-such-heading" in result.stderr
    guide.write_text(guide.read_text("utf-8").replace("#no-such-heading", "#feeds"))
    readme = tmp_path / "README.md"  # the front page's links into the repository are checked
    readme.write_text(readme.read_text("utf-8") + "\n[gone](buzzwatch/gone.py)\n")
    result = subprocess.run(build, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "buzzwatch/gone.py" in result.stderr
