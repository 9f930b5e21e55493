"""The planning bridge reads the CRM only through crm.public / crm.signals, from one file;
the CRM imports the bridge only in its composition root."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_CRM_MODULES = {"crm.public", "crm.signals"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_bridge_reads_crm_only_through_its_port():
    offenders = []
    for path in (ROOT / "planning_bridge").rglob("*.py"):
        crm_imports = {m for m in imported_modules(path) if m == "crm" or m.startswith("crm.")}
        if not crm_imports:
            continue
        if path.name != "crm_port.py" or not crm_imports <= ALLOWED_CRM_MODULES:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(crm_imports)}")
    assert offenders == []


def test_crm_imports_the_bridge_only_in_the_composition_root():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "crm").rglob("*.py")
        if any(m.split(".")[0] == "planning_bridge" for m in imported_modules(path))
        and path.relative_to(ROOT).as_posix() != "crm/app.py"
    ]
    assert offenders == []


def test_the_scan_sees_the_port():
    assert "crm.public" in imported_modules(ROOT / "planning_bridge" / "crm_port.py")
