"""deployproof.images: the app's images and their build contexts (no docker needed)."""

from __future__ import annotations

from deployproof.imagebuild import ignore_patterns
from deployproof.images import APP_IMAGES


def test_repository_ignore_rules_exclude_build_and_cache_folders():
    rules = {spec.name: ignore_patterns(spec.dockerfile) for spec in APP_IMAGES}
    assert {".venv", "**/__pycache__"} <= set(rules["backend"])
    assert {"node_modules", ".next"} <= set(rules["frontend"])
