"""The modules of pipeline/ import one another without a cycle, counting the
imports inside functions too: a lazy import is still a dependency."""
import ast
import re

from conftest import ROOT

PACKAGE = ROOT / "pipeline"


def module_names() -> dict[str, ast.Module]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return modules


def imported(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The pipeline modules that `name` imports anywhere in its source. An
    import names the module itself (`from pipeline import clean` is
    pipeline.clean), not the packages above it."""
    is_package = (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()
    here = name.split(".") if is_package else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                prefixes = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
                targets.add(next((p for p in prefixes if p in known), ""))
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1] if node.level else [])
            source = ".".join(p for p in (base, node.module or "") if p)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in known else source)
    return {t for t in targets if t in known and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported(name, tree, set(modules)) for name, tree in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_no_import_cycle_in_pipeline():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_lazy_relative_and_package_imports():
    tree = ast.parse("def f():\n    from pipeline.stance import x\n    from . import text\n"
                     "    from .common import Dump\n    import pipeline.clean\n")
    known = {"pipeline.stance", "pipeline.ingest", "pipeline.ingest.text", "pipeline.ingest.common",
             "pipeline.clean"}
    assert imported("pipeline.ingest", tree, known) == {"pipeline.stance", "pipeline.ingest.text",
                                                        "pipeline.ingest.common", "pipeline.clean"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_runner_does_not_know_ray_and_no_executor_knows_the_runner():
    graph = import_graph()
    assert not [m for m in graph["pipeline.runner"] if "ray" in m.split(".")[-1]]
    assert not re.search(r"\bray\b", (PACKAGE / "runner.py").read_text(encoding="utf-8"), re.I)
    executors = [m for m in graph if m.startswith("pipeline.executors")]
    assert executors and not [m for m in executors if "pipeline.runner" in graph[m]]
