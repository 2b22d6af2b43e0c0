"""The package's modules depend on each other one way, stage by stage.

The README's stage table is the map: capture -> flows -> registry -> evidence
-> triage -> report, with the command and the public API on top.  These tests
read every import of every module of ``annotator/`` (imports inside functions
count: a cycle hidden in a function is still a cycle; only ``if
TYPE_CHECKING:`` imports, which never run, do not) and hold the code to it:

* no two modules import each other, directly or through others;
* a module imports only from its own layer's group or from lower layers, so a
  stage never reaches up into a later one (the flow stage is handed the
  fingerprinter instead of importing the evidence stage, the library never
  imports the command line);
* a module outside a stage takes only public names from that stage's modules.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "annotator"

#: Layers from the bottom up; a layer is a tuple of groups, a group a tuple of
#: module prefixes.  Groups of one layer are independent of each other.
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("annotator.errors", "annotator._units", "annotator._arrays", "annotator._version",
      "annotator.result"),),
    (("annotator.capture",), ("annotator.registry",), ("annotator.evidence",)),
    (("annotator.flows",),),
    (("annotator.triage",),),
    (("annotator.report",),),
    (("annotator._api", "annotator.dask", "annotator.plot"),),
    (("annotator",),),  # the package's __init__: the public API
    (("annotator.cli", "annotator._cli", "annotator._cli.registry"),),
)  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _place(module: str) -> tuple[int, int]:
    """(layer, group) of a module: the longest prefix listed in :data:`LAYERS`."""
    best: tuple[int, int, int] | None = None
    for layer, groups in enumerate(LAYERS):
        for group, prefixes in enumerate(groups):
            for prefix in prefixes:
                inside = module == prefix or module.startswith(prefix + ".")
                if inside and (best is None or len(prefix) > best[2]):
                    best = (layer, group, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[0], best[1]


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            hidden.update(id(sub) for sub in ast.walk(node))
    return hidden


@cache
def imports_of(module: str) -> tuple[tuple[str, str], ...]:
    """(module of annotator imported, name taken from it or "") for each run-time import."""
    path = MODULES[module]
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_nodes(tree)
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:
                    found.append((submodule, ""))
                else:
                    found.append((base, alias.name))
    return tuple((target, name) for target, name in found if target in MODULES)


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in imports_of(m)} - {m} for m in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other (strongly connected, more than one)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


def test_the_reader_sees_function_level_and_relative_imports() -> None:
    edges = graph()
    # Imported inside a function, so that start-up does not pay for XML.
    assert "annotator.registry.load_xml" in edges["annotator.registry.loaders"]
    assert "annotator.triage" in edges["annotator._api"]
    assert len(MODULES) > 100


def test_a_cycle_would_be_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_modules_import_each_other() -> None:
    found = cycles(graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_stages(module: str) -> None:
    layer, group = _place(module)
    wrong = []
    for target, _ in imports_of(module):
        target_layer, target_group = _place(target)
        if target_layer > layer or (target_layer == layer and target_group != group):
            wrong.append(target)
    assert not wrong, f"{module} (layer {layer}) imports from above or beside it: {wrong}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_other_stages_take_only_public_names(module: str) -> None:
    here = _place(module)
    private = [
        f"{target}.{name}"
        for target, name in imports_of(module)
        if name.startswith("_") and _place(target) != here and name != "__version__"
    ]
    assert not private, f"{module} uses private names of another stage: {private}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("annotator.flows")))
def test_the_flow_stage_is_handed_its_fingerprinter(module: str) -> None:
    """The flow stage runs whatever fingerprinter its options carry
    (``ReadOptions.fingerprint``) and never imports the evidence stage, so the
    two change and test apart."""
    imported = {target for target, _ in imports_of(module)}
    assert not {t for t in imported if t.startswith("annotator.evidence")}, imported
