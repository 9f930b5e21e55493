"""Worker jobs of the alerts feature."""
from __future__ import annotations

JOBS: list = []
