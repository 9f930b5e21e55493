"""Tables of the calls feature."""
from __future__ import annotations
