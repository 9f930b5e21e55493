"""Tables of the alerts feature."""
from __future__ import annotations
