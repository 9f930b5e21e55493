"""Worker jobs of the meetings feature."""
from __future__ import annotations

JOBS: list = []
