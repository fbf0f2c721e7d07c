"""The import graph of ``atlas_data``: no circles, no upward imports, no Prefect.

Every module is parsed (nothing is imported), and every ``import`` statement counts: at
module level, inside a function (a lazy import) and under ``if TYPE_CHECKING:`` (a
type-only import). A lazy or type-only import is still a dependency: the importing
module cannot be read, type-checked or moved without the imported one, so none is
hidden. Dynamic imports (``importlib.import_module`` of a name found by looking, as
:mod:`atlas_data.registry` and :func:`atlas_data.ops.specs` do) are not statements and are
not counted: that is how a room finds what registers itself inside it.

A module is a node, a package's ``__init__`` included (``atlas_data.ops`` is the node of
``ops/__init__.py``). ``from atlas_data.ops import zoom`` is an edge to the module
``atlas_data.ops.zoom``; ``from atlas_data.ops import Operation`` one to ``atlas_data.ops``.
That importing a submodule first runs its parents' ``__init__`` is Python's mechanics, not
a dependency the code states, and is not counted.

A room is ``atlas_data.<name>`` (a subpackage or a top-level module). :data:`LAYERS` puts
each room on a floor, lowest first; ``docs/architecture.md`` mirrors it
(:func:`test_the_architecture_doc_mirrors_the_layers`). A module may import its own room
freely (but in no circle), and any room on a lower floor; never one on its own floor (so
``explore`` and ``teacher`` never import each other) or above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "atlas_data"
DOC = REPO / "docs" / "architecture.md"

# The floors of the house, lowest first: a room imports only rooms on floors below its own.
# ``atlas_data`` is the package's own ``__init__`` (its version).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("atlas_data", "rejections", "extras", "registry", "atomic", "answers"),
    ("config",),
    ("ops",),
    ("tokens", "llm", "dedup"),
    ("trajectory",),
    ("sources",),
    ("explore", "teacher", "decontaminate"),
    ("store",),
    ("inspect", "train"),
    ("run",),
    ("cli",),
)

FORBIDDEN = ("prefect",)  # top-level packages atlas_data never imports (nor prefect_*)


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``path:line``; ``how``: module, lazy or type."""

    source: str
    target: str
    path: str
    line: int
    how: str = "module"

    def __str__(self) -> str:
        how = {"module": "", "lazy": " (lazy)", "type": " (type-only)"}[self.how]
        return f"{self.path}:{self.line}: {self.source} imports {self.target}{how}"


# ---------------------------------------------------------------- reading the package


def modules(root: Path = REPO / PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with how it runs: ``module``, ``lazy`` or ``type``."""

    def walk(
        nodes: Iterable[ast.AST], how: str
    ) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield node, how
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from walk(node.body, "type")
                yield from walk(node.orelse, how)
            else:
                is_def = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                inner = "lazy" if is_def and how == "module" else how
                yield from walk(ast.iter_child_nodes(node), inner)

    yield from walk([tree], "module")


def _resolve(name: str, known: Mapping[str, Path]) -> str | None:
    """The module ``name`` means: itself, or the nearest package above it that exists."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(name: str, path: Path, known: Mapping[str, Path]) -> list[Edge]:
    """The package's own modules that module ``name`` (at ``path``) imports."""
    rel = str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: list[Edge] = []
    for stmt, how in _statements(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(stmt, ast.Import):
            targets = [a.name for a in stmt.names]
        else:
            if stmt.level:
                base = package.split(".")[: len(package.split(".")) - (stmt.level - 1)]
                module = ".".join([*base, *([stmt.module] if stmt.module else [])])
            else:
                module = stmt.module or ""
            # ``from pkg import sub`` names the submodule when there is one
            targets = [
                f"{module}.{a.name}" if f"{module}.{a.name}" in known else module
                for a in stmt.names
            ]
        for target in targets:
            if target.split(".")[0] != PACKAGE:
                continue
            resolved = _resolve(target, known)
            assert resolved is not None, f"{rel}:{stmt.lineno}: {target} is no module"
            edge = Edge(name, resolved, rel, stmt.lineno, how)
            if resolved != name and edge not in edges:  # one edge per statement and target
                edges.append(edge)
    return edges


def package_edges() -> list[Edge]:
    known = modules()
    return [e for name, path in known.items() for e in imports(name, path, known)]


# ---------------------------------------------------------------- the checks


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = sorted(set(graph) | {t for ts in graph.values() for t in ts})

    def visit(v: str) -> None:  # recursion depth: the longest import chain, a few dozen
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in nodes:
        if v not in index:
            visit(v)
    return sorted(found)


def room(module: str) -> str:
    """``atlas_data.ops.zoom`` -> ``ops``; the package itself is the room ``atlas_data``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def floors(layers: Iterable[Iterable[str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, rooms in enumerate(layers):
        for r in rooms:
            assert r not in out, f"room {r} is on two floors"
            out[r] = k
    return out


def upward(edges: Iterable[Edge], layers: Iterable[Iterable[str]]) -> list[str]:
    """Every edge into a room that is not on a lower floor, said with its file and line."""
    floor = floors(layers)
    bad = []
    for e in edges:
        src, dst = room(e.source), room(e.target)
        if src == dst:
            continue
        if src not in floor or dst not in floor:
            unplaced = src if src not in floor else dst
            bad.append(f"{e}: room {unplaced!r} is on no floor of LAYERS")
        elif floor[dst] >= floor[src]:
            where = "its own floor" if floor[dst] == floor[src] else "a higher floor"
            bad.append(f"{e}: {src} (floor {floor[src]}) -> {dst} (floor {floor[dst]}), {where}")
    return bad


def circle_report(edges: Iterable[Edge]) -> list[str]:
    """Each circle with the edges that close it (files and lines)."""
    edges = list(edges)
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
    out = []
    for component in circles(graph):
        inside = set(component)
        lines = [f"  {e}" for e in edges if e.source in inside and e.target in inside]
        out.append(f"circle {' <-> '.join(component)}:\n" + "\n".join(sorted(set(lines))))
    return out


def layers_line(layers: Iterable[Iterable[str]]) -> str:
    """The layers as ``docs/architecture.md`` writes them, lowest first."""
    return " < ".join(" · ".join(f"`{r}`" for r in rooms) for rooms in layers)


# ---------------------------------------------------------------- the package


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    return package_edges()


def test_no_module_imports_in_a_circle(edges: list[Edge]) -> None:
    found = circle_report(edges)
    assert not found, "import circles (move what both need below both):\n" + "\n".join(found)


def test_no_room_imports_its_own_floor_or_above(edges: list[Edge]) -> None:
    found = upward(edges, LAYERS)
    assert not found, "imports that do not point down (see LAYERS):\n" + "\n".join(found)


def test_every_room_is_on_a_floor() -> None:
    placed = floors(LAYERS)
    rooms = {room(m) for m in modules()}
    assert rooms == set(placed), f"unplaced: {rooms - set(placed)}; gone: {set(placed) - rooms}"


def test_atlas_data_never_imports_prefect() -> None:
    known = modules()
    found = []
    for name, path in known.items():
        for stmt, _ in _statements(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in stmt.names]
                if isinstance(stmt, ast.Import)
                else [stmt.module or ""] * (stmt.level == 0)
            )
            for n in names:
                top = n.split(".")[0]
                if top in FORBIDDEN or top.startswith(tuple(f"{f}_" for f in FORBIDDEN)):
                    found.append(f"{path.relative_to(REPO)}:{stmt.lineno}: {name} imports {n}")
    assert not found, "atlas_data never imports Prefect (flows/ wraps it):\n" + "\n".join(found)


def test_the_architecture_doc_mirrors_the_layers() -> None:
    doc = " ".join(DOC.read_text().split())  # the doc may wrap the line
    assert layers_line(LAYERS) in doc, (
        f"docs/architecture.md must state the layers as the test enforces them:\n"
        f"{layers_line(LAYERS)}"
    )


# ---------------------------------------------------------------- the checker itself


def test_the_checker_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert circles(graph) == [["a", "b", "c"]]  # d only leads in; a self-import is no circle
    assert circles({"a": {"b"}, "b": set()}) == []
    edges = [
        Edge("atlas_data.x.a", "atlas_data.x.b", "atlas_data/x/a.py", 3),
        Edge("atlas_data.x.b", "atlas_data.x.a", "atlas_data/x/b.py", 7, "lazy"),
    ]
    (report,) = circle_report(edges)
    assert "atlas_data/x/a.py:3:" in report and "atlas_data/x/b.py:7:" in report
    assert "(lazy)" in report


def test_the_checker_finds_an_upward_and_a_sideways_import() -> None:
    layers = (("low",), ("mid", "side"), ("high",))
    edges = [
        Edge("atlas_data.high.m", "atlas_data.low", "atlas_data/high/m.py", 1),  # down: fine
        Edge("atlas_data.mid.m", "atlas_data.mid.n", "atlas_data/mid/m.py", 2),  # own room
        Edge("atlas_data.low.m", "atlas_data.high.n", "atlas_data/low/m.py", 5, "type"),
        Edge("atlas_data.mid", "atlas_data.side.s", "atlas_data/mid/__init__.py", 9),
        Edge("atlas_data.mid", "atlas_data.new", "atlas_data/mid/__init__.py", 11),
    ]
    up, side, unplaced = upward(edges, layers)
    assert up.startswith("atlas_data/low/m.py:5: atlas_data.low.m imports atlas_data.high.n")
    assert "type-only" in up and "a higher floor" in up
    assert side.startswith("atlas_data/mid/__init__.py:9:") and "its own floor" in side
    assert "room 'new' is on no floor" in unplaced


def test_the_reader_counts_lazy_and_type_only_imports(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    (pkg / "ops").mkdir(parents=True)
    for f in ("__init__.py", "ops/__init__.py", "ops/zoom.py", "config.py"):
        (pkg / f).write_text("")
    source = pkg / "ops" / "frame.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import zoom\n"
        "if TYPE_CHECKING:\n"
        "    from atlas_data.ops import Operation\n"
        "def f():\n"
        "    import atlas_data.config\n"
    )
    known = modules(pkg)
    found = {(e.target, e.line, e.how) for e in imports("atlas_data.ops.frame", source, known)}
    assert found == {
        ("atlas_data.ops.zoom", 2, "module"),
        ("atlas_data.ops", 4, "type"),
        ("atlas_data.config", 6, "lazy"),
    }
