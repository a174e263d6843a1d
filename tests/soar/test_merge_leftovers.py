"""No tracked file holds a leftover merge-conflict marker. A marker once sat in soar.css: the
browser dropped the rules next to it (skip links, navigation badges, underlined breadcrumb links)
and only the accessibility check under load noticed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(rb"^(<{7} |={7}$|>{7} )", re.MULTILINE)
TEXT_SUFFIXES = {".py", ".html", ".css", ".js", ".md", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".ini", ".json"}


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in names if name]
    return [f for f in files if f.suffix in TEXT_SUFFIXES and not f.name.endswith(".min.js") and f.is_file()]


def test_no_tracked_file_holds_a_merge_conflict_marker():
    files = tracked_text_files()
    assert len(files) > 100  # the listing worked
    leftovers = [f"{f.relative_to(ROOT)}:{m.group(0)!r}" for f in files for m in [MARKER.search(f.read_bytes())] if m]
    assert leftovers == []


def test_the_marker_pattern_finds_a_conflict():
    assert MARKER.search(b"a {}\n<<<<<<< HEAD\nb {}\n=======\nc {}\n>>>>>>> shift\n")
