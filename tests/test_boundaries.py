"""The shape every feature keeps (issue 13), checked on the source so a newcomer learns the
moment they reach into another feature's insides:

- a feature imports another feature only through its ``services`` (or ``models``, for
  relationships and types); the kernel (``KERNEL``) is open to everyone;
- no ``importlib`` and no import inside a function of a project module, except the short,
  commented ``ALLOWED_IN_FUNCTION`` list;
- no name starting with ``_`` crosses a module boundary;
- only the composition root builds the app from the manifest; the bridge reads the CRM only
  through ``crm.public`` / ``crm.kit`` / ``crm.signals``, from ``crm_port.py``;
- no import cycle between features;
- the manifest names every blueprint, API route table, job table and contact panel there is.

The checks are functions of (module name, source) so the last tests can feed them code that
breaks each rule and see them catch it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from crm.features import FEATURES

ROOT = Path(__file__).resolve().parent.parent

# Packages and modules every feature may import: infrastructure, not features. Why each is
# here: extensions/timeutil/errors/validation/jsontype/policy are the shared rules and tools;
# web and api are the page and JSON plumbing; signals is how features talk without importing
# each other; public*/kit are the port the bridge reads; scheduler holds ``Job``; jobs and
# ratelimits are infrastructure tables (background work, rate-limit counters) features use;
# i18n is the translation helpers (``_``, ``_l``) every feature's text goes through; textfold
# the accent- and case-insensitive matching rule (Python and SQL) searches and rules share;
# filestore the rule that an uploaded file exists exactly when its row is committed.
KERNEL = {
    "extensions", "timeutil", "errors", "validation", "jsontype", "policy", "signals", "web", "api",
    "public", "public_history", "public_types", "kit", "scheduler", "jobs", "ratelimits", "i18n",
    "textfold", "filestore",
}
# The composition root and the manifest: they know every feature; no feature knows them.
WIRING = {"app", "features", "cli"}
FACES = {"services", "models"}

# In-function imports of project modules that stay, each with the reason it can't move.
ALLOWED_IN_FUNCTION: dict[tuple[str, str], str] = {
    ("crm.extensions", "crm.ratelimits.storage"):
        "the limiter's database storage is a model on ``db``, which this module defines",
}
# Modules allowed to call importlib: the manifest's loader names modules by string.
ALLOWED_IMPORTLIB = {"crm.features"}
BRIDGE_PORT = {"crm.public", "crm.signals", "crm.kit"}


@dataclass(frozen=True)
class ImportFact:
    module: str       # the importing module, dotted
    target: str       # the imported module, dotted (for "from a import b": a, or a.b if b is a module)
    names: tuple[str, ...]
    in_function: bool
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_project(target: str) -> bool:
    return target.split(".")[0] in {"crm", "planning_bridge"}


def is_package(module: str) -> bool:
    return (ROOT / Path(*module.split(".")) / "__init__.py").exists()


def resolve(module: str, node: ast.ImportFrom, package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_facts(module: str, source: str, *, package: bool = False) -> list[ImportFact]:
    tree = ast.parse(source)
    facts: list[ImportFact] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    facts.append(ImportFact(module, alias.name, (), inside, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                target = resolve(module, child, package)
                names = tuple(alias.name for alias in child.names)
                submodules = [n for n in names if is_package(target) and is_project(target)
                              and _is_module(f"{target}.{n}")]
                for name in submodules:
                    facts.append(ImportFact(module, f"{target}.{name}", (), inside, child.lineno))
                rest = tuple(n for n in names if n not in submodules)
                if rest or not submodules:
                    facts.append(ImportFact(module, target, rest, inside, child.lineno))
            visit(child, inside)

    visit(tree, False)
    return facts


def _is_module(dotted: str) -> bool:
    path = ROOT / Path(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def feature_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] == "planning_bridge":
        return "planning_bridge"
    if parts[0] != "crm" or len(parts) < 2:
        return None
    return parts[1]


# --- the rules, each a function of the facts of one module -----------------------------------

def reaches_into_another_feature(fact: ImportFact) -> bool:
    mine, theirs = feature_of(fact.module), feature_of(fact.target)
    if fact.module.split(".")[0] != "crm" or mine in KERNEL | WIRING or mine is None:
        return False
    if theirs is None or theirs == mine or theirs in KERNEL or theirs == "planning_bridge":
        return False
    if theirs in WIRING:
        return True
    parts = fact.target.split(".")
    return len(parts) != 3 or parts[2] not in FACES


def imports_inside_a_function(fact: ImportFact) -> bool:
    return fact.in_function and is_project(fact.target) \
        and (fact.module, fact.target) not in ALLOWED_IN_FUNCTION


# gettext's conventional names (crm.i18n): public, whatever their underscore says.
TRANSLATION_NAMES = {"_", "_l"}


def imports_a_private_name(fact: ImportFact) -> bool:
    return is_project(fact.target) and any(n.startswith("_") and not n.startswith("__")
                                           and n not in TRANSLATION_NAMES for n in fact.names)


def private_attributes_of_imported_modules(module: str, source: str, facts: list[ImportFact]) -> list[str]:
    """``sender._hook`` where ``sender`` is a project module imported here."""
    tree = ast.parse(source)
    module_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = resolve(module, node, False)
            for alias in node.names:
                if is_project(target) and _is_module(f"{target}.{alias.name}"):
                    module_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if is_project(alias.name) and alias.asname:
                    module_aliases.add(alias.asname)
    return [
        f"{module}:{node.lineno} {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id in module_aliases and node.attr.startswith("_") and not node.attr.startswith("__")
    ]


def uses_importlib(module: str, source: str) -> bool:
    if module in ALLOWED_IMPORTLIB:
        return False
    return any(f.target.split(".")[0] == "importlib" for f in import_facts(module, source)) \
        or "__import__(" in source


def builds_the_app(fact: ImportFact) -> bool:
    """Only the composition root (and the scheduler's job table, the CLI it mounts) read the
    manifest; nothing but ``wsgi.py`` and tests import the app factory."""
    if fact.target in {"crm.app"}:
        return True
    if fact.target == "crm.features":
        return fact.module not in {"crm.app", "crm.scheduler"}
    if fact.target == "crm.cli":
        return fact.module != "crm.app"
    return False


def bridge_outside_its_port(fact: ImportFact) -> bool:
    if fact.module.split(".")[0] != "planning_bridge" or fact.target.split(".")[0] != "crm":
        return False
    return fact.module != "planning_bridge.crm_port" or fact.target not in BRIDGE_PORT


def port_leans_on_infrastructure(fact: ImportFact) -> bool:
    """The port (records and reads) stays narrow: it offers data, not the app's plumbing."""
    if fact.module not in {"crm.public", "crm.public_history", "crm.public_types"}:
        return False
    return fact.target.startswith(("crm.api", "crm.web", "crm.scheduler", "crm.kit"))


def crm_imports_the_bridge(fact: ImportFact) -> bool:
    return fact.module.split(".")[0] == "crm" and fact.target.split(".")[0] == "planning_bridge"


# --- scanning the tree -----------------------------------------------------------------------

def project_sources() -> list[tuple[str, str, bool]]:
    paths = sorted((ROOT / "crm").rglob("*.py")) + sorted((ROOT / "planning_bridge").rglob("*.py"))
    return [(module_name(p), p.read_text(), p.name == "__init__.py") for p in paths]


@pytest.fixture(scope="module")
def facts() -> list[ImportFact]:
    return [f for module, source, package in project_sources() for f in import_facts(module, source, package=package)]


def offenders(facts: list[ImportFact], rule) -> list[str]:
    return sorted({f"{f.module}:{f.line} -> {f.target} {list(f.names) or ''}" for f in facts if rule(f)})


def test_features_meet_only_through_services_and_models(facts):
    assert offenders(facts, reaches_into_another_feature) == []


def test_no_project_import_inside_a_function(facts):
    assert offenders(facts, imports_inside_a_function) == []


def test_every_allowed_in_function_import_still_exists_and_says_why(facts):
    present = {(f.module, f.target) for f in facts if f.in_function}
    assert all(ALLOWED_IN_FUNCTION[key].strip() for key in ALLOWED_IN_FUNCTION)
    assert set(ALLOWED_IN_FUNCTION) <= present  # a stale entry would hide a new one


def test_no_private_name_crosses_a_module(facts):
    named = offenders(facts, imports_a_private_name)
    attributes = [hit for module, source, package in project_sources()
                  for hit in private_attributes_of_imported_modules(module, source, [])]
    assert named + attributes == []


def test_no_importlib_outside_the_manifest_loader():
    assert [m for m, source, _ in project_sources() if uses_importlib(m, source)] == []


def test_only_the_composition_root_wires_the_app(facts):
    assert offenders(facts, builds_the_app) == []


def test_bridge_reads_crm_only_through_its_port(facts):
    assert offenders(facts, bridge_outside_its_port) == []


def test_the_port_offers_data_not_plumbing(facts):
    assert offenders(facts, port_leans_on_infrastructure) == []


def test_crm_never_imports_the_bridge(facts):
    assert offenders(facts, crm_imports_the_bridge) == []


def feature_graph(facts: list[ImportFact]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for fact in facts:
        mine, theirs = feature_of(fact.module), feature_of(fact.target)
        if None in (mine, theirs) or mine == theirs or mine in KERNEL | WIRING or theirs in KERNEL | WIRING:
            continue
        graph.setdefault(mine, set()).add(theirs)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components of more than one feature (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[tuple[str, ...]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_between_features(facts):
    assert cycles(feature_graph(facts)) == []


# --- the manifest names everything there is ---------------------------------------------------

def declared(kind: str) -> set[str]:
    refs: set[str] = set()
    for entry in FEATURES:
        value = getattr(entry, kind)
        refs.update(value if isinstance(value, tuple) else (value,) if value else ())
    return refs


def defined(attribute: str, filename: str) -> set[str]:
    """``module:attribute`` for every module named ``filename`` that assigns ``attribute``."""
    found = set()
    for module, source, _package in project_sources():
        if module.split(".")[-1] != filename.removesuffix(".py"):
            continue
        tree = ast.parse(source)
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
                found.add(f"{module}:{attribute}")
    return found


@pytest.mark.parametrize(("attribute", "filename", "kind"), [
    ("bp", "views.py", "blueprints"),
    ("routes", "api.py", "api"),
    ("JOBS", "jobs.py", "jobs"),
    ("CONTACT_PANEL", "views.py", "contact_panels"),
])
def test_the_manifest_names_every_object_the_app_is_built_from(attribute, filename, kind):
    assert defined(attribute, filename) - declared(kind) == set()


def test_every_crm_package_is_a_feature_or_kernel():
    packages = {p.parent.name for p in (ROOT / "crm").glob("*/__init__.py")}
    features = {entry.name for entry in FEATURES}
    assert packages - features - KERNEL == set()


def test_every_manifest_reference_loads(app):
    from crm.features import load

    for kind in ("models", "blueprints", "api", "cli", "root_cli", "jobs", "job_kinds", "contact_panels",
                 "signals", "demo"):
        for reference in declared(kind):
            assert load(reference) is not None, reference


# --- the checks catch what they are for -------------------------------------------------------

def facts_of(module: str, source: str) -> list[ImportFact]:
    return import_facts(module, source)


def test_the_checks_catch_each_kind_of_violation():
    inside = facts_of("crm.calls.queue", "from crm.sequences.tasks import due_call_tasks\n")
    assert any(reaches_into_another_feature(f) for f in inside)
    through_face = facts_of("crm.calls.queue", "from crm.sequences.services import due_call_tasks\n")
    assert not any(reaches_into_another_feature(f) for f in through_face)
    kernel = facts_of("crm.calls.queue", "from crm.web.access import roles\n")
    assert not any(reaches_into_another_feature(f) for f in kernel)

    late = facts_of("crm.calls.queue", "def f():\n    from crm.sequences import services\n")
    assert any(imports_inside_a_function(f) for f in late)
    stdlib_late = facts_of("crm.calls.queue", "def f():\n    import json\n")
    assert not any(imports_inside_a_function(f) for f in stdlib_late)

    private = facts_of("crm.mail.inbound.process", "from crm.mail.outbound.sender import _hook\n")
    assert any(imports_a_private_name(f) for f in private)
    attribute_source = "from crm.mail.outbound import sender\nsender._hook()\n"
    assert private_attributes_of_imported_modules("crm.mail.inbound.process", attribute_source, [])

    assert uses_importlib("crm.sequences.engine", "import importlib\nimportlib.import_module('crm.mail')\n")
    assert any(builds_the_app(f) for f in facts_of("crm.calls.views", "from crm.app import create_app\n"))
    assert any(builds_the_app(f) for f in facts_of("crm.calls.views", "from crm.features import FEATURES\n"))
    assert any(bridge_outside_its_port(f) for f in facts_of("planning_bridge.demand", "from crm.public import db\n"))
    assert any(bridge_outside_its_port(f) for f in facts_of("planning_bridge.crm_port", "from crm.api import bp\n"))
    assert not any(bridge_outside_its_port(f) for f in facts_of("planning_bridge.crm_port", "from crm.kit import db\n"))
    assert any(port_leans_on_infrastructure(f) for f in facts_of("crm.public", "from crm.api import bp\n"))
    assert any(crm_imports_the_bridge(f) for f in facts_of("crm.deals.services", "import planning_bridge\n"))

    assert cycles({"calls": {"meetings"}, "meetings": {"calls"}, "mail": {"contacts"}}) == [("calls", "meetings")]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
