"""Tables of the scoring feature."""
from __future__ import annotations
