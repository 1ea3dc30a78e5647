"""The package's structure: no import cycles, every third-party import declared, and the
helpers that were once written several times (atomic writes, the learning-rate schedule,
rotations) each in one place."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = {
    "vermo_cli": ROOT / "vermo_cli",
    "vermo_plugins": ROOT / "plugins",
    "vermo_tasks": ROOT / "tasks",
}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the three installed packages."""
    modules = {}
    for name, folder in PACKAGE_ROOTS.items():
        for path in folder.rglob("*.py"):
            parts = [name, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _imported_modules(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that the module's import statements name, at any depth (deferred
    imports inside functions and `TYPE_CHECKING` blocks included). `from a.b import c` names
    the module `a.b.c` when there is one, else `a.b`; relative imports are made absolute."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    named.add(f"{base}.{alias.name}")
                elif base in modules:
                    named.add(base)
    return named - {module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = _modules()
    return {module: _imported_modules(module, path, modules) for module, path in modules.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = lowest[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                lowest[node] = min(lowest[node], lowest[successor])
            elif successor in on_stack:
                lowest[node] = min(lowest[node], index[successor])
        if lowest[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_package_has_no_import_cycles() -> None:
    cycles = import_cycles(import_graph())
    assert not cycles, "modules that import each other (directly or around a loop): " + "; ".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_deferred_and_relative_imports_are_edges(tmp_path: Path) -> None:
    source = tmp_path / "inner.py"
    source.write_text(
        "def f():\n    from pkg.other import thing\n    from . import sibling\n"
        "    import pkg.third\n"
    )
    modules = {
        name: source for name in ("pkg", "pkg.inner", "pkg.other", "pkg.sibling", "pkg.third")
    }
    assert _imported_modules("pkg.inner", source, modules) == {
        "pkg.other",
        "pkg.sibling",
        "pkg.third",
    }


def _third_party_imports() -> set[str]:
    """Top-level names of every non-standard-library module the packages import."""
    names = set()
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.partition(".")[0])
    return names - set(sys.stdlib_module_names) - set(PACKAGE_ROOTS) - {"__future__"}


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements
    }


def _normalised(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_every_imported_library_is_a_declared_dependency() -> None:
    provided_by = packages_distributions()
    declared = {_normalised(name) for name in _declared_distributions()}
    undeclared = {}
    for name in sorted(_third_party_imports()):
        distributions = {_normalised(d) for d in provided_by.get(name, [])}
        if not distributions & declared:
            undeclared[name] = sorted(distributions) or ["not installed"]
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


HELPER_HOMES = {
    # pattern that marks a hand-rolled copy -> the one module allowed to hold it
    r"os\.replace\(|\.partial-|tempfile\.mkstemp": "vermo_cli/files.py",
    r"math\.cos\(math\.pi": "vermo_cli/schedule.py",
    r"np\.linalg\.svd\(|def _skew|\.as_rotvec\(": "vermo_cli/motion/kinematics.py",
    # a JSON file vermo writes is strict (NaN as null): json_text, not json.dumps(..., indent=)
    r"json\.dumps\([^)]*indent": "vermo_cli/files.py",
    # a path inside a record is written relative to the record by one rule: path_for_record
    r"os\.path\.relpath\(": "vermo_cli/files.py",
}


@pytest.mark.parametrize("pattern", HELPER_HOMES, ids=HELPER_HOMES.values())
def test_shared_helpers_live_in_one_module(pattern: str) -> None:
    home = HELPER_HOMES[pattern]
    elsewhere = [
        str(path.relative_to(ROOT))
        for path in _modules().values()
        if re.search(pattern, path.read_text()) and path.relative_to(ROOT).as_posix() != home
    ]
    assert not elsewhere, f"written again outside {home}: {elsewhere}"


@pytest.mark.parametrize("name", ["write_atomically", "warmup_cosine_factor", "best_rotation"])
def test_helper_functions_are_defined_once(name: str) -> None:
    definitions = [
        str(path.relative_to(ROOT))
        for path in _modules().values()
        if re.search(rf"^\s*def {name}\(", path.read_text(), flags=re.MULTILINE)
    ]
    assert len(definitions) == 1, definitions


LAYERS: tuple[tuple[str, ...], ...] = (
    # top to bottom: a module may import its own layer's and lower layers' modules only
    ("vermo_cli.cli", "vermo_cli.quickstart", "vermo_cli.recipes"),
    ("vermo_cli.evaluate", "vermo_cli.render", "vermo_cli.inbetween"),
    ("vermo_cli.generate",),
    ("vermo_cli.train",),
    ("vermo_cli.messages",),
    ("vermo_cli.tokenizers", "vermo_cli.evaluator_models"),
    ("vermo_cli.data", "vermo_cli.metrics"),
    ("vermo_cli.motion",),
    (
        "vermo_cli.errors",
        "vermo_cli.console",
        "vermo_cli.progress",
        "vermo_cli.files",
        "vermo_cli.schedule",
        "vermo_cli.telemetry",
        "vermo_cli.ranks",
        "vermo_cli.recipe_files",
        "vermo_cli.threads",
        "vermo_cli.weights",
        "vermo_cli.checkpoints",
        "vermo_cli",
    ),
)


def layer_of(module: str) -> int | None:
    """Index in `LAYERS` (0 = top) of a vermo_cli module; None for plugins, tasks and modules
    no layer names (the package root `vermo_cli` names only its own `__init__`)."""
    for depth, members in enumerate(LAYERS):
        for member in members:
            if module == member or (member != "vermo_cli" and module.startswith(f"{member}.")):
                return depth
    return None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """`a -> b` for every import of a higher layer's module `b` by a lower layer's `a`."""
    found = []
    for module, imported in sorted(graph.items()):
        below = layer_of(module)
        for target in sorted(imported):
            above = layer_of(target)
            if below is not None and above is not None and above < below:
                found.append(f"{module} -> {target}")
    return found


def test_every_package_module_has_a_layer() -> None:
    unplaced = [m for m in _modules() if m.startswith("vermo_cli") and layer_of(m) is None]
    assert not unplaced, f"add these to LAYERS and docs/layout.md: {unplaced}"


def test_imports_point_down_the_layers() -> None:
    assert not upward_imports(import_graph())


def test_the_layer_check_finds_upward_imports() -> None:
    graph = {"vermo_cli.motion.clip": {"vermo_cli.train.loop"}, "vermo_cli.train.loop": set()}
    assert upward_imports(graph) == ["vermo_cli.motion.clip -> vermo_cli.train.loop"]
    assert layer_of("vermo_cli.new_family.model") is None


def test_the_layout_page_names_every_package_and_top_level_module() -> None:
    page = (ROOT / "docs" / "layout.md").read_text()
    names = [p.name for p in (ROOT / "vermo_cli").iterdir() if (p / "__init__.py").is_file()]
    names += [p.name for p in (ROOT / "vermo_cli").glob("*.py") if p.name != "__init__.py"]
    missing = [name for name in sorted(names) if name not in page]
    assert not missing, f"docs/layout.md does not mention {missing}"
