"""The built-in verdicts. Migration 0014 seeds them; this puts back any that are missing after
``migrate`` (and after a test database flush, which empties the tables but sends post_migrate),
without touching the names, flags or order an admin changed."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig

from cases.models import Resolution

# (slug, name, counts as false positive, position): the same rows as migration 0014's.
BUILTIN_RESOLUTIONS: tuple[tuple[str, str, bool, int], ...] = (
    ("true-positive", "True positive", False, 10),
    ("false-positive", "False positive", True, 20),
    ("benign", "Benign", False, 30),
    ("duplicate", "Duplicate", False, 40),
)


def ensure_builtin_resolutions(using: str = "default") -> int:
    """Create the missing built-ins; returns how many were created."""
    created = 0
    for slug, name, false_positive, position in BUILTIN_RESOLUTIONS:
        _, was_created = Resolution.objects.using(using).get_or_create(slug=slug, defaults={
            "name": name, "counts_as_false_positive": false_positive, "position": position, "builtin": True})
        created += was_created
    return created


def ensure_resolutions_after_migrate(sender: AppConfig, app_config: AppConfig | None = None,
                                     using: str = "default", **kwargs: Any) -> None:
    if app_config is not None and app_config.label == "cases":
        ensure_builtin_resolutions(using)
