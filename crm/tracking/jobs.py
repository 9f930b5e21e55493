"""Worker jobs of the tracking feature."""
from __future__ import annotations

JOBS: list = []
