"""The flow stage's modules import in one direction.

No module of the stage imports, directly or through others, a module that
imports it back -- imports inside functions count, only ``if TYPE_CHECKING:``
imports do not -- and the stage never imports the entry points built on it
(``annotator._api``, ``annotator.dask``, ``annotator.cli``).  Those use only
the stage's public names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "annotator"
ENTRY_POINTS = ("annotator._api", "annotator.dask", "annotator.cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _under_type_checking(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    hidden = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            hidden.update(id(sub) for sub in ast.walk(node))
    return hidden


def _imports(module: str) -> list[tuple[str, str]]:
    """(module imported, name taken from it) for every run-time import of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    hidden = _under_type_checking(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((submodule if submodule in MODULES else node.module, alias.name))
    return [(name, taken) for name, taken in found if name in MODULES]


FLOW_STAGE = sorted(m for m in MODULES if m.split(".")[:2] == ["annotator", "flows"])


def _reaches(start: str, goal: str) -> list[str] | None:
    """An import path from ``start`` to ``goal`` within the flow stage, or None."""
    seen, stack = {start}, [[start]]
    while stack:
        path = stack.pop()
        for target, _ in _imports(path[-1]):
            if target == goal:
                return [*path, target]
            if target in FLOW_STAGE and target not in seen:
                seen.add(target)
                stack.append([*path, target])
    return None


@pytest.mark.parametrize("module", FLOW_STAGE)
def test_no_flow_module_is_imported_back(module) -> None:
    for target, _ in _imports(module):
        if target in FLOW_STAGE and target != "annotator.flows":
            back = _reaches(target, module)
            assert back is None, f"{module} imports {target}, which imports it back: {back}"


@pytest.mark.parametrize("module", FLOW_STAGE)
def test_the_flow_stage_never_imports_its_entry_points(module) -> None:
    imported = {target for target, _ in _imports(module)}
    assert not imported & {"annotator", *ENTRY_POINTS}


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_entry_points_use_public_names_of_the_flow_stage(module) -> None:
    private = [
        f"{target}.{taken}"
        for target, taken in _imports(module)
        if target in FLOW_STAGE and taken.startswith("_")
    ]
    assert not private
