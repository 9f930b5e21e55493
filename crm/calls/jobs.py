"""Worker jobs of the calls feature."""
from __future__ import annotations

JOBS: list = []
