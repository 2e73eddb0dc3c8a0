"""Counts the kernel issue reports, for the tree at ``SRC`` (default ``src``).

    python scripts/kernel_counts.py [SRC]

Package-level import cycles (strongly connected groups of gazer's top-level packages, every
import counted, function-level ones too), function-level imports, the places that build a
``Runner`` or a ``BatchRunner``, ``*_from_settings`` call sites, and the ways an app route
reaches a model.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def _modules(src: Path) -> dict[str, ast.Module]:
    found = {}
    for path in sorted((src / "gazer").rglob("*.py")):
        name = ".".join(path.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _imports(tree: ast.Module, module: str) -> list[tuple[str, bool]]:
    """(imported module, inside a function) for every import statement."""
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                out.extend((a.name, inside) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                base = child.module
                if child.level:
                    base = ".".join(module.split(".")[: -child.level] + [child.module])
                out.append((base, inside))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # typing-only imports are not run
            visit(child, inside)

    visit(tree, False)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return groups


def _calls(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.append(func.attr if isinstance(func, ast.Attribute) else
                         func.id if isinstance(func, ast.Name) else "")
    return names


def main(src: Path) -> None:
    modules = _modules(src)
    graph: dict[str, set[str]] = defaultdict(set)
    function_level = internal_function_level = 0
    for name, tree in modules.items():
        for target, inside in _imports(tree, name):
            if inside:
                function_level += 1
                internal_function_level += target.startswith("gazer")
            if target.startswith("gazer.") and _package(target) != _package(name):
                graph[_package(name)].add(_package(target))
    cycles = _cycles(graph)
    calls = [(name, c) for name, tree in modules.items() for c in _calls(tree)]
    runners = sum(c == "Runner" for _, c in calls)
    batches = sum(c == "BatchRunner" for _, c in calls)
    from_settings = sum(c.endswith("_from_settings") for _, c in calls)
    route_sources = {n: ast.unparse(t) for n, t in modules.items() if ".apps." in n}
    paths = {
        "state.predict (traffic policy → batcher → model)":
            any("state.predict(" in s or ".predict(ENDPOINT" in s for s in route_sources.values()),
        "state.call(lambda m: m.model...) (raw model, no batcher)":
            any(".call(ENDPOINT" in s or "state.call(" in s for s in route_sources.values()),
        "champion slot read to prepare, then predict (two versions per request)":
            any("champion.current" in s and "predict" in s and "prepare" not in s
                for s in route_sources.values()),
    }
    rows = [
        ("package-level import cycles", len(cycles), "; ".join(" ⇄ ".join(c) for c in cycles)),
        ("function-level imports (all)", function_level, ""),
        ("function-level imports of gazer modules", internal_function_level, ""),
        ("places that build a Runner", runners, ""),
        ("places that build a batch job (BatchRunner)", batches, ""),
        ("*_from_settings call sites", from_settings, ""),
        ("prediction paths used by app routes", sum(paths.values()),
         "; ".join(p for p, used in paths.items() if used)),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'count':<{width}}  value  detail")
    for label, value, detail in rows:
        print(f"{label:<{width}}  {value:>5}  {detail}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "src"))
