"""Supply fixtures: the S&OP cycle's (a cycle on PUMP and VALVE, an API caller per persona)."""
from tests.planning_bridge.sop.conftest import call, cycle, finance  # noqa: F401  (shared fixtures)
