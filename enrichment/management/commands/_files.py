"""File reading shared by the import commands: one clear CLI message per failure."""

from pathlib import Path

from django.core.management.base import CommandError


def read_text_file(path: Path) -> str:
    """The file's text (a UTF-8 BOM, as spreadsheets write it, is dropped)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file.")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read ({exc}).")
