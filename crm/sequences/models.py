"""Tables of the sequences feature."""
from __future__ import annotations
