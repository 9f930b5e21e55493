"""Worker jobs of the scoring feature."""
from __future__ import annotations

JOBS: list = []
