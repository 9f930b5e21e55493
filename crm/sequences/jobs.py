"""Worker jobs of the sequences feature."""
from __future__ import annotations

JOBS: list = []
