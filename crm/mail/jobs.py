"""Worker jobs of the mail feature."""
from __future__ import annotations

JOBS: list = []
