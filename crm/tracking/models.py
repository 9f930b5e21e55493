"""Tables of the tracking feature."""
from __future__ import annotations
